"""城市机会清单: firms' and spaces' needs (新场景) and supplies (新产品), reviewed by the space's
operators, assembled by the district into numbered lists (第N期) and published frozen; needs
introduced to supplies, and how each introduction went.

Decide, then write: each handler loads through ``uow.opportunities`` and ``uow.registry``, the
pure functions of :mod:`workflows.opportunity_rules` decide (rows, hash-chained events, the
firm's notices), and the rows are written once in the command's transaction — a refused
command writes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from db.repositories import FirmRow
from lifecycle import opportunities as opp
from lifecycle.errors import Forbidden, InvalidInput, NotFound
from lifecycle.table import TERMINAL
from workflows import opportunity_list_rules as decide_list
from workflows import opportunity_rules as decide
from workflows import rules
from workflows.core import Work
from workflows.opportunity_commands import (
    AcceptEntry,
    ArrangeList,
    AttachToEntry,
    CreateList,
    EditEntry,
    Introduce,
    PublishList,
    RecordOutcome,
    ReturnEntry,
    SubmitEntry,
)

log = logging.getLogger("innospace.opportunities")
Row = dict[str, Any]


def industries(w: Work, space_id: int) -> dict[str, str]:
    """The industry catalog of the space's active rulebook: code -> Chinese label."""
    return {i.code: i.label_zh for i in rules.active_in(w, space_id).industries}


def _party(w: Work, space: Row, firm: FirmRow | None) -> decide.Party:
    return decide.Party(space=space, firm=firm, industries=industries(w, space["id"]))


def party_of(w: Work, entry: Row) -> decide.Party:
    space = w.uow.opportunities.space_of(entry["space_id"])
    assert space is not None
    firm = None if entry["firm_id"] is None else w.uow.registry.firm(entry["firm_id"])
    return _party(w, space, firm)


def entry_of(w: Work, entry_id: int, as_firm: int | None = None) -> Row:
    """An entry; for a firm account only its own firm's (another's is not found)."""
    entry = w.uow.opportunities.entry(entry_id)
    if entry is None or (as_firm is not None and entry["firm_id"] != as_firm):
        raise NotFound("opportunity_entry", entry_id)
    return entry


def _head(w: Work, subject: str, subject_id: int) -> decide.Head:
    return w.uow.opportunities.head(subject, subject_id)


def _filed(w: Work, entry: Row) -> decide.Filed:
    return decide.Filed(entry, party_of(w, entry), _head(w, "entry", entry["id"]))


# ---- entries ----------------------------------------------------------------------------------
def submit_entry(w: Work, cmd: SubmitEntry) -> dict[str, Any]:
    found = w.uow.registry.space(cmd.space)
    if found is None:
        raise NotFound("space", cmd.space)
    space: Row = {"id": found.id, "code": found.code, "name": found.name}
    firm = None
    if cmd.firm is None:
        if cmd.as_firm is not None:
            raise Forbidden(
                "企业账号只能为本企业提交 / a firm account submits only its own firm's entries"
            )
    else:
        firm = w.firm(cmd.firm)
        if cmd.as_firm is not None and firm.id != cmd.as_firm:
            raise Forbidden(
                "企业账号只能为本企业提交，不能代其他企业提交 / a firm account submits only its "
                "own firm's entries",
                firm=cmd.firm,
            )
        stay = w.uow.admissions.open_tenancy(firm.id, found.id, TERMINAL)
        if stay is None:
            raise InvalidInput(
                "firm",
                f"该企业未入驻或申请 {space['code']} / the firm has no open stay in this space",
                cmd.firm,
            )
    given = {name: getattr(cmd, name) for name in decide.ENTRY_FIELDS}
    rows, ref = decide.submit(
        _party(w, space, firm),
        given,
        kind=cmd.kind,
        actor=cmd.actor,
        now=w.now,
        today=w.today,
        attachments=[a.to_dict() for a in cmd.attachments],
    )
    w.apply_rows(rows)
    assert ref.id is not None
    log.info("entry %s submitted by %s in %s", ref.id, cmd.actor, space["code"])
    return {"entry_id": ref.id, "status": opp.SUBMITTED}


def edit_entry(w: Work, cmd: EditEntry) -> dict[str, Any]:
    entry = entry_of(w, cmd.entry_id, cmd.as_firm)
    given = {name: getattr(cmd, name) for name in decide.ENTRY_FIELDS}
    rows, changes = decide.edit(
        _filed(w, entry),
        given,
        by_firm=cmd.as_firm is not None,
        actor=cmd.actor,
        reason=cmd.reason,
        now=w.now,
        today=w.today,
    )
    w.apply_rows(rows)
    status = opp.SUBMITTED if entry["status"] == opp.RETURNED else entry["status"]
    return {"entry_id": entry["id"], "status": status, "changes": changes}


