"""What an opportunity-list command writes, decided from what its handler loaded (no I/O here).

Each function checks a command against the rows as they are (an entry, a list, the firm and
the space, the rulebook's industries) and returns the :class:`~db.effects.Rows` to write: the
entry or list row inserted or updated, one hash-chained event per subject it touches, and the
firm's notices (outbox rows with their dedupe keys). :mod:`workflows.opportunities` loads,
calls these and writes once, in the command's transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from db.effects import Ref, RefKey, Rows, json_column, outbox_row
from db.repositories import FirmRow
from lifecycle import opportunities as opp
from lifecycle.audit import GENESIS
from lifecycle.errors import Conflict, InvalidInput

Row = dict[str, Any]
Head = tuple[int, str] | None


@dataclass(frozen=True, slots=True, eq=False)
class ChainHash(RefKey):
    """The hash of an event whose subject the same rows insert: made once the writer knows the
    subject's id (the writer resolves it like any :class:`RefKey`)."""

    row: Row = field(default_factory=dict)

    def resolve(self) -> str:
        fields = {k: self.row[k] for k in opp.HASHED}
        fields["subject_id"] = self.ref.id
        return opp.event_hash(**fields)


def chain_event(
    rows: Rows,
    *,
    head: Head,
    subject: str,
    subject_id: int | Ref,
    actor: str,
    action: str,
    from_status: str | None,
    to_status: str,
    now: datetime,
    reason: str | None = None,
    data: Mapping[str, Any] | None = None,
) -> None:
    """Append the next event of a subject's chain (``head``: its last (seq, hash))."""
    seq, prev = (0, GENESIS) if head is None else head
    row: Row = {
        "subject": subject,
        "subject_id": subject_id,
        "seq": seq + 1,
        "actor": actor,
        "action": action,
        "from_status": from_status,
        "to_status": to_status,
        "reason": reason,
        "data": dict(data or {}),
        "occurred_at": now,
        "prev_hash": prev,
    }
    if isinstance(subject_id, Ref):
        row["hash"] = ChainHash("", subject_id, "", row)
    else:
        row["hash"] = opp.event_hash(**{k: row[k] for k in opp.HASHED})
    rows.insert("opportunity_events", **row)


@dataclass(slots=True)
class Party:
    """The space (and firm) an entry belongs to, as its notices and list items quote them."""

    space: Row  # id, code, name
    firm: FirmRow | None
    industries: Mapping[str, str]  # code -> Chinese label


def _notice(
    rows: Rows,
    message: str,
    entry: Row,
    party: Party,
    *,
    seq: int,
    now: datetime,
    today: date,
    context: Mapping[str, Any] | None = None,
) -> None:
    """The firm's notice about its entry (none for a space's own entry)."""
    firm = party.firm
    if firm is None:
        return
    kind_zh, kind_en = opp.KINDS[entry["kind"]]
    ctx = {
        "firm": {
            "id": firm.id,
            "name": firm.name,
            "uscc": firm.uscc,
            "contact_name": firm.contact_name,
            "email": firm.contact_email,
            "account_manager": firm.account_manager,
        },
        "space": {"code": party.space["code"], "name": party.space["name"]},
        "sent_on": today.isoformat(),
        "entry": {
            "id": entry["id"],
            "title": entry["title"],
            "kind_zh": kind_zh,
            "kind_en": kind_en,
        },
        **(context or {}),
    }
    key = f"{message}:firm:entry:{entry['id']}:{seq}"
    rows.insert(
        "outbox",
        **outbox_row(
            key,
            message,
            tenancy_id=None,
            firm_id=firm.id,
            audience="firm",
            locale=firm.locale,
            context=json_column(ctx),
            now=now,
        ),
    )


def _next_seq(head: Head) -> int:
    return 1 if head is None else head[0] + 1


# ---- entries ----------------------------------------------------------------------------------
#: The fields of an entry a submission or an edit sets.
ENTRY_FIELDS = (
    "title",
    "description",
    "field",
    "sought",
    "contact_name",
    "contact_phone",
    "contact_public",
    "valid_until",
)


