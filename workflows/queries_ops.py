"""Named queries for operations: the outbox, the inbox, message templates, the working-day
calendar and the scheduler's checks before it starts.

Like ``workflows.queries``: each takes the unit of work's :class:`Work` first and keyword
arguments after, returns plain data, and is run by ``Service.query`` (never committed).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date
from typing import Any

from sqlalchemy import exists, literal
from sqlalchemy import select as core_select
from sqlmodel import and_, col, func, or_, select

from db.tables import InboxItem, MessageTemplate, OutboxMessage, Space, Tenancy
from lifecycle import rulebook as rbook
from lifecycle.calendar import WorkCalendar
from lifecycle.errors import CalendarError, InnospaceError, ScheduleNotPublished, SchedulerError
from notifications.outbox import outbox_list
from notifications.overrides import load_overrides
from notifications.render import Override
from workflows import rules
from workflows.core import Work


# ---- the working-day calendar ----------------------------------------------------------------
def work_calendar(w: Work) -> WorkCalendar:
    """The working-day calendar with the operator's overrides, as commands see it now."""
    return w.calendar


def add_working_days(w: Work, *, start: date, n: int, inclusive: bool = False) -> date:
    return w.calendar.add_working_days(start, n, inclusive=inclusive)


def first_workday_of(w: Work, *, year: int) -> date:
    return w.calendar.first_workday_of(year)


def nth_workday_of(w: Work, *, year: int, month: int, n: int) -> date:
    return w.calendar.nth_workday_of(year, month, n)


def is_workday(w: Work, *, day: date) -> bool:
    return w.calendar.is_workday(day)


# ---- the outbox and the inbox ----------------------------------------------------------------
def outbox_rows(w: Work, *, status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """Outbox rows newest first (see :func:`notifications.outbox.outbox_list`)."""
    return outbox_list(w.session, status, limit)


def message_totals(w: Work) -> dict[str, int]:
    """How many notices were queued and delivered, and how many inbox items there are."""
    s = w.session
    return {
        "notices_queued": s.exec(select(func.count()).select_from(OutboxMessage)).one(),
        "notices_delivered": s.exec(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "sent")
        ).one(),
        "inbox_items": s.exec(select(func.count()).select_from(InboxItem)).one(),
    }


def _inbox_item(item: InboxItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "outbox_id": item.outbox_id,
        "message": item.message,
        "audience": item.audience,
        "firm_id": item.firm_id,
        "subject": item.subject,
        "body": item.body,
        "created_at": item.created_at.isoformat(),
        "read_at": item.read_at.isoformat() if item.read_at else None,
    }


def _inbox_items(
    firm_id: int | None, audience: str | None, space_ids: Collection[int] | None
) -> Any:
    """The items of a firm's inbox (``firm_id``) or of the staff inbox (None): optionally one
    ``audience``, and narrowed to ``space_ids`` (an account granted those spaces: the
    notices about a tenancy of one of them and the digests of those spaces; a notice about
    no space — the audit checkpoint, a digest queued when it spanned every space — only when
    they are every space; None: all).

    Read state is the item's, shared by everyone who sees it (as a tenancy's notice is by
    its space's operators): a space's digest read by one of its operators is read for all."""
    stmt = select(InboxItem)
    if firm_id is not None:  # a firm's own: ``space_ids`` does not apply
        return stmt.where(InboxItem.firm_id == firm_id, InboxItem.audience == "firm")
    stmt = stmt.where(col(InboxItem.firm_id).is_(None))
    if audience is not None:
        stmt = stmt.where(InboxItem.audience == audience)
    if space_ids is None:
        return stmt
    granted = sorted(space_ids)
    every_space = ~exists().where(col(Space.id).not_in(granted))
    return (
        stmt.join(OutboxMessage, col(OutboxMessage.id) == col(InboxItem.outbox_id))
        .outerjoin(Tenancy, col(Tenancy.id) == col(OutboxMessage.tenancy_id))
        .where(
            or_(
                col(Tenancy.space_id).in_(granted),
                col(OutboxMessage.space_id).in_(granted),
                and_(
                    col(OutboxMessage.tenancy_id).is_(None),
                    col(OutboxMessage.space_id).is_(None),
                    every_space,
                ),
            )
        )
    )


