"""城市机会清单: what an entry and a numbered list may do, and how their audit chains hash.

An *entry* is one need (新场景) or supply (新产品) a firm or a space submits. It moves:

| status      | leaves by                                                                  |
|-------------|----------------------------------------------------------------------------|
| `submitted` | edit (stays); return → `returned`; accept → `accepted`                      |
| `returned`  | edit by its firm or an operator → `submitted` (resubmitted)                 |
| `accepted`  | edit by an operator (stays); return → `returned`; put on a draft list → `listed` |
| `listed`    | taken off the draft list → `accepted`; the list is published → `published` |
| `published` | terminal: the published list is frozen                                     |

A *list* (第N期) is `draft` until it is published, then `published` and frozen: its content is
kept as published and its SHA-256 recorded in the list's audit event.

Every step appends an event to the subject's own hash chain (one chain per entry, per list,
per introduction), hashed like the tenancies' chains (:func:`lifecycle.audit.canonical_json`).
Nothing here does I/O.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from lifecycle.audit import GENESIS, canonical_json
from lifecycle.errors import KIND_WORDS, Conflict, Forbidden, InvalidInput

NEED, SUPPLY = "need", "supply"
KINDS: dict[str, tuple[str, str]] = {
    NEED: ("新场景", "new scenario (need)"),
    SUPPLY: ("新产品", "new product (supply)"),
}
#: What a person may type for a kind: the code or its Chinese name.
KIND_NAMES = {NEED: NEED, SUPPLY: SUPPLY, "新场景": NEED, "新产品": SUPPLY}

SUBMITTED, RETURNED, ACCEPTED, LISTED, PUBLISHED = (
    "submitted",
    "returned",
    "accepted",
    "listed",
    "published",
)
STATUS_LABELS: dict[str, str] = {
    SUBMITTED: "待审核 / submitted",
    RETURNED: "已退回 / returned",
    ACCEPTED: "已采纳 / accepted",
    LISTED: "已编入清单 / on a draft list",
    PUBLISHED: "已发布 / published",
}
#: The statuses in which an entry's content may still change (by whom: the handler decides).
EDITABLE = frozenset({SUBMITTED, RETURNED, ACCEPTED})
#: The statuses an entry may be returned or accepted from.
RETURNABLE = frozenset({SUBMITTED, ACCEPTED})

DRAFT = "draft"
LIST_PUBLISHED = "published"

#: Introductions between a need and a supply, and their outcomes (in the order they happen).
OUTCOMES: dict[str, str] = {
    "introduced": "已对接 / introduced",
    "contacted": "已联系 / contacted",
    "in_talks": "洽谈中 / in talks",
    "deal": "已合作 / deal",
    "closed": "未成 / closed without a deal",
}

#: Length limits (characters) of an entry's text fields: (minimum, maximum).
LIMITS: dict[str, tuple[int, int]] = {
    "title": (2, 80),
    "description": (10, 2000),
    "sought": (2, 500),
    "contact_name": (1, 50),
    "contact_phone": (5, 40),
    "reason": (2, 500),
    "note": (0, 1000),
    "list_title": (2, 120),
}
#: How far ahead an entry may be valid.
MAX_VALID_DAYS = 3 * 366
MAX_LIST_ITEMS = 200


def kind_of(value: str) -> str:
    """An entry's kind from its code or Chinese name."""
    found = KIND_NAMES.get(value.strip())
    if found is None:
        raise InvalidInput(
            "kind", "须为 need（新场景）或 supply（新产品） / must be need or supply", value
        )
    return found


def check_text(name: str, value: str | None, *, optional: bool = False) -> str | None:
    """A text field stripped and checked against :data:`LIMITS`; None only when optional."""
    low, high = LIMITS[name]
    text = (value or "").strip()
    if not text:
        if optional:
            return None
        raise InvalidInput(name, "不能为空 / must not be empty")
    if "\x00" in text:
        raise InvalidInput(name, "不能含 NUL 字符 / must not contain NUL")
    if len(text) < low:
        raise InvalidInput(name, f"至少 {low} 个字 / at least {low} characters", text)
    if len(text) > high:
        raise InvalidInput(
            name, f"最多 {high} 个字（现为 {len(text)}） / at most {high} characters", text[:20]
        )
    return text


