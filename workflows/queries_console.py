"""Named queries of the operator console: the dashboard, the tenancy list, the tenancy page.

Every read is narrowed to ``space_ids`` (the account's spaces; None: every space, an admin).
The dashboard is a handful of aggregates, each answered from an index at 100,000 tenancies
(``bench/console_pages.py`` measures them): states by ``ix_tenancies_space_state``, deadlines
by ``ix_deadlines_due``, reviews by ``ix_reviews_period_status_grade``; a figure that needs a
join to be narrowed to spaces skips the join when the account's spaces are every space.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any, TypedDict, Unpack
from zoneinfo import ZoneInfo

from sqlmodel import col, func, select

from db.effects import TenancyRow
from db.tables import (
    Deadline,
    ExitCase,
    Firm,
    InboxItem,
    OutboxMessage,
    Review,
    Space,
    Tenancy,
    Unit,
)
from lifecycle import rulebook as rbook
from lifecycle.errors import GuardFailed, NotFound
from lifecycle.rulebook.model import Rulebook
from lifecycle.table import STATES
from workflows import console_actions, queries, rules, vocabulary, windows
from workflows.core import Work
from workflows.paging import Paging, Reach, Wanted, sort_columns
from workflows.queries_http import OWNER_SORTS, with_firm_and_space
from workflows.residency_rules import VIOLATION_STATUS_WORDS, cure_refusal
from workflows.trace_words import trace_words

SHANGHAI = ZoneInfo("Asia/Shanghai")
NO_OPEN_VIOLATION = (
    "没有可登记纠正的违规（只有设改正期限、未纠正且未据此送达退出告知书的违规可以登记纠正） / "
    "no violation can be recorded cured (only one whose grounds take a cure period, not cured "
    "and not backing an exit notice)"
)
#: How far ahead the dashboard's deadlines look, and how many it lists.
AHEAD_DAYS = 30
AHEAD_LISTED = 10
#: Calendar years checked beyond this one for an unpublished holiday schedule, at most.
YEARS_AHEAD = 5


# ---- scope --------------------------------------------------------------------------------------
def visible_spaces(w: Work, *, space_ids: frozenset[int] | None) -> list[dict[str, Any]]:
    """The spaces the account may see (all for ``None``), by code."""
    stmt = select(Space.id, Space.code, Space.name).order_by(col(Space.code))
    if space_ids is not None:
        stmt = stmt.where(col(Space.id).in_(sorted(space_ids)))
    return [{"id": i, "code": c, "name": n} for i, c, n in w.session.exec(stmt).all()]


def _chosen(
    w: Work, space: str | None, space_ids: frozenset[int] | None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[int], bool]:
    """The spaces visible, those shown (one, when ``space`` is given), their ids, and
    whether they are every space there is (then no figure needs narrowing)."""
    visible = spaces = visible_spaces(w, space_ids=space_ids)
    if space:
        spaces = [s for s in visible if s["code"] == space]
        if not spaces:
            raise NotFound("space", space)
    ids = [int(s["id"]) for s in spaces]
    total = w.session.exec(select(func.count()).select_from(Space)).one()
    return visible, spaces, ids, len(ids) == total


# ---- the dashboard ------------------------------------------------------------------------------
def dashboard(
    w: Work, *, space: str | None = None, space_ids: frozenset[int] | None = None
) -> dict[str, Any]:
    """Every figure of the dashboard, for the space ``space`` or every visible space."""
    visible, spaces, ids, everywhere = _chosen(w, space, space_ids)
    return {
        "today": w.today,
        "visible": visible,
        "spaces": spaces,
        "pipeline": _pipeline(w, ids),
        "occupancy": _occupancy(w, spaces),
        "deadlines": _ahead(w, ids, everywhere),
        "cycle": _cycle(w, ids, everywhere),
        "grades": _grades(w, ids, everywhere),
        "exits": _exits(w, ids, everywhere),
        "dead_letters": _dead_letters(w, ids, everywhere),
        "calendar": _calendar_warnings(w),
    }


def _pipeline(w: Work, ids: list[int]) -> list[dict[str, Any]]:
    rows = w.session.exec(
        select(Tenancy.state, func.count())
        .where(col(Tenancy.space_id).in_(ids))
        .group_by(col(Tenancy.state))
    ).all()
    counts = dict(rows)
    return [{"state": s, "count": int(counts.get(s, 0))} for s in STATES]


def _occupancy(w: Work, spaces: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per space: units and m² let, and lettable (every unit not under maintenance)."""
    rows = w.session.exec(
        select(Unit.space_id, Unit.status, func.count(), func.sum(Unit.area_m2))
        .where(col(Unit.space_id).in_([s["id"] for s in spaces]))
        .group_by(col(Unit.space_id), col(Unit.status))
    ).all()
    out = []
    for s in spaces:
        mine = [(status, n, area or 0.0) for sid, status, n, area in rows if sid == s["id"]]
        let = sum(a for st, _, a in mine if st == "let")
        lettable = sum(a for st, _, a in mine if st != "maintenance")
        out.append(
            {
                "code": s["code"],
                "name": s["name"],
                "units": sum(n for _, n, _ in mine),
                "units_let": sum(n for st, n, _ in mine if st == "let"),
                "leased_m2": round(float(let), 2),
                "lettable_m2": round(float(lettable), 2),
                "rate": (float(let) / float(lettable)) if lettable else None,
            }
        )
    return out


