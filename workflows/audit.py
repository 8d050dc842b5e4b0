"""Audit-chain verification over the database (streams tenancy by tenancy), and the city
opportunity lists' own chains (one per entry, list and introduction) with each published
list's frozen content, so that ``audit verify`` covers every chain the engine keeps."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from db.opportunities import OPPORTUNITY_TABLES
from db.tables import AuditEvent, Deadline, ExitCase, Review, Tenancy
from lifecycle import opportunities as opp
from lifecycle.audit import Problem, verify_chain
from lifecycle.table import EXIT_NOTICE
from workflows.reviews import OUTCOME_TRIGGER, trace_digest
from workflows.sweeps import ACTS_IN

_DECISIONS = frozenset(OUTCOME_TRIGGER.values())

# A further check of one tenancy's chain (its id, events in storage order, stored audit_seq):
# how `audit verify --checkpoint` adds the checkpoint's proofs to the same pass.
ChainCheck = Callable[[int, Sequence[AuditEvent], int], list[Problem]]


@dataclass
class OpportunityReport:
    """The opportunity lists' chains: how many, their events, what is wrong (zh / en)."""

    chains: int = 0
    events: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "chains": self.chains,
            "events": self.events,
            "problems": list(self.problems),
        }


@dataclass
class VerifyReport:
    tenancies: int = 0
    events: int = 0
    problems: list[Problem] = field(default_factory=list)
    #: The opportunity lists' chains (None: one tenancy was verified, not the database).
    opportunities: OpportunityReport | None = None

    @property
    def ok(self) -> bool:
        return not self.problems and (self.opportunities is None or self.opportunities.ok)

    @property
    def problem_count(self) -> int:
        return len(self.problems) + len(self.opportunities.problems if self.opportunities else [])

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "ok": self.ok,
            "tenancies": self.tenancies,
            "events": self.events,
            "problems": [
                {"tenancy_id": p.tenancy_id, "seq": p.seq, "kind": p.kind, "detail": p.detail}
                for p in self.problems
            ],
        }
        if self.opportunities is not None:
            out["opportunities"] = self.opportunities.to_dict()
        return out


_EV, _L = OPPORTUNITY_TABLES[3], OPPORTUNITY_TABLES[1]


def verify_opportunities(conn: Connection) -> OpportunityReport:
    """Every opportunity chain (entries, lists, introductions) recomputed, and every published
    list's stored content and hash checked against the hash its publish event recorded: the
    public page and the Excel export show the stored content, so editing it (or its hash) is
    tampering with what the district released."""
    chains = opportunity_chains(conn)
    report = OpportunityReport(len(chains), sum(len(c) for c in chains.values()))
    for chain in chains.values():
        report.problems += opp.verify_chain(chain)
    for row in conn.execute(core_select(_L).where(_L.c.status == opp.LIST_PUBLISHED)):
        published = chains.get(("list", row.id), [])
        report.problems += published_list_problems(dict(row._mapping), published)
    return report


def opportunity_chains(conn: Connection) -> dict[tuple[str, int], list[dict[str, Any]]]:
    """Every opportunity-list chain's events in ``seq`` order, by ``(subject, id)``."""
    chains: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for e in conn.execute(core_select(_EV).order_by(_EV.c.subject, _EV.c.subject_id, _EV.c.seq)):
        chains.setdefault((e.subject, e.subject_id), []).append(dict(e._mapping))
    return chains


def published_list_problems(row: dict[str, Any], events: Sequence[dict[str, Any]]) -> list[str]:
    """Whether a published list's stored content and hash are what its publish event froze."""
    recorded = [e["data"].get("content_hash") for e in events if e["action"] == "publish"]
    digest = opp.content_hash(row["content"])
    if recorded == [digest] and row["content_hash"] == digest:
        return []
    n = row["number"]
    return [
        f"第{n}期城市机会清单的内容与发布时记录的哈希不符 / list {n}: content does not "
        f"match its published hash (publish event: {', '.join(map(str, recorded)) or 'none'}; "
        f"stored: {row['content_hash']}; content now hashes to {digest})"
    ]


