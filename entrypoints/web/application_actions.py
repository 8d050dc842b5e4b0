"""The lifecycle actions of the application page: each one's name, the fields its form
carries, and the command it sends (checked when the confirmation page is built, and again
when it is sent)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from lifecycle.errors import InvalidInput, NotFound
from workflows import commands as c


@dataclass(frozen=True)
class Action:
    """A lifecycle action of the application page: its name, its fields, what it does."""

    zh: str
    en: str
    fields: tuple[str, ...]
    build: Callable[[int, int | None, str, Callable[[str], str]], c.TenancyCommand]
    danger: bool = False


def required(value: str, field: str) -> str:
    if not value.strip():
        raise InvalidInput(field, "必填 / required")
    return value.strip()


def _day(value: str, field: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(
            field, "须为日期 YYYY-MM-DD / must be a date YYYY-MM-DD", value
        ) from None


def _whole(value: str, field: str) -> int:
    text = value.strip().replace(",", "") or "0"
    if not re.fullmatch(r"\d{1,12}", text):
        raise InvalidInput(field, "须为不小于 0 的整数（元） / a whole number of yuan", value)
    return int(text)


ACTIONS: dict[str, Action] = {
    "screen": Action(
        "形式审查（按硬性条件）",
        "Screen against the hard requirements",
        (),
        lambda t, v, actor, f: c.Screen(tenancy_id=t, expected_version=v, actor=actor),
    ),
    "screen_out": Action(
        "以规则外理由驳回",
        "Reject on grounds outside the rulebook",
        ("reason",),
        lambda t, v, actor, f: c.Screen(
            tenancy_id=t,
            expected_version=v,
            actor=actor,
            reject=True,
            reason=required(f("reason"), "reason"),
        ),
        danger=True,
    ),
    "request_info": Action(
        "要求补充材料",
        "Request information",
        ("items",),
        lambda t, v, actor, f: c.RequestInfo(
            tenancy_id=t, expected_version=v, actor=actor, items=required(f("items"), "items")
        ),
    ),
    "approve": Action(
        "评审通过，进入公示",
        "Approve and start the public notice",
        ("reason",),
        lambda t, v, actor, f: c.Approve(
            tenancy_id=t, expected_version=v, actor=actor, reason=f("reason").strip() or None
        ),
    ),
    "reject": Action(
        "评审不通过",
        "Reject after evaluation",
        ("reason",),
        lambda t, v, actor, f: c.Reject(
            tenancy_id=t, expected_version=v, actor=actor, reason=required(f("reason"), "reason")
        ),
        danger=True,
    ),
    "reject_without_panel": Action(
        "未经有效评审小组，具名决定不予通过",
        "Reject without a valid panel (your named decision)",
        ("grounds",),
        lambda t, v, actor, f: c.RejectWithoutPanel(
            tenancy_id=t,
            expected_version=v,
            actor=actor,
            grounds=required(f("grounds"), "grounds"),
        ),
        danger=True,
    ),
    "object": Action(
        "登记公示异议",
        "Record an objection to the public notice",
        ("by", "grounds", "evidence", "oral"),
        lambda t, v, actor, f: c.LodgeObjection(
            tenancy_id=t,
            expected_version=v,
            actor=actor,
            by=f("by").strip() or None,
            grounds=f("grounds"),
            evidence=f("evidence").strip() or None,
            written=f("oral") != "1",
        ),
    ),
    "rule": Action(
        "对异议作出决定",
        "Rule on the objection",
        ("upheld", "reason"),
        lambda t, v, actor, f: c.RuleOnObjection(
            tenancy_id=t,
            expected_version=v,
            actor=actor,
            upheld=f("upheld") == "1",
            reason=required(f("reason"), "reason"),
        ),
        danger=True,
    ),
    "end_publicity": Action(
        "公示期满，准予入驻",
        "Close the public notice and admit",
        (),
        lambda t, v, actor, f: c.EndPublicity(tenancy_id=t, expected_version=v, actor=actor),
    ),
    "sign": Action(
        "签订入驻协议并分配单元",
        "Sign the agreement and let units",
        ("units", "term_start", "term_end", "deposit_yuan"),
        lambda t, v, actor, f: c.Sign(
            tenancy_id=t,
            expected_version=v,
            actor=actor,
            units=tuple(u for u in re.split(r"[\s,，、]+", f("units")) if u),
            term_start=_day(f("term_start"), "term_start"),
            term_end=_day(f("term_end"), "term_end"),
            deposit_yuan=_whole(f("deposit_yuan"), "deposit_yuan"),
        ),
    ),
}


def action_named(name: str) -> Action:
    found = ACTIONS.get(name)
    if found is None:
        raise NotFound("action", name)
    return found


def version_of(raw: str) -> int | None:
    return int(raw) if raw.isdigit() and len(raw) < 12 else None