def _ahead(w: Work, ids: list[int], everywhere: bool) -> dict[str, Any]:
    """Pending deadlines due within :data:`AHEAD_DAYS`: how many, and the first few."""
    until = w.now + timedelta(days=AHEAD_DAYS)
    window = (
        col(Deadline.status) == "pending",
        col(Deadline.due_at) >= w.now,
        col(Deadline.due_at) <= until,
    )
    count_stmt = select(func.count()).select_from(Deadline).where(*window)
    if not everywhere:
        count_stmt = count_stmt.join(Tenancy, col(Tenancy.id) == col(Deadline.tenancy_id)).where(
            col(Tenancy.space_id).in_(ids)
        )
    listed = w.session.exec(
        with_firm_and_space(select(Deadline, Firm.name, Space.code), Deadline.tenancy_id)
        .where(*window, col(Tenancy.space_id).in_(ids))
        .order_by(col(Deadline.due_at), col(Deadline.id))
        .limit(AHEAD_LISTED)
    ).all()
    return {
        "days": AHEAD_DAYS,
        "count": int(w.session.exec(count_stmt).one()),
        "items": [
            {
                "kind": d.kind,
                "label": DEADLINE_LABELS.get(d.kind, (d.kind, d.kind)),
                "due_on": d.due_on,
                "tenancy_id": d.tenancy_id,
                "firm": f,
                "space": s,
            }
            for d, f, s in listed
        ],
    }


def _reviews(w: Work, columns: Sequence[Any], ids: list[int], everywhere: bool, *where: Any) -> Any:
    stmt = select(*columns).where(*where)
    if not everywhere:
        stmt = stmt.join(Tenancy, col(Tenancy.id) == col(Review.tenancy_id)).where(
            col(Tenancy.space_id).in_(ids)
        )
    return stmt


def _cycle(w: Work, ids: list[int], everywhere: bool) -> dict[str, Any] | None:
    """The latest review cycle (the newest period with a review): open (figures missing),
    submitted and decided."""
    period = w.session.exec(select(func.max(Review.period))).one()
    if period is None:
        return None
    rows = w.session.exec(
        _reviews(
            w, (Review.status, func.count()), ids, everywhere, col(Review.period) == period
        ).group_by(col(Review.status))
    ).all()
    counts = {status: int(n) for status, n in rows}
    return {
        "period": int(period),
        "missing": counts.get("open", 0),
        "submitted": counts.get("submitted", 0),
        "decided": counts.get("decided", 0),
        "total": sum(counts.values()),
    }


GRADES = ("A", "B", "C", "D")