def verify(
    session: Session,
    tenancy_id: int | None = None,
    *,
    chunk: int = 500,
    check: ChainCheck | None = None,
) -> VerifyReport:
    """Recompute every chain; report edited, deleted, reordered events, events dated before
    their predecessor and fold mismatches; cross-check the rows people rely on (reviews,
    exit cases, deadlines) against the events that decided them. ``check`` adds a check of
    each chain (see :data:`ChainCheck`). Without ``tenancy_id`` the opportunity lists' chains
    are verified too (:func:`verify_opportunities`).

    Events are read in storage order (their id), not by ``seq``, so a row whose ``seq`` was
    edited to hide a reordering is still caught.
    """
    report = VerifyReport()
    stmt = select(Tenancy.id, Tenancy.audit_head, Tenancy.state, Tenancy.audit_seq).order_by(
        col(Tenancy.id)
    )
    if tenancy_id is not None:
        stmt = stmt.where(Tenancy.id == tenancy_id)
    heads = session.exec(stmt).all()
    for start in range(0, len(heads), chunk):
        part = heads[start : start + chunk]
        ids = [int(h[0]) for h in part if h[0] is not None]
        events = session.exec(
            select(AuditEvent)
            .where(col(AuditEvent.tenancy_id).in_(ids))
            .order_by(col(AuditEvent.tenancy_id), col(AuditEvent.id))
        ).all()
        by_tenancy: dict[int, list[AuditEvent]] = {i: [] for i in ids}
        for event in events:
            by_tenancy[event.tenancy_id].append(event)
        reviews: dict[int, list[Review]] = {i: [] for i in ids}
        for review in session.exec(select(Review).where(col(Review.tenancy_id).in_(ids))).all():
            reviews[review.tenancy_id].append(review)
        cases: dict[int, list[ExitCase]] = {i: [] for i in ids}
        for case in session.exec(
            select(ExitCase).where(col(ExitCase.tenancy_id).in_(ids)).order_by(col(ExitCase.id))
        ).all():
            cases[case.tenancy_id].append(case)
        deadlines: dict[int, list[Deadline]] = {i: [] for i in ids}
        for deadline in session.exec(
            select(Deadline).where(col(Deadline.tenancy_id).in_(ids)).order_by(col(Deadline.id))
        ).all():
            deadlines[deadline.tenancy_id].append(deadline)
        for row_id, head, state, audit_seq in part:
            tid = int(row_id or 0)
            chain = by_tenancy[tid]
            report.tenancies += 1
            report.events += len(chain)
            report.problems.extend(verify_chain(tid, chain, head=head, state=state))
            report.problems.extend(cross_check_reviews(tid, chain, reviews[tid]))
            report.problems.extend(cross_check_exit_cases(tid, chain, cases[tid]))
            report.problems.extend(cross_check_deadlines(tid, chain, deadlines[tid]))
            if check is not None:
                report.problems.extend(check(tid, chain, audit_seq))
        session.expunge_all()
    if tenancy_id is None:
        report.opportunities = verify_opportunities(session.connection())
    return report


def cross_check_reviews(
    tenancy_id: int, chain: list[AuditEvent], reviews: list[Review]
) -> list[Problem]:
    """A review's decision as the chain recorded it: a row that disagrees with its event (an
    edited grade, score or trace, a decision without an event) is reported by table, id and
    field. The chain itself is checked by ``verify_chain``; this checks what people read."""
    decided: dict[int, AuditEvent] = {}
    for event in chain:
        data = event.data or {}
        if event.trigger in _DECISIONS and isinstance(data.get("period"), int):
            decided[data["period"]] = event  # the last decision of a period stands
    problems: list[Problem] = []
    for review in reviews:
        decision = decided.get(review.period)
        where = f"reviews #{review.id} ({review.period})"
        if review.status != "decided":
            if decision is not None:
                problems.append(
                    Problem(
                        tenancy_id, decision.seq, "row_mismatch", f"{where} status: not decided"
                    )
                )
            continue
        if decision is None:
            problems.append(
                Problem(tenancy_id, None, "row_mismatch", f"{where}: decided without an event")
            )
            continue
        data = decision.data or {}
        for name in ("grade", "score", "consequence"):
            if getattr(review, name) != data.get(name):
                problems.append(
                    Problem(
                        tenancy_id,
                        decision.seq,
                        "row_mismatch",
                        f"{where} {name}: the row says {getattr(review, name)}, "
                        f"the event says {data.get(name)}",
                    )
                )
        recorded = data.get("trace_sha256")
        if recorded is None and isinstance(data.get("trace"), dict):
            recorded = trace_digest(data["trace"])
        if recorded is not None and trace_digest(review.trace or {}) != recorded:
            problems.append(
                Problem(tenancy_id, decision.seq, "row_mismatch", f"{where} trace: digest differs")
            )
    return problems


# ---- exit cases ---------------------------------------------------------------------------
# The grounds a forced exit is opened on, by the event that opens it (serve_exit_notice
# carries its own in the event's data).
_FORCED_GROUNDS = {"fail_reinspection": "failed_rectification", "fail_review": "consecutive_d"}
_UNSET: Any = object()