def checked_fields(given: Mapping[str, Any], industries: Mapping[str, str], today: date) -> Row:
    """The given entry fields, each checked (a field left out is not in the result)."""
    out: Row = {}
    for name, value in given.items():
        if name == "field":
            out[name] = opp.check_field(str(value), industries)
        elif name == "contact_phone":
            out[name] = opp.check_phone(value)
        elif name == "contact_public":
            if not isinstance(value, bool):
                raise InvalidInput(name, "须为是或否 / must be true or false", value)
            out[name] = value
        elif name == "valid_until":
            if not isinstance(value, date):
                raise InvalidInput(name, "须为日期 / must be a date", value)
            out[name] = opp.check_valid_until(value, today)
        else:
            out[name] = opp.check_text(name, value)
    return out


def submit(
    party: Party,
    given: Mapping[str, Any],
    *,
    kind: str,
    actor: str,
    now: datetime,
    today: date,
) -> tuple[Rows, Ref]:
    """A new entry, ``submitted``, and its first event."""
    values = checked_fields(given, party.industries, today)
    missing = [n for n in ENTRY_FIELDS if n not in values and n not in ("contact_phone",)]
    if missing:
        raise InvalidInput(missing[0], "不能为空 / must not be empty")
    rows = Rows()
    ref = rows.insert(
        "opportunity_entries",
        space_id=party.space["id"],
        firm_id=None if party.firm is None else party.firm.id,
        kind=opp.kind_of(kind),
        status=opp.SUBMITTED,
        return_reason=None,
        list_id=None,
        position=None,
        submitted_by=actor,
        created_at=now,
        updated_at=now,
        **{"contact_phone": None, **values},
    )
    chain_event(
        rows,
        head=None,
        subject="entry",
        subject_id=ref,
        actor=actor,
        action="submit",
        from_status=None,
        to_status=opp.SUBMITTED,
        now=now,
        data={"kind": opp.kind_of(kind), "space": party.space["code"]},
    )
    return rows, ref


def edit(
    entry: Row,
    party: Party,
    given: Mapping[str, Any],
    *,
    by_firm: bool,
    head: Head,
    actor: str,
    reason: str | None,
    now: datetime,
    today: date,
) -> tuple[Rows, dict[str, list[Any]]]:
    """The entry's changed fields (a returned entry its firm edits is submitted again)."""
    status = entry["status"]
    editable = frozenset({opp.SUBMITTED, opp.RETURNED}) if by_firm else opp.EDITABLE
    opp.require_status("opportunity_entry", entry["id"], status, editable, "edit")
    values = checked_fields(
        {k: v for k, v in given.items() if v is not None}, party.industries, today
    )
    changes = {
        name: [_shown(entry[name]), _shown(value)]
        for name, value in values.items()
        if entry[name] != value
    }
    resubmitted = status == opp.RETURNED
    if not changes and not resubmitted:
        raise InvalidInput("changes", "没有要修改的内容 / nothing to change")
    to_status = opp.SUBMITTED if resubmitted else status
    rows = Rows()
    rows.update(
        "opportunity_entries",
        entry["id"],
        **{k: values[k] for k in changes},
        status=to_status,
        updated_at=now,
    )
    chain_event(
        rows,
        head=head,
        subject="entry",
        subject_id=entry["id"],
        actor=actor,
        action="resubmit" if resubmitted else "edit",
        from_status=status,
        to_status=to_status,
        reason=reason,
        now=now,
        data={"changes": changes},
    )
    return rows, changes