def _latest_decided(w: Work) -> int | None:
    """The newest period with a decided review, walking the periods down the index (a
    ``max(period) … where status`` reads the whole index)."""
    period = w.session.exec(select(func.max(Review.period))).one()
    while period is not None:
        decided = w.session.exec(
            select(Review.id)
            .where(col(Review.period) == period, col(Review.status) == "decided")
            .limit(1)
        ).first()
        if decided is not None:
            return int(period)
        period = w.session.exec(
            select(func.max(Review.period)).where(col(Review.period) < period)
        ).one()
    return None


def _grades(w: Work, ids: list[int], everywhere: bool) -> dict[str, Any] | None:
    """The grades of the latest period with a decided review."""
    period = _latest_decided(w)
    if period is None:
        return None
    rows = w.session.exec(
        _reviews(
            w,
            (Review.grade, func.count()),
            ids,
            everywhere,
            col(Review.period) == period,
            col(Review.status) == "decided",
        ).group_by(col(Review.grade))
    ).all()
    counts = {g: int(n) for g, n in rows if g}
    return {"period": period, "counts": [{"grade": g, "count": counts.get(g, 0)} for g in GRADES]}


def _exits(w: Work, ids: list[int], everywhere: bool) -> dict[str, Any]:
    """Exits completed (handed over) this calendar year, by type; and the cases under way.
    The cases are read first and narrowed to the spaces after: a join lets the planner walk
    every tenancy of the spaces when it thinks the cases few."""
    start = datetime(w.today.year, 1, 1, tzinfo=SHANGHAI)
    cases = w.session.exec(
        select(ExitCase.tenancy_id, ExitCase.exit_type, ExitCase.status).where(
            (col(ExitCase.status) == "open")
            | ((col(ExitCase.status) == "closed") & (col(ExitCase.handed_over_at) >= start))
        )
    ).all()
    if not everywhere and cases:
        wanted = sorted({t for t, _, _ in cases})
        mine: set[int] = set()
        for at in range(0, len(wanted), 500):
            mine.update(
                int(i)
                for i in w.session.exec(
                    select(Tenancy.id).where(
                        col(Tenancy.id).in_(wanted[at : at + 500]), col(Tenancy.space_id).in_(ids)
                    )
                )
                if i is not None
            )
        cases = [c for c in cases if c[0] in mine]
    return {
        "year": w.today.year,
        "counts": [
            {
                "type": t,
                "exited": sum(1 for _, kind, s in cases if kind == t and s == "closed"),
                "open": sum(1 for _, kind, s in cases if kind == t and s == "open"),
            }
            for t in rbook.EXIT_TYPES
        ],
    }


def _dead_letters(w: Work, ids: list[int], everywhere: bool) -> int:
    stmt = (
        select(func.count()).select_from(OutboxMessage).where(col(OutboxMessage.status) == "dead")
    )
    if not everywhere:
        stmt = stmt.join(Tenancy, col(Tenancy.id) == col(OutboxMessage.tenancy_id)).where(
            col(Tenancy.space_id).in_(ids)
        )
    return int(w.session.exec(stmt).one())


def _calendar_warnings(w: Work) -> list[dict[str, Any]]:
    """This year, next year and any later year a pending deadline falls in (up to
    :data:`YEARS_AHEAD`) whose official holiday schedule is not published: working days
    cannot be counted there, so deadlines in it are refused or flagged."""
    last = w.session.exec(
        select(func.max(Deadline.due_at)).where(col(Deadline.status) == "pending")
    ).one()
    last_year = last.year if isinstance(last, datetime) else w.today.year
    years = range(
        w.today.year, min(max(last_year, w.today.year + 1), w.today.year + YEARS_AHEAD) + 1
    )
    out = []
    for year in years:
        if w.calendar.is_published(year):
            continue
        due = w.session.exec(
            select(func.count())
            .select_from(Deadline)
            .where(
                col(Deadline.status) == "pending",
                col(Deadline.due_on) >= date(year, 1, 1),
                col(Deadline.due_on) <= date(year, 12, 31),
            )
        ).one()
        out.append({"year": year, "deadlines": int(due)})
    return out


# ---- the tenancy list ---------------------------------------------------------------------------
#: The filters of the list of tenancies.
class TenancyFilters(TypedDict, total=False):
    space: Wanted
    state: Wanted
    firm: Wanted
    uscc: Wanted


