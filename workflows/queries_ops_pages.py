"""Named queries of the console's Operations pages: the outbox and its dead letters, failed
deadlines, message templates, the working-day calendar per year, accounts.

Each takes :class:`Work` first and keyword arguments after, returns plain data with the words
a person reads (Chinese and English side by side), and never writes. Lists take the page's
:class:`~workflows.paging.Paging` (sort, direction, offset and limit), so a page reads one
page (plus one row, to know there is another) and an Excel export reads every row through the
same query.
"""

from __future__ import annotations

from datetime import date
from importlib import resources
from typing import Any

from sqlmodel import col, func, select

from db.tables import CalendarOverride, CalendarYear, Deadline, Firm, OutboxMessage, Space, Tenancy
from lifecycle import rulebook as rbook
from lifecycle.errors import CalendarError, InnospaceError, InvalidTemplate, ScheduleNotPublished
from notifications import integrations as hooks
from notifications import overrides as checks
from notifications.catalog import CATALOG, PARTS, spec
from notifications.render import Override, Renderer
from workflows import identity, rules, vocabulary
from workflows.core import Work
from workflows.paging import Paging, sort_columns
from workflows.queries_http import with_firm_and_space
from workflows.queries_ops import template_history

Words = vocabulary.Words
words = vocabulary.words

# ---- words ---------------------------------------------------------------------------------
OUTBOX_STATUS = vocabulary.OUTBOX_STATUS
#: Who a notice goes to: the people, and the integrations' endpoints.
AUDIENCES: dict[str, Words] = {
    **vocabulary.AUDIENCES,
    hooks.WEBHOOK: ("Webhook 接口", "webhook"),
    hooks.WECOM: ("企业微信机器人", "WeCom robot"),
    hooks.DINGTALK: ("钉钉机器人", "DingTalk robot"),
}
MESSAGES = vocabulary.MESSAGES
DEADLINE_KINDS = vocabulary.DEADLINES
ROLES = vocabulary.ROLES
ACCOUNT_STATUS = vocabulary.ACCOUNT_STATUS
PART_NAMES = vocabulary.PARTS
LOCALE_NAMES = vocabulary.LOCALES


def error_in_words(error: str | None) -> Words | None:
    """Why a notice failed, in a sentence an operator can act on (the raw reason is kept
    beside it)."""
    if not error:
        return None
    e = error.lower()
    if e.startswith("template:") or "rendering" in e:
        return (
            "模板无法渲染（模板或通知内容有误），修正模板后重试",
            "the template cannot be "
            "rendered (a template or the notice's data is wrong); fix it, then retry",
        )
    if "not in the message catalog" in e:
        return ("未知的通知类型，无法发送", "an unknown kind of notice; it cannot be sent")
    if e.startswith("email not sent"):
        return (
            "已送达站内信，但未发出邮件（缺少邮箱地址或配置）",
            "delivered to the inbox; no e-mail was sent (no address, or not configured)",
        )
    if "refused" in e or "connection" in e or "timed out" in e or "timeout" in e:
        return (
            "邮件或接口服务器无法连接或拒收",
            "the mail or endpoint server could not be reached or refused the message",
        )
    if "endpoint" in e or "http" in e:
        return ("接口投递失败", "the endpoint delivery failed")
    return ("投递失败", "delivery failed")


# ---- the outbox ----------------------------------------------------------------------------
_OUTBOX_SORTS = sort_columns(
    OutboxMessage, "id", "created_at", "attempts", "status", "message", "next_attempt_at"
)


def outbox_page(
    w: Work,
    *,
    status: str | None = None,
    message: str | None = None,
    paging: Paging,
) -> list[dict[str, Any]]:
    """Outbox rows with their recipient, channel and failure in words."""
    stmt = select(OutboxMessage, Firm.name).outerjoin(
        Firm, col(Firm.id) == col(OutboxMessage.firm_id)
    )
    if status:
        stmt = stmt.where(OutboxMessage.status == status)
    if message:
        stmt = stmt.where(OutboxMessage.message == message)
    stmt = paging.apply(stmt, _OUTBOX_SORTS, "id", col(OutboxMessage.id).desc())
    out = []
    for row, firm_name in w.session.exec(stmt).all():
        channel = (
            words(AUDIENCES, row.audience)
            if row.audience in hooks.KINDS
            else ("站内信与邮件", "inbox and e-mail")
        )
        recipient = (
            (firm_name, firm_name)
            if row.audience == "firm" and firm_name
            else words(AUDIENCES, row.audience)
        )
        out.append(
            {
                "id": row.id,
                "status": row.status,
                "status_words": words(OUTBOX_STATUS, row.status),
                "message": row.message,
                "message_words": words(MESSAGES, row.message),
                "channel": channel,
                "recipient": recipient,
                "tenancy_id": row.tenancy_id,
                "attempts": row.attempts,
                "last_error": row.last_error,
                "error_words": error_in_words(row.last_error) if row.status != "sent" else None,
                "created_at": row.created_at,
                "next_attempt_at": row.next_attempt_at if row.status == "pending" else None,
                "sent_at": row.sent_at,
            }
        )
    return out