def _shown(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def return_entry(
    entry: Row,
    party: Party,
    *,
    head: Head,
    actor: str,
    reason: str | None,
    now: datetime,
    today: date,
) -> Rows:
    """The entry back to its submitter with the reason (its firm is told)."""
    opp.require_status("opportunity_entry", entry["id"], entry["status"], opp.RETURNABLE, "return")
    text = opp.check_text("reason", reason)
    rows = Rows()
    rows.update(
        "opportunity_entries", entry["id"], status=opp.RETURNED, return_reason=text, updated_at=now
    )
    chain_event(
        rows,
        head=head,
        subject="entry",
        subject_id=entry["id"],
        actor=actor,
        action="return",
        from_status=entry["status"],
        to_status=opp.RETURNED,
        reason=text,
        now=now,
    )
    _notice(
        rows,
        "opportunity_returned",
        entry,
        party,
        seq=_next_seq(head),
        now=now,
        today=today,
        context={"reason": text},
    )
    return rows


def accept_entry(
    entry: Row,
    party: Party,
    *,
    head: Head,
    actor: str,
    reason: str | None,
    now: datetime,
    today: date,
) -> Rows:
    """The entry accepted: it waits for the next list (its firm is told)."""
    opp.require_status(
        "opportunity_entry", entry["id"], entry["status"], frozenset({opp.SUBMITTED}), "accept"
    )
    if entry["valid_until"] <= today:
        raise InvalidInput(
            "valid_until",
            "已过有效期，须先修改有效期 / expired: edit its validity first",
            entry["valid_until"].isoformat(),
        )
    rows = Rows()
    rows.update(
        "opportunity_entries", entry["id"], status=opp.ACCEPTED, return_reason=None, updated_at=now
    )
    chain_event(
        rows,
        head=head,
        subject="entry",
        subject_id=entry["id"],
        actor=actor,
        action="accept",
        from_status=entry["status"],
        to_status=opp.ACCEPTED,
        reason=reason,
        now=now,
    )
    _notice(rows, "opportunity_accepted", entry, party, seq=_next_seq(head), now=now, today=today)
    return rows


# ---- numbered lists ---------------------------------------------------------------------------
def create_list(
    *, number: int | None, last: int, existing: Row | None, title: str, actor: str, now: datetime
) -> tuple[Rows, int]:
    """A new draft list 第N期 (N: the given number, or one more than the last)."""
    n = last + 1 if number is None else number
    if n < 1:
        raise InvalidInput("number", "期数须为正整数 / must be a positive number", n)
    if existing is not None:
        raise Conflict(
            f"第{n}期清单已存在 / list {n} exists already", subject="opportunity_list", number=n
        )
    text = opp.check_text("list_title", title)
    rows = Rows()
    ref = rows.insert(
        "opportunity_lists",
        number=n,
        title=text,
        status=opp.DRAFT,
        content={},
        content_hash=None,
        created_by=actor,
        created_at=now,
        published_at=None,
    )
    chain_event(
        rows,
        head=None,
        subject="list",
        subject_id=ref,
        actor=actor,
        action="create",
        from_status=None,
        to_status=opp.DRAFT,
        now=now,
        data={"number": n, "title": text},
    )
    return rows, n


def _require_draft(the_list: Row, action: str) -> None:
    if the_list["status"] != opp.DRAFT:
        raise Conflict(
            f"第{the_list['number']}期清单已发布，不能再修改 / list {the_list['number']} is "
            f"published and frozen: cannot {action}",
            subject="opportunity_list",
            number=the_list["number"],
        )


def arrange(
    the_list: Row,
    on_list: Sequence[Row],
    wanted: Sequence[int],
    found: Mapping[int, Row],
    heads: Mapping[int, Head],
    list_head: Head,
    *,
    actor: str,
    now: datetime,
    today: date,
) -> Rows:
    """The draft list's entries in the order given: new ones listed, ones left out waiting
    again (``accepted``), each step on the entry's chain; the order on the list's."""
    _require_draft(the_list, "arrange")
    if len(set(wanted)) != len(wanted):
        raise InvalidInput(
            "entry_ids", "条目不能重复 / each entry once", ",".join(map(str, wanted))
        )
    if len(wanted) > opp.MAX_LIST_ITEMS:
        raise InvalidInput("entry_ids", f"最多 {opp.MAX_LIST_ITEMS} 条 / at most that many")
    current = {e["id"] for e in on_list}
    rows = Rows()
    for position, entry_id in enumerate(wanted, start=1):
        entry = found.get(entry_id)
        if entry is None:
            raise InvalidInput(
                "entry_ids", f"条目 {entry_id} 不存在 / no entry {entry_id}", entry_id
            )
        if entry_id in current:
            rows.update("opportunity_entries", entry_id, position=position, updated_at=now)
            continue
        opp.require_status(
            "opportunity_entry", entry_id, entry["status"], frozenset({opp.ACCEPTED}), "list"
        )
        if entry["valid_until"] <= today:
            raise InvalidInput(
                "entry_ids", f"条目 {entry_id} 已过有效期 / entry {entry_id} has expired", entry_id
            )
        rows.update(
            "opportunity_entries",
            entry_id,
            status=opp.LISTED,
            list_id=the_list["id"],
            position=position,
            updated_at=now,
        )
        chain_event(
            rows,
            head=heads.get(entry_id),
            subject="entry",
            subject_id=entry_id,
            actor=actor,
            action="list",
            from_status=opp.ACCEPTED,
            to_status=opp.LISTED,
            now=now,
            data={"list": the_list["number"]},
        )
    for entry in on_list:
        if entry["id"] in wanted:
            continue
        rows.update(
            "opportunity_entries",
            entry["id"],
            status=opp.ACCEPTED,
            list_id=None,
            position=None,
            updated_at=now,
        )
        chain_event(
            rows,
            head=heads.get(entry["id"]),
            subject="entry",
            subject_id=entry["id"],
            actor=actor,
            action="unlist",
            from_status=opp.LISTED,
            to_status=opp.ACCEPTED,
            now=now,
            data={"list": the_list["number"]},
        )
    chain_event(
        rows,
        head=list_head,
        subject="list",
        subject_id=the_list["id"],
        actor=actor,
        action="arrange",
        from_status=opp.DRAFT,
        to_status=opp.DRAFT,
        now=now,
        data={"entries": list(wanted)},
    )
    return rows


def list_item(entry: Row, n: int, party: Party) -> Row:
    """One numbered item of a published list, as the public sees it: contact details only
    when the entry allowed them."""
    kind_zh, _ = opp.KINDS[entry["kind"]]
    return {
        "n": n,
        "entry_id": entry["id"],
        "kind": entry["kind"],
        "kind_zh": kind_zh,
        "space": {"code": party.space["code"], "name": party.space["name"]},
        "firm": None if party.firm is None else party.firm.name,
        "title": entry["title"],
        "description": entry["description"],
        "field": entry["field"],
        "field_zh": party.industries.get(entry["field"], entry["field"]),
        "sought": entry["sought"],
        "valid_until": entry["valid_until"].isoformat(),
        "contact": (
            {"name": entry["contact_name"], "phone": entry["contact_phone"]}
            if entry["contact_public"]
            else None
        ),
    }


def publish(
    the_list: Row,
    on_list: Sequence[Row],
    parties: Mapping[int, Party],
    heads: Mapping[int, Head],
    list_head: Head,
    *,
    actor: str,
    now: datetime,
    today: date,
) -> tuple[Rows, str]:
    """The list published and frozen: its content kept and hashed (the hash in the list's
    event), its entries ``published``, each firm told."""
    _require_draft(the_list, "publish")
    if not on_list:
        raise InvalidInput(
            "entries", "清单为空，不能发布 / the list has no entries: nothing to publish"
        )
    entries = sorted(on_list, key=lambda e: e["position"])
    content = {
        "number": the_list["number"],
        "title": the_list["title"],
        "published_on": today.isoformat(),
        "items": [list_item(e, n, parties[e["id"]]) for n, e in enumerate(entries, start=1)],
    }
    digest = opp.content_hash(content)
    rows = Rows()
    rows.update(
        "opportunity_lists",
        the_list["id"],
        status=opp.LIST_PUBLISHED,
        content=content,
        content_hash=digest,
        published_at=now,
    )
    chain_event(
        rows,
        head=list_head,
        subject="list",
        subject_id=the_list["id"],
        actor=actor,
        action="publish",
        from_status=opp.DRAFT,
        to_status=opp.LIST_PUBLISHED,
        now=now,
        data={"content_hash": digest, "entries": [e["id"] for e in entries]},
    )
    for n, entry in enumerate(entries, start=1):
        head = heads.get(entry["id"])
        rows.update("opportunity_entries", entry["id"], status=opp.PUBLISHED, updated_at=now)
        chain_event(
            rows,
            head=head,
            subject="entry",
            subject_id=entry["id"],
            actor=actor,
            action="publish",
            from_status=opp.LISTED,
            to_status=opp.PUBLISHED,
            now=now,
            data={"list": the_list["number"], "n": n, "content_hash": digest},
        )
        _notice(
            rows,
            "opportunity_published",
            entry,
            parties[entry["id"]],
            seq=_next_seq(head),
            now=now,
            today=today,
            context={"list": {"number": the_list["number"], "title": the_list["title"], "n": n}},
        )
    return rows, digest


# ---- matching ---------------------------------------------------------------------------------
#: The statuses in which an entry may be introduced to another.
INTRODUCIBLE = frozenset({opp.ACCEPTED, opp.LISTED, opp.PUBLISHED})


def introduce(
    need: Row, supply: Row, existing: Row | None, *, note: str | None, actor: str, now: datetime
) -> tuple[Rows, Ref]:
    """A need introduced to a supply (``introduced``)."""
    if need["kind"] != opp.NEED:
        raise InvalidInput("need_id", "须为新场景（需求）条目 / must be a need", need["id"])
    if supply["kind"] != opp.SUPPLY:
        raise InvalidInput("supply_id", "须为新产品（供给）条目 / must be a supply", supply["id"])
    for entry in (need, supply):
        opp.require_status(
            "opportunity_entry", entry["id"], entry["status"], INTRODUCIBLE, "introduce"
        )
    if need["firm_id"] is not None and need["firm_id"] == supply["firm_id"]:
        raise InvalidInput("supply_id", "不能对接本企业自己的条目 / same firm on both sides")
    if existing is not None:
        raise Conflict(
            f"条目 {need['id']} 与 {supply['id']} 已对接（编号 {existing['id']}） / already "
            f"introduced as {existing['id']}",
            subject="introduction",
            id=existing["id"],
        )
    text = opp.check_text("note", note, optional=True)
    rows = Rows()
    ref = rows.insert(
        "introductions",
        need_id=need["id"],
        supply_id=supply["id"],
        outcome="introduced",
        note=text,
        created_by=actor,
        created_at=now,
        updated_at=now,
    )
    chain_event(
        rows,
        head=None,
        subject="introduction",
        subject_id=ref,
        actor=actor,
        action="introduce",
        from_status=None,
        to_status="introduced",
        now=now,
        data={"need": need["id"], "supply": supply["id"]},
        reason=text,
    )
    return rows, ref


def record_outcome(
    intro: Row, outcome: str, *, note: str | None, head: Head, actor: str, now: datetime
) -> Rows:
    """How an introduction went; a deal or a closed one is final."""
    if outcome not in opp.OUTCOMES or outcome == "introduced":
        raise InvalidInput(
            "outcome", "须为 contacted、in_talks、deal 或 closed / must be one of those", outcome
        )
    if intro["outcome"] in ("deal", "closed"):
        raise Conflict(
            f"对接 {intro['id']} 已结束（{opp.OUTCOMES[intro['outcome']]}） / introduction "
            f"{intro['id']} is final",
            subject="introduction",
            id=intro["id"],
        )
    if outcome == intro["outcome"]:
        raise InvalidInput("outcome", "与现有结果相同 / the same as recorded", outcome)
    text = opp.check_text("note", note, optional=True)
    rows = Rows()
    rows.update(
        "introductions", intro["id"], outcome=outcome, note=text or intro["note"], updated_at=now
    )
    chain_event(
        rows,
        head=head,
        subject="introduction",
        subject_id=intro["id"],
        actor=actor,
        action="outcome",
        from_status=intro["outcome"],
        to_status=outcome,
        now=now,
        reason=text,
    )
    return rows