def check_phone(value: str | None) -> str | None:
    phone = check_text("contact_phone", value, optional=True)
    if phone is not None and not all(ch.isdigit() or ch in "+-() " for ch in phone):
        raise InvalidInput(
            "contact_phone", "只能含数字、空格和 + - ( ) / digits, spaces and + - ( ) only", phone
        )
    return phone


def check_valid_until(value: date, today: date) -> date:
    if value <= today:
        raise InvalidInput(
            "valid_until", "有效期须晚于今天 / must be after today", value.isoformat()
        )
    if (value - today).days > MAX_VALID_DAYS:
        raise InvalidInput(
            "valid_until", "有效期最长三年 / at most three years ahead", value.isoformat()
        )
    return value


def check_field(value: str, industries: Mapping[str, str]) -> str:
    """The field (领域) as an industry code of the rulebook (its code or Chinese name)."""
    text = value.strip()
    if text in industries:
        return text
    for code, label in industries.items():
        if text == label:
            return code
    raise InvalidInput(
        "field",
        "须为规则中的行业 / must be an industry of the rulebook: " + "、".join(industries),
        value,
    )


def require_status(
    kind: str, subject_id: int, status: str, allowed: frozenset[str], action: str
) -> None:
    if status not in allowed:
        shown = STATUS_LABELS.get(status, status).partition(" / ")[0]
        raise Conflict(
            f"{KIND_WORDS.get(kind, kind)} {subject_id} 当前状态为「{shown}」，"
            f"不能{_ACTIONS_ZH.get(action, action)} / "
            f"{kind} {subject_id} is {status}: cannot {action}",
            subject=kind,
            id=subject_id,
            current_status=status,
            action=action,
        )


_ACTIONS_ZH = {
    "edit": "修改",
    "attach": "上传附件",
    "return": "退回",
    "accept": "采纳",
    "list": "编入清单",
    "publish": "发布",
    "introduce": "对接",
}


def outside_grant(number: int, count: int) -> Forbidden:
    """The refusal to publish list 第``number``期 for an account not granted the spaces of
    ``count`` of its entries: it was not shown them, so it cannot vouch for them, nor tell
    their firms."""
    return Forbidden(
        f"第{number}期清单含有 {count} 条您无权查看的空间的条目，不能发布；请由获授权全部相关"
        f"空间的账号发布 / list {number} holds {count} entries of spaces outside your grant: "
        "only an account granted every space of its entries may publish it",
        subject="opportunity_list",
        number=number,
        outside=count,
    )


def event_hash(
    *,
    prev_hash: str,
    subject: str,
    subject_id: int,
    seq: int,
    actor: str,
    action: str,
    from_status: str | None,
    to_status: str,
    reason: str | None,
    data: Mapping[str, Any],
    occurred_at: datetime,
) -> str:
    """The SHA-256 of an opportunity event's fields as one canonical JSON array (the chain
    starts from :data:`lifecycle.audit.GENESIS`)."""
    instant = occurred_at.replace(tzinfo=None).isoformat(timespec="microseconds")
    body = [prev_hash, subject, subject_id, seq, actor, action, from_status, to_status, reason]
    return hashlib.sha256(canonical_json([*body, dict(data), instant])).hexdigest()


#: The columns of an event its hash covers (all but its id and the hash itself).
HASHED = (
    "prev_hash",
    "subject",
    "subject_id",
    "seq",
    "actor",
    "action",
    "from_status",
    "to_status",
    "reason",
    "data",
    "occurred_at",
)


def verify_chain(events: Sequence[Mapping[str, Any]]) -> list[str]:
    """What is wrong with one subject's events (in seq order): broken links, edited events."""
    problems: list[str] = []
    prev = GENESIS
    for n, e in enumerate(events, start=1):
        if e["seq"] != n:
            problems.append(f"{e['subject']} {e['subject_id']}: event {n} has seq {e['seq']}")
        if e["prev_hash"] != prev:
            problems.append(f"{e['subject']} {e['subject_id']}: event {n} does not link")
        if event_hash(**{k: e[k] for k in HASHED}) != e["hash"]:
            problems.append(f"{e['subject']} {e['subject_id']}: event {n} was altered")
        prev = e["hash"]
    return problems


def content_hash(content: Mapping[str, Any]) -> str:
    """The SHA-256 of a published list's content (what the public page and the export show)."""
    return hashlib.sha256(canonical_json(dict(content))).hexdigest()