def inbox(
    w: Work,
    *,
    firm: str | None = None,
    audience: str | None = None,
    unread_only: bool = False,
    limit: int = 200,
    space_ids: Collection[int] | None = None,
) -> dict[str, Any]:
    """A firm's in-app inbox (``firm``: id or 统一社会信用代码), or the staff inbox (``firm``
    None, optionally one ``audience``, narrowed to ``space_ids`` for an account granted
    those spaces), newest first, with the number still unread."""
    who = w.firm(firm) if firm is not None else None
    firm_id = who.id if who is not None else None
    stmt = _inbox_items(firm_id, audience, space_ids)
    if unread_only:
        stmt = stmt.where(col(InboxItem.read_at).is_(None))
    items = w.session.exec(stmt.order_by(col(InboxItem.id).desc()).limit(limit)).all()
    owner = (
        {"id": who.id, "name": who.name, "uscc": who.uscc}
        if who is not None
        else {"staff": audience or "all"}
    )
    return {
        "firm": owner,
        "firm_id": firm_id,
        "unread": unread_count(w, firm_id=firm_id, audience=audience, space_ids=space_ids),
        "items": [_inbox_item(i) for i in items],
    }


def unread_count(
    w: Work,
    *,
    firm_id: int | None,
    audience: str | None = None,
    space_ids: Collection[int] | None = None,
) -> int:
    """Unread items of a firm's inbox (``firm_id``) or of the staff inbox (as :func:`inbox`
    narrows it)."""
    unread = _inbox_items(firm_id, audience, space_ids).where(col(InboxItem.read_at).is_(None))
    return int(w.session.exec(select(func.count()).select_from(unread.subquery())).one())


def staff_item_ids(
    w: Work, *, item_ids: Sequence[int], space_ids: Collection[int] | None
) -> list[int]:
    """Of ``item_ids``, those of the staff inbox an account granted ``space_ids`` may see (a
    firm's notice is never one: staff do not mark a firm's notices read), in the order given."""
    if not item_ids:
        return []
    stmt = _inbox_items(None, None, space_ids).where(col(InboxItem.id).in_(list(item_ids)))
    found = {int(i.id) for i in w.session.exec(stmt).all() if i.id is not None}
    return [i for i in dict.fromkeys(item_ids) if i in found]


# ---- message templates ---------------------------------------------------------------------
def template_overrides(w: Work) -> dict[tuple[str, str, str], Override]:
    """The newest revision of every overridden (name, locale, part)."""
    return load_overrides(w.session)


def template_history(
    w: Work, *, name: str, locale: str | None = None, part: str | None = None
) -> list[dict[str, Any]]:
    """Every stored revision of a message's overrides, newest first per locale and part."""
    stmt = select(MessageTemplate).where(MessageTemplate.name == name)
    if locale is not None:
        stmt = stmt.where(MessageTemplate.locale == locale)
    if part is not None:
        stmt = stmt.where(MessageTemplate.part == part)
    rows = w.session.exec(
        stmt.order_by(
            col(MessageTemplate.locale),
            col(MessageTemplate.part),
            col(MessageTemplate.revision).desc(),
        )
    ).all()
    newest: dict[tuple[str, str], int] = {}
    for r in rows:
        newest.setdefault((r.locale, r.part), r.revision)
    return [
        {
            "name": r.name,
            "locale": r.locale,
            "part": r.part,
            "revision": r.revision,
            "current": newest[(r.locale, r.part)] == r.revision,
            "author": r.author,
            "created_at": r.created_at.isoformat(),
            "source": r.source,
        }
        for r in rows
    ]


# ---- the scheduler's checks ---------------------------------------------------------------
def database_reachable(w: Work) -> bool:
    """True once a round trip to the database worked (an unreachable one raises)."""
    return w.connection.scalar(core_select(literal(1))) == 1


def review_calendar_warnings(w: Work) -> list[str]:
    """Apply every space's review calendar to this year: a rule the calendar cannot satisfy
    (e.g. a 25th working day of January) is a :class:`SchedulerError`; an unpublished year is
    a warning returned."""
    warnings: list[str] = []
    for space in w.session.exec(select(Space).order_by(col(Space.code))).all():
        year = w.today.year
        try:
            rb = rules.for_space(w, space)
            opens = rbook.review_opens_on(rb, w.calendar, year)
            rbook.review_due_on(rb, w.calendar, opened_on=opens)
        except ScheduleNotPublished as err:
            warnings.append(f"space {space.code}: {err.message}")
        except CalendarError as err:
            raise SchedulerError(
                f"空间 {space.code}：规则书的 review.calendar 无法用于 {year} 年，请修正规则书"
                f"（innospace rules load … --space {space.code}） / "
                f"space {space.code}: the rulebook's review.calendar cannot be applied to "
                f"{year}: {err.message}; fix the rulebook (innospace rules load … --space "
                f"{space.code})",
                space=space.code,
            ) from None
        except InnospaceError as err:
            raise SchedulerError(
                f"空间 {space.code} 的规则书无法使用 / "
                f"space {space.code}: its rulebook cannot be used: {err.message}",
                space=space.code,
            ) from None
    return warnings