#: The list's sortable columns and what each sorts by.
SORTS = {**sort_columns(Tenancy, "id", "state", "term_end", "score"), **OWNER_SORTS}


def tenancy_list(
    w: Work, *, reach: Reach, paging: Paging, **filters: Unpack[TenancyFilters]
) -> list[dict[str, Any]]:
    """Tenancies within ``reach``'s spaces, filtered by ``space`` code, ``state``, ``firm``
    name (contains) and ``uscc`` (exact, any case), one page as ``paging`` says (sorted by a
    key of :data:`SORTS`). The page's ids are found first on the indexes alone, then their
    rows read."""
    space, state = filters.get("space"), filters.get("state")
    firm, uscc = filters.get("firm"), filters.get("uscc")
    space_ids = reach.space_ids
    sort = paging.sort
    tie = [] if sort == "id" else [paging.order(col(Tenancy.id))]
    ids_stmt = select(Tenancy.id)
    needs_firm = bool(firm or uscc or sort == "firm")
    if needs_firm:
        ids_stmt = ids_stmt.join(Firm, col(Firm.id) == col(Tenancy.firm_id))
    if space or sort == "space":
        ids_stmt = ids_stmt.join(Space, col(Space.id) == col(Tenancy.space_id))
    if space:
        ids_stmt = ids_stmt.where(col(Space.code) == space)
    if space_ids is not None:
        ids_stmt = ids_stmt.where(col(Tenancy.space_id).in_(sorted(space_ids)))
    if state:
        ids_stmt = ids_stmt.where(col(Tenancy.state) == state)
    if firm:
        ids_stmt = ids_stmt.where(col(Firm.name).contains(firm, autoescape=True))
    if uscc:
        ids_stmt = ids_stmt.where(col(Firm.uscc) == uscc.upper())
    found = w.session.exec(paging.apply(ids_stmt, SORTS, "id", *tie)).all()
    ids = [int(i) for i in found if i is not None]
    if not ids:
        return []
    rows = w.session.exec(
        with_firm_and_space(select(Tenancy, Firm, Space)).where(col(Tenancy.id).in_(ids))
    ).all()
    by_id = {t.id: (t, f, s) for t, f, s in rows}
    out = []
    for i in ids:
        t, f, s = by_id[i]
        out.append(
            {
                "id": t.id,
                "firm": f.name,
                "uscc": f.uscc,
                "space": s.code,
                "state": t.state,
                "track": t.track,
                "term_start": t.term_start,
                "term_end": t.term_end,
                "score": t.score,
                "version": t.version,
            }
        )
    return out


# ---- one tenancy --------------------------------------------------------------------------------
#: What a transition or a record-only step is called, by its audit trigger.
STEP_LABELS = vocabulary.STEPS
#: Facts of an event shown with a name (others, and nested ones, are left to the trace).
FACT_LABELS = vocabulary.FACTS
#: Words for the codes an event's facts carry (tracks and industries come from the rulebook).
CODE_WORDS: dict[str, dict[str, tuple[str, str]]] = {
    "exit_type": vocabulary.EXIT_TYPES,
    "outcome": vocabulary.OUTCOMES,
    "kind": {**vocabulary.OBJECTION_KINDS, **vocabulary.BENEFITS},  # an objection's, a benefit's
    "handling": vocabulary.HANDLING,
    "consequence": vocabulary.CONSEQUENCES,
}
#: Facts never shown on the timeline (hashes, versions, the trace itself, the database ids
#: of the deadlines a step cancelled: the audit keeps them, a person reads the dates the
#: step names, a cure's period by its last day).
HIDDEN_FACTS = frozenset(
    {
        "cancelled_deadlines",
        "trace",
        "trace_sha256",
        "rulebook_version",
        "failures",
        "figures",
        "proof_of_service",
        "account_id",
    }
)
DEADLINE_LABELS = vocabulary.DEADLINES