def attach_to_entry(w: Work, cmd: AttachToEntry) -> dict[str, Any]:
    entry = entry_of(w, cmd.entry_id, cmd.as_firm)
    carried = {str(a["sha256"]) for a in w.uow.opportunities.attachments(entry["id"])}
    rows = decide.attach(
        entry,
        [a.to_dict() for a in cmd.attachments],
        carried=carried,
        by_firm=cmd.as_firm is not None,
        head=_head(w, "entry", entry["id"]),
        actor=cmd.actor,
        now=w.now,
    )
    w.apply_rows(rows)
    files = carried | {a.sha256 for a in cmd.attachments}
    return {"entry_id": entry["id"], "attachments": len(files)}


def _review(w: Work, cmd: ReturnEntry | AcceptEntry, verdict: str) -> dict[str, Any]:
    """An operator's verdict on an entry (:data:`~workflows.opportunity_rules.VERDICTS`)."""
    entry = entry_of(w, cmd.entry_id)
    rows = decide.review_entry(
        _filed(w, entry), verdict, actor=cmd.actor, reason=cmd.reason, now=w.now, today=w.today
    )
    w.apply_rows(rows)
    return {"entry_id": entry["id"], "status": decide.VERDICTS[verdict][0]}


def return_entry(w: Work, cmd: ReturnEntry) -> dict[str, Any]:
    return _review(w, cmd, "return")


def accept_entry(w: Work, cmd: AcceptEntry) -> dict[str, Any]:
    return _review(w, cmd, "accept")


# ---- numbered lists ---------------------------------------------------------------------------
def list_numbered(w: Work, number: int) -> Row:
    found = w.uow.opportunities.list_numbered(number)
    if found is None:
        raise NotFound("opportunity_list", number)
    return found


def create_list(w: Work, cmd: CreateList) -> dict[str, Any]:
    repo = w.uow.opportunities
    existing = None if cmd.number is None else repo.list_numbered(cmd.number)
    rows, number = decide_list.create_list(
        number=cmd.number,
        last=repo.last_number(),
        existing=existing,
        title=cmd.title,
        actor=cmd.actor,
        now=w.now,
    )
    w.apply_rows(rows)
    return {"number": number, "status": opp.DRAFT}


def _draft(w: Work, number: int, joining: Sequence[int] = ()) -> decide_list.Draft:
    """List 第``number``期 with its entries and the chain heads a decision on it steps (of the
    list, of its entries and of those ``joining`` it)."""
    the_list = list_numbered(w, number)
    on_list = w.uow.opportunities.on_list(the_list["id"])
    ids = {e["id"] for e in on_list} | set(joining)
    heads = {i: _head(w, "entry", i) for i in ids}
    return decide_list.Draft(the_list, on_list, heads, _head(w, "list", the_list["id"]))


def arrange_list(w: Work, cmd: ArrangeList) -> dict[str, Any]:
    draft = _draft(w, cmd.number, cmd.entry_ids)
    found = {e["id"]: e for e in w.uow.opportunities.entries(list(cmd.entry_ids))}
    rows = decide_list.arrange(
        draft, list(cmd.entry_ids), found, actor=cmd.actor, now=w.now, today=w.today
    )
    w.apply_rows(rows)
    return {"number": draft.row["number"], "entries": list(cmd.entry_ids)}


def publish_list(w: Work, cmd: PublishList) -> dict[str, Any]:
    draft = _draft(w, cmd.number)
    parties = {e["id"]: party_of(w, e) for e in draft.on_list}
    rows, digest = decide_list.publish(
        draft, parties, spaces=cmd.as_spaces, actor=cmd.actor, now=w.now, today=w.today
    )
    w.apply_rows(rows)
    number = draft.row["number"]
    log.info("list %s published by %s: %s", number, cmd.actor, digest)
    return {"number": number, "content_hash": digest, "entries": len(draft.on_list)}


# ---- matching ---------------------------------------------------------------------------------
def introduce(w: Work, cmd: Introduce) -> dict[str, Any]:
    need, supply = entry_of(w, cmd.need_id), entry_of(w, cmd.supply_id)
    existing = w.uow.opportunities.introduced(need["id"], supply["id"])
    rows, ref = decide_list.introduce(
        need, supply, existing, note=cmd.note, actor=cmd.actor, now=w.now
    )
    w.apply_rows(rows)
    return {"introduction_id": ref.id, "outcome": "introduced"}


def record_outcome(w: Work, cmd: RecordOutcome) -> dict[str, Any]:
    intro = w.uow.opportunities.introduction(cmd.introduction_id)
    if intro is None:
        raise NotFound("introduction", cmd.introduction_id)
    rows = decide_list.record_outcome(
        intro,
        cmd.outcome,
        note=cmd.note,
        head=_head(w, "introduction", intro["id"]),
        actor=cmd.actor,
        now=w.now,
    )
    w.apply_rows(rows)
    return {"introduction_id": intro["id"], "outcome": cmd.outcome}