@dataclass
class _Case:
    """An exit case as the chain tells it."""

    seq: int
    exit_type: str | None
    grounds: Any = _UNSET
    served_at: Any = _UNSET
    objection_due_on: Any = _UNSET
    vacate_due_on: Any = _UNSET
    status: str = "open"
    ruling: Any = _UNSET
    handed_over_at: Any = None
    checklist: Any = _UNSET
    case_ids: list[tuple[int, Any]] = field(default_factory=list)


def _cases_told(chain: Sequence[AuditEvent]) -> list[_Case]:
    told: list[_Case] = []
    for event in chain:
        data = event.data or {}
        if event.trigger in ("begin_exit", "graduate"):  # a graduation's case opens after 公示
            told.append(
                _Case(
                    event.seq,
                    data.get("exit_type", _UNSET),
                    grounds=None,
                    served_at=None,
                    objection_due_on=None,
                    vacate_due_on=data.get("vacate_due_on", _UNSET),
                )
            )
            continue
        if event.to_state == EXIT_NOTICE and event.from_state != EXIT_NOTICE:
            grounds = (
                data.get("grounds", _UNSET)
                if event.trigger == "serve_exit_notice"
                else _FORCED_GROUNDS.get(event.trigger, _UNSET)
            )
            told.append(
                _Case(
                    event.seq,
                    "forced",
                    grounds=grounds,
                    served_at=event.occurred_at,
                    objection_due_on=data.get("objection_due_on", _UNSET),
                    vacate_due_on=None,
                )
            )
            continue
        if not told:
            continue
        case = told[-1]
        if "exit_case" in data:
            case.case_ids.append((event.seq, data["exit_case"]))
        if event.trigger == "confirm_exit":
            case.vacate_due_on = data.get("vacate_due_on", _UNSET)
            case.ruling = event.reason
        elif event.trigger == "uphold_objection" and event.from_state == EXIT_NOTICE:
            case.status, case.ruling = "withdrawn", event.reason
        elif event.trigger == "hand_over":
            case.status = "closed"
            case.handed_over_at = event.occurred_at
            case.checklist = data.get("checklist", _UNSET)
    return told


def cross_check_exit_cases(
    tenancy_id: int, chain: Sequence[AuditEvent], cases: Sequence[ExitCase]
) -> list[Problem]:
    """Each exit case row against the events that opened and moved it: its type, grounds,
    service time, 陈述申辩 and vacating dates, status, ruling, handover time and checklist.

    Cases and the events that open them (``begin_exit``, a move into ``exit_notice``) are
    paired in order. A field an event does not carry (the 陈述申辩 date of a case opened by a
    review or a reinspection) is not checked."""
    told = _cases_told(chain)
    problems: list[Problem] = []
    for row, case in zip(cases, told, strict=False):
        where = f"exit_cases #{row.id}"
        fields: dict[str, tuple[Any, Any]] = {
            "exit_type": (row.exit_type, case.exit_type),
            "grounds": (row.grounds, case.grounds),
            "served_at": (_when(row.served_at), _when(case.served_at)),
            "objection_due_on": (_day(row.objection_due_on), case.objection_due_on),
            "vacate_due_on": (_day(row.vacate_due_on), case.vacate_due_on),
            "status": (row.status, case.status),
            "ruling": (row.ruling, case.ruling),
            "handed_over_at": (_when(row.handed_over_at), _when(case.handed_over_at)),
            "checklist": (row.checklist or {}, case.checklist),
        }
        for name, (stored, recorded) in fields.items():
            if recorded is _UNSET or stored == recorded:
                continue
            problems.append(
                Problem(
                    tenancy_id,
                    case.seq,
                    "row_mismatch",
                    f"{where} {name}: the row says {stored}, the events say {recorded}",
                )
            )
        for seq, named in case.case_ids:
            if named != row.id:
                problems.append(
                    Problem(
                        tenancy_id,
                        seq,
                        "row_mismatch",
                        f"{where} id: the event names exit case {named}",
                    )
                )
    for row in cases[len(told) :]:
        problems.append(
            Problem(
                tenancy_id,
                None,
                "row_mismatch",
                f"exit_cases #{row.id}: no event opened this case",
            )
        )
    for case in told[len(cases) :]:
        problems.append(
            Problem(
                tenancy_id,
                case.seq,
                "row_mismatch",
                "exit_cases: the event opened an exit case that is not there",
            )
        )
    return problems