def explain(
    event: dict[str, Any], words: dict[str, dict[str, tuple[str, str]]] | None = None
) -> dict[str, Any]:
    """A timeline event for people: what happened, the facts with names (a code with its
    words from ``words`` or :data:`CODE_WORDS`), and the decision's trace step by step (rule,
    figures, threshold, result)."""
    data = event.get("data") or {}
    trace = data.get("trace") if isinstance(data.get("trace"), dict) else None
    known = {**CODE_WORDS, **(words or {})}
    facts = [
        {
            "key": k,
            "label": FACT_LABELS.get(k, (k, k)),
            "value": v,
            "words": known.get(k, {}).get(v) if isinstance(v, str) else None,
        }
        for k, v in data.items()
        if k not in HIDDEN_FACTS and not isinstance(v, dict)
    ]
    steps = [
        {
            "rule": s.get("rule_id") or s.get("rule") or "",
            "zh": s.get("label_zh") or "",
            # the engine names "no consequence" "None", which reads as a missing value
            "en": "No consequence" if s.get("label_en") == "None" else s.get("label_en") or "",
            "figures": s.get("figures") or {},
            "threshold": s.get("threshold"),
            "result": s.get("result"),
            # a consequence's action as words (the step's result is its code)
            "result_words": CODE_WORDS["consequence"].get(str(s.get("result")))
            if s.get("rule") == "review.consequence" or s.get("rule_id") == "review.consequence"
            else None,
            "note": s.get("note") or "",
        }
        for s in (trace or {}).get("steps", [])
        if isinstance(s, dict)
    ]
    failures = [f for f in data.get("failures") or [] if isinstance(f, dict)]
    return {
        **{k: event[k] for k in ("seq", "at", "actor", "trigger", "from", "to", "reason")},
        "label": STEP_LABELS.get(str(event["trigger"]), (event["trigger"], event["trigger"])),
        "moved": event["from"] != event["to"],
        "facts": facts,
        "steps": steps,
        "failures": failures,
        "rulebook": (event.get("rulebook_version") or "")[:12],
    }


def tenancy_page(w: Work, *, tenancy_id: int) -> dict[str, Any]:
    """One tenancy as the console shows it: its facts, agreement, timeline explained,
    pending deadlines, documents and the actions its state allows."""
    out = queries.show_tenancy(w, tenancy_id=tenancy_id)
    t = w.session.get(Tenancy, tenancy_id)
    assert t is not None  # show_tenancy raised NotFound otherwise
    firm, space = w.session.get(Firm, t.firm_id), w.session.get(Space, t.space_id)
    assert firm is not None and space is not None
    events = queries.timeline(w, tenancy_id=tenancy_id)
    out["firm_facts"] = {
        "name": firm.name,
        "uscc": firm.uscc,
        "industry": firm.industry,
        "contact_name": firm.contact_name,
        "contact_email": firm.contact_email,
        "contact_phone": firm.contact_phone,
        "account_manager": firm.account_manager,
    }
    out["space_name"] = space.name
    rb = _rulebook(w, t.rulebook_version or space.rulebook_version)
    words = _words(rb)
    out["firm_facts"]["industry_words"] = words["industry"].get(firm.industry)
    out["track_words"] = words["track"].get(t.track)
    out["agreement"] = _agreement(events)
    out["timeline"] = [explain(e, words) for e in events]
    out["trace_words"] = trace_words(rb)
    for d in out["deadlines"]:
        d["label"] = DEADLINE_LABELS.get(d["kind"], (d["kind"], d["kind"]))
    out["documents"] = _documents(w, t, events)
    row = w.uow.tenancies.get(tenancy_id, lock=False)
    assert row is not None
    out["violations"] = _violations(w, row, words)
    any_curable = any(v["curable"] for v in out["violations"])
    out["actions"] = [
        {"trigger": a.trigger, "zh": a.zh, "en": a.en, "irreversible": a.irreversible}
        for a in console_actions.allowed(t.state)
        # a waiver only while a window the firm could waive is open
        if a.trigger != windows.WAIVE or windows.open_windows(w, row)
        # a cure only while a violation can be cured
        if a.trigger != console_actions.CURE or any_curable
    ]
    out["may_cure"] = any(a["trigger"] == console_actions.CURE for a in out["actions"])
    return out