def outbox_counts(w: Work) -> dict[str, int]:
    """How many rows are pending, sent and dead."""
    rows = w.session.exec(
        select(OutboxMessage.status, func.count()).group_by(col(OutboxMessage.status))
    ).all()
    counts = {status: 0 for status in OUTBOX_STATUS}
    counts.update({str(status): int(n) for status, n in rows})
    return counts


# ---- failed deadlines ----------------------------------------------------------------------
_DEADLINE_SORTS = sort_columns(Deadline, "due_at", "id", "kind", "done_at")


def failed_deadlines(
    w: Work,
    *,
    space_ids: frozenset[int] | None = None,
    kind: str | None = None,
    paging: Paging,
) -> list[dict[str, Any]]:
    """Deadlines whose sweep failed, with the tenancy's firm and space and the reason;
    narrowed to ``space_ids`` when given."""
    stmt = with_firm_and_space(select(Deadline, Space.code, Firm.name), Deadline.tenancy_id).where(
        Deadline.status == "failed"
    )
    if space_ids is not None:
        stmt = stmt.where(col(Tenancy.space_id).in_(sorted(space_ids)))
    if kind:
        stmt = stmt.where(Deadline.kind == kind)
    stmt = paging.apply(stmt, _DEADLINE_SORTS, "due_at", col(Deadline.id))
    return [
        {
            "id": d.id,
            "kind": d.kind,
            "kind_words": words(DEADLINE_KINDS, d.kind),
            "tenancy_id": d.tenancy_id,
            "space": code,
            "firm": firm,
            "due_on": d.due_on,
            "due_at": d.due_at,
            "done_at": d.done_at,
            "error": str(d.payload.get("error") or ""),
        }
        for d, code, firm in w.session.exec(stmt).all()
    ]


# ---- message templates ---------------------------------------------------------------------
def template_catalog(w: Work) -> list[dict[str, Any]]:
    """Every message of the catalog with the parts the operators have overridden."""
    current = checks.load_overrides(w.session)
    out = []
    for key, message in sorted(CATALOG.items()):
        edited = [
            {
                "locale": locale,
                "part": part,
                "revision": o.revision,
                "where": (
                    f"{words(LOCALE_NAMES, locale)[0]}·{words(PART_NAMES, part)[0]}",
                    f"{words(LOCALE_NAMES, locale)[1]} {words(PART_NAMES, part)[1]}",
                ),
            }
            for (name, locale, part), o in sorted(current.items())
            if name == key
        ]
        out.append(
            {
                "name": key,
                "words": words(MESSAGES, key),
                "audiences": [words(AUDIENCES, a) for a in message.variants],
                "legal": bool(message.legal),
                "edited": edited,
            }
        )
    return out


def shipped_template(name: str, locale: str, part: str) -> str:
    """The source of the template file shipped for (message, locale, part)."""
    path = spec(name).template(locale, part)
    return resources.files("notifications").joinpath("templates", path).read_text("utf-8")


def template_editor(w: Work, *, name: str, locale: str, part: str) -> dict[str, Any]:
    """What the editor of one part shows: the source in force (the newest override, or the
    shipped file), its revision, the message's audiences and every stored revision."""
    message = spec(name)
    if part not in PARTS:
        raise InvalidTemplate(
            "part", f"须为 {'、'.join(PARTS)} 之一 / must be one of {', '.join(PARTS)}"
        )
    history = template_history(w, name=name, locale=locale, part=part)
    current = history[0] if history else None
    return {
        "name": name,
        "words": words(MESSAGES, name),
        "locale": locale,
        "part": part,
        "audiences": [(a, words(AUDIENCES, a)) for a in message.variants],
        "legal": bool(message.legal),
        "source": current["source"] if current else shipped_template(name, locale, part),
        "revision": current["revision"] if current else 0,
        "shipped": shipped_template(name, locale, part),
        "history": history,
    }


def template_preview(
    w: Work,
    *,
    renderer: Renderer,
    name: str,
    locale: str,
    part: str,
    source: str,
    audience: str | None = None,
) -> dict[str, Any]:
    """The message rendered against its first sample with ``source`` in place of the part
    (nothing is stored), in the notifications sandbox under the render limits; a template
    the sandbox refuses comes back as ``error`` (the reason), not as an exception."""
    overrides = dict(checks.load_overrides(w.session))
    key = (name, locale, part)
    revision = overrides[key].revision + 1 if key in overrides else 1
    overrides[key] = Override(name, locale, part, revision, source)
    try:
        rendered = checks.preview(renderer, name, locale, audience=audience, overrides=overrides)
    except InvalidTemplate as err:
        return {"error": err.message, "part": part}
    return {"subject": rendered.subject, "text": rendered.text, "html": rendered.html, "part": part}