def _utc(value: datetime) -> datetime:
    # Stored instants come back naive (SQLite) or aware (PostgreSQL); both are UTC.
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def _when(value: Any) -> Any:
    return _utc(value).isoformat(timespec="microseconds") if isinstance(value, datetime) else value


def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


# ---- deadlines ----------------------------------------------------------------------------
# The state a deadline's sweep action needs to act is ``workflows.sweeps.ACTS_IN``; in any
# other state the deadline is moot.
# Kinds whose action, in that state, acts whatever else holds: never moot there.
_ALWAYS_ACTS = frozenset(
    {
        "info_request_lapse",
        "agreement_lapse",
        "publicity_end",
        "rectification_plan_due",
        "rectification_end",
        "objection_window_end",
        "vacate_due",
        "graduation_publicity_end",
    }
)
# Kinds whose action, when it acts, always appends this event in the same transaction.
_ACTS_BY: dict[str, str] = {
    "info_request_lapse": "lapse",
    "agreement_lapse": "lapse",
    "term_end": "begin_exit",
    "vacate_due": "escalate_vacating",
    "cure_end": "serve_exit_notice",
    "graduation_publicity_end": "graduate",
}
# Kinds whose action moves the tenancy unless an accepted objection awaits a ruling (then
# the operators are told instead); the objections are events of the chain.
_ACTS_UNLESS_OBJECTED = {"objection_window_end": "confirm_exit", "publicity_end": "admit"}


def cross_check_deadlines(
    tenancy_id: int, chain: Sequence[AuditEvent], deadlines: Sequence[Deadline]
) -> list[Problem]:
    """A deadline's status against the chain. A handled deadline (done, moot, cancelled,
    failed) names when; a sweep handles it only once due, and a cancellation happens with an
    event of the same instant. A deadline marked done must have found the tenancy in the
    state its action needs, and when that action always moves the tenancy its event must be
    there at that instant; one marked moot must not have found that state (for the kinds
    whose action depends on the state alone, unless it was a stale reminder, its
    ``moot_reason`` recorded). Reminders and warnings, which leave no event, are checked for
    their time and the state only."""
    problems: list[Problem] = []
    for d in deadlines:
        if d.status in ("pending",):
            continue
        where = f"deadlines #{d.id} ({d.kind})"
        if d.done_at is None:
            problems.append(
                Problem(
                    tenancy_id,
                    None,
                    "row_mismatch",
                    f"{where} status: {d.status}, but no time it was handled (done_at)",
                )
            )
            continue
        at = _utc(d.done_at)
        if d.status == "cancelled":
            if not any(_utc(e.occurred_at) == at for e in chain):
                problems.append(
                    Problem(
                        tenancy_id,
                        None,
                        "row_mismatch",
                        f"{where} status: cancelled at {at.isoformat()}, with no event then",
                    )
                )
            continue
        if d.status not in ("done", "moot"):
            continue
        if at < _utc(d.due_at):
            problems.append(
                Problem(
                    tenancy_id,
                    None,
                    "row_mismatch",
                    f"{where} status: {d.status} at {at.isoformat()}, before it fell due "
                    f"({_utc(d.due_at).isoformat()})",
                )
            )
            continue
        needs = ACTS_IN.get(d.kind)
        if needs is None:
            continue
        before = [e for e in chain if _utc(e.occurred_at) < at]
        state = before[-1].to_state if before else None
        if d.status == "done" and state not in needs:
            problems.append(
                Problem(
                    tenancy_id,
                    None,
                    "row_mismatch",
                    f"{where} status: done, but the tenancy was {state} then",
                )
            )
        elif (
            d.status == "moot"
            and d.kind in _ALWAYS_ACTS
            and state in needs
            and "moot_reason" not in d.payload  # a stale reminder (workflows.sweeps.AHEAD)
        ):
            problems.append(
                Problem(
                    tenancy_id,
                    None,
                    "row_mismatch",
                    f"{where} status: moot, but the tenancy was {state} then",
                )
            )
        trigger = _ACTS_BY.get(d.kind)
        if d.kind in _ACTS_UNLESS_OBJECTED and not any(
            e.trigger == "lodge_objection"
            and e.from_state == state
            and (e.data or {}).get("accepted")
            for e in before
        ):
            trigger = _ACTS_UNLESS_OBJECTED[d.kind]  # no accepted objection: it moved on
        if (
            d.status == "done"
            and trigger is not None
            and not any(_utc(e.occurred_at) == at and e.trigger == trigger for e in chain)
        ):
            problems.append(
                Problem(
                    tenancy_id,
                    None,
                    "row_mismatch",
                    f"{where} status: done at {at.isoformat()}, with no {trigger} event then",
                )
            )
    return problems