def _curable(w: Work, tenancy: TenancyRow, rb: Rulebook) -> set[int]:
    """The ids of the tenancy's violations a cure may be recorded for: those the command's
    own rule (:func:`workflows.residency_rules.cure_refusal`) does not refuse, asked of the
    rows and the open exit case the command reads."""
    case = w.uow.cases.open_exit_case(tenancy.id)
    found = set()
    for v in queries.violations_of(w, tenancy_id=tenancy.id):
        row = w.uow.cases.violation(v["id"])
        if row is not None and cure_refusal(row, rb, case) is None:
            found.add(row.id)
    return found


def _violations(
    w: Work, tenancy: TenancyRow, words: dict[str, dict[str, tuple[str, str]]]
) -> list[dict[str, Any]]:
    """The tenancy's violations, each with its grounds and status in words and whether a
    cure may be recorded for it."""
    out = queries.violations_of(w, tenancy_id=tenancy.id)
    curable = _curable(w, tenancy, rules.for_tenancy(w, tenancy)) if out else set()
    for v in out:
        v["label"] = words.get("code", {}).get(v["code"], (v["code"], v["code"]))
        v["status_words"] = VIOLATION_STATUS_WORDS.get(v["status"], (v["status"], v["status"]))
        v["curable"] = v["id"] in curable
    return out


def _curable_violations(
    w: Work, tenancy: TenancyRow, rb: Rulebook
) -> tuple[tuple[str, str, str], ...]:
    """The choices of a cure's form: the tenancy's violations a cure may be recorded for
    (:func:`_curable`), by id, in words."""
    choices = []
    curable = _curable(w, tenancy, rb)
    for v in queries.violations_of(w, tenancy_id=tenancy.id):
        if v["id"] not in curable:
            continue
        trig = rb.triggers.get(v["code"])
        zh, en = (trig.label_zh, trig.label_en) if trig else (v["code"], v["code"])
        due_zh = f"，限期至 {v['cure_due_on']}" if v["cure_due_on"] else ""
        due_en = f", due {v['cure_due_on']}" if v["cure_due_on"] else ""
        choices.append(
            (
                str(v["id"]),
                f"#{v['id']} {zh}{due_zh}：{v['facts'][:40]}",
                f"#{v['id']} {en}{due_en}",
            )
        )
    return tuple(choices)


def _rulebook(w: Work, version: str | None) -> Rulebook | None:
    """The rulebook ``version`` (None when there is none)."""
    try:
        return rules.by_version(w, version)
    except NotFound:
        return None


def _words(rb: Rulebook | None) -> dict[str, dict[str, tuple[str, str]]]:
    """The rulebook's words for its track and industry codes (none without a rulebook)."""
    if rb is None:
        return {"track": {}, "industry": {}}
    return {
        "track": {code: (t.label_zh, t.label_en) for code, t in rb.tracks.items()},
        "industry": {i.code: (i.label_zh, i.label_en) for i in rb.industries},
        "code": {code: (t.label_zh, t.label_en) for code, t in rb.triggers.items()},
    }