# ---- the calendar --------------------------------------------------------------------------
def calendar_years(w: Work, *, years: list[int]) -> list[dict[str, Any]]:
    """Per year: whether its holiday schedule is known (shipped or published by the
    operators, and how), its overrides, and each space's review calendar warnings."""
    marks = {
        y.year: y
        for y in w.session.exec(select(CalendarYear).where(col(CalendarYear.year).in_(years))).all()
    }
    days = w.session.exec(select(CalendarOverride).order_by(col(CalendarOverride.day))).all()
    spaces = w.session.exec(select(Space).order_by(col(Space.code))).all()
    out = []
    for year in years:
        mark = marks.get(year)
        published = w.calendar.is_published(year)
        own = [d for d in days if d.day.year == year]
        out.append(
            {
                "year": year,
                "published": published,
                "how": (
                    ("随软件提供（国务院安排）", "shipped with the software")
                    if published and mark is None
                    else ("已导入全年安排", "imported complete")
                    if mark is not None and mark.source == "import"
                    else ("已确认公布", "confirmed published")
                    if mark is not None
                    else ("未公布：该年期限将被拒绝", "not published: deadlines in it are refused")
                ),
                "marked_by": identity.actor_name(mark.actor) if mark else None,
                "marked_at": mark.published_at if mark else None,
                "workdays": sum(d.workday for d in own),
                "holidays": sum(not d.workday for d in own),
                "warnings": _warnings(w, spaces, year),
            }
        )
    return out


def _warnings(w: Work, spaces: Any, year: int) -> list[Words]:
    found: list[Words] = []
    for space in spaces:
        try:
            rb = rules.for_space(w, space)
            opens = rbook.review_opens_on(rb, w.calendar, year)
            rbook.review_due_on(rb, w.calendar, opened_on=opens)
        except ScheduleNotPublished:
            found.append(
                (
                    f"{space.code}：{year} 年节假日安排未公布，无法确定考核开放与截止日期",
                    f"{space.code}: {year}'s schedule is not published; the review dates "
                    "cannot be set",
                )
            )
        except (CalendarError, InnospaceError) as err:
            found.append((f"{space.code}：{err.message}", f"{space.code}: {err.message}"))
    return found


def calendar_days(w: Work, *, year: int) -> list[dict[str, Any]]:
    """The operators' overrides of ``year``, by day."""
    first, last = date(year, 1, 1), date(year, 12, 31)
    rows = w.session.exec(
        select(CalendarOverride)
        .where(col(CalendarOverride.day) >= first, col(CalendarOverride.day) <= last)
        .order_by(col(CalendarOverride.day))
    ).all()
    return [{"day": r.day, "workday": r.workday, "note": r.note} for r in rows]


# ---- accounts ------------------------------------------------------------------------------
_ACCOUNT_SORTS = ("username", "role", "last_login_at", "created_at", "status")


def accounts(
    w: Work,
    *,
    role: str | None = None,
    status: str | None = None,
    text: str | None = None,
    paging: Paging,
) -> list[dict[str, Any]]:
    """Accounts with role, spaces, firm, status and last login, filtered and sorted."""
    firms = dict(w.session.exec(select(Firm.uscc, Firm.name)).all())
    rows = []
    for u in identity.list_users(w):
        if role and u.role != role or status and u.status != status:
            continue
        if text and text.lower() not in f"{u.username} {u.display_name}".lower():
            continue
        rows.append(
            {
                "username": u.username,
                "display_name": u.display_name,
                "role": u.role,
                "role_words": words(ROLES, u.role),
                "spaces": ", ".join(u.spaces),
                "firm": firms.get(u.firm_uscc or "", u.firm_uscc),
                "firm_uscc": u.firm_uscc,
                "status": u.status,
                "status_words": words(ACCOUNT_STATUS, u.status),
                "locked_until": u.locked_until,
                "locked_addresses": ", ".join(u.locked_addresses),
                "last_login_at": u.last_login_at,
                "created_at": u.created_at,
            }
        )
    key = paging.sort if paging.sort in _ACCOUNT_SORTS else "username"
    rows.sort(key=lambda r: (r[key] is None, str(r[key] or "")), reverse=paging.descending)
    return paging.cut(rows)


def space_choices(w: Work) -> list[dict[str, str]]:
    """Every space's code and name (for the account form)."""
    return [
        {"code": s.code, "name": s.name}
        for s in w.session.exec(select(Space).order_by(col(Space.code))).all()
    ]