def _agreement(events: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The agreement as signed, with the newest amendment's deposit, units and area."""
    signed = next((e for e in events if e["trigger"] == "sign"), None)
    if signed is None:
        return None
    data = dict(signed["data"])
    out = {
        "signed_at": signed["at"],
        "units": data.get("units") or [],
        "area_m2": data.get("area_m2"),
        "term_start": data.get("term_start"),
        "term_end": data.get("term_end"),
        "deposit_yuan": data.get("deposit_yuan", 0),
        "amended": [],
    }
    for e in events:
        if e["trigger"] == "amend_agreement":
            changes = e["data"].get("changes") or e["data"]
            for key in ("deposit_yuan", "area_m2", "units", "term_end"):
                if key in e["data"]:
                    out[key] = e["data"][key]
            out["amended"].append({"at": e["at"], "changes": changes})
    return out


def _documents(w: Work, t: Tenancy, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the tenancy's file holds: the application, the agreement, each notice the firm
    received (its inbox copy, read from the firm's inbox by the firm index) and the exit
    cases' service and ruling."""
    docs: list[dict[str, Any]] = []
    for e in events:
        if e["trigger"] == "apply":
            docs.append(
                {"kind": ("入驻申请书", "application"), "at": e["at"], "title": "", "body": ""}
            )
        elif e["trigger"] == "sign":
            docs.append({"kind": ("入驻协议", "agreement"), "at": e["at"], "title": "", "body": ""})
        elif e["trigger"] == "file_plan":
            docs.append(
                {
                    "kind": ("整改方案", "rectification plan"),
                    "at": e["at"],
                    "title": "",
                    "body": str(e["data"].get("plan") or ""),
                }
            )
    notices = w.session.exec(
        select(InboxItem)
        .join(OutboxMessage, col(OutboxMessage.id) == col(InboxItem.outbox_id))
        .where(col(InboxItem.firm_id) == t.firm_id, col(OutboxMessage.tenancy_id) == t.id)
        .order_by(col(InboxItem.created_at), col(InboxItem.id))
    ).all()
    docs += [
        {
            "kind": ("通知", "notice"),
            "at": n.created_at.isoformat(),
            "title": n.subject,
            "body": n.body,
            "read": n.read_at is not None,
        }
        for n in notices
    ]
    for case in w.session.exec(select(ExitCase).where(col(ExitCase.tenancy_id) == t.id)).all():
        if case.proof_of_service:
            docs.append(
                {
                    "kind": ("退出告知书送达凭证", "exit notice: proof of service"),
                    "at": case.served_at.isoformat() if case.served_at else None,
                    "title": case.grounds or "",
                    "body": case.proof_of_service,
                }
            )
        if case.ruling:
            docs.append(
                {"kind": ("退出决定", "exit ruling"), "at": None, "title": "", "body": case.ruling}
            )
    docs.sort(key=lambda d: d["at"] or "")
    return docs


def action_page(w: Work, *, tenancy_id: int, trigger: str) -> dict[str, Any]:
    """What the confirmation page of ``trigger`` on the tenancy says: the tenancy (its state
    and version), the action in words, its outcomes, its notices and its fields. NotFound
    when the action is not one the console offers in the tenancy's state."""
    action = console_actions.BY_TRIGGER.get(trigger)
    t = w.session.get(Tenancy, tenancy_id)
    if t is None:
        raise NotFound("tenancy", tenancy_id)
    if action is None or not action.allowed_in(t.state):
        raise NotFound("action", trigger)
    firm = w.session.get(Firm, t.firm_id)
    assert firm is not None
    row = w.uow.tenancies.get(tenancy_id, lock=False)
    assert row is not None
    rb = rules.for_tenancy(w, row)
    described = console_actions.described(action, t.state, rb)
    if trigger == console_actions.CURE:
        # Only the violations a cure may be recorded for are choices; with none, none.
        choices = _curable_violations(w, row, rb)
        if not choices:
            raise GuardFailed(tenancy_id, trigger, NO_OPEN_VIOLATION)
        described["fields"] = tuple(
            replace(f, choices=choices) if f.name == "violation" else f for f in described["fields"]
        )
    if trigger == windows.WAIVE:
        # Only the windows open now are choices; with none open there is nothing to waive.
        open_now = windows.open_windows(w, row)
        if not open_now:
            raise GuardFailed(tenancy_id, trigger, windows.NONE_OPEN)
        described["fields"] = tuple(
            replace(f, choices=tuple(ch for ch in f.choices if ch[0] in open_now))
            if f.name == "window"
            else f
            for f in described["fields"]
        )
    return {
        "tenancy": {"id": t.id, "state": t.state, "version": t.version, "firm": firm.name},
        "action": described,
        "open_review": _open_review_period(w, t),
    }


def _open_review_period(w: Work, t: Tenancy) -> int | None:
    """The period of the tenancy's newest review not yet decided (a decide form's default)."""
    found = w.session.exec(
        select(Review.period)
        .where(col(Review.tenancy_id) == t.id, col(Review.status) != "decided")
        .order_by(col(Review.period).desc())
    ).first()
    return int(found) if found is not None else None
