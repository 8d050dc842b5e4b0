"""What an opportunity entry's command writes, decided from what its handler loaded (no I/O).

Each function checks a command against the rows as they are (an entry, the firm and the
space, the rulebook's industries) and returns the :class:`~db.effects.Rows` to write: the
entry inserted or updated, the next event of its hash chain, and the firm's notice (an outbox
row with its dedupe key). :mod:`workflows.opportunities` loads, calls these and writes once,
in the command's transaction. Lists and introductions: :mod:`workflows.opportunity_list_rules`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from db.effects import Ref, RefKey, Rows, json_column, outbox_row
from db.repositories import FirmRow
from lifecycle import opportunities as opp
from lifecycle.audit import GENESIS
from lifecycle.errors import InvalidInput
from workflows import inputs
from workflows.attachments import MAX_ENTRY_FILES, check_count

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


#: The table each kind of subject with a hash chain is kept in.
TABLES = {
    "entry": "opportunity_entries",
    "list": "opportunity_lists",
    "introduction": "introductions",
}
#: A step on a subject's chain: its action, the status it leaves (None: the first step) and
#: the status it reaches.
Move = tuple[str, str | None, str]
Data = Mapping[str, Any] | None


@dataclass(slots=True)
class Chains:
    """What one command writes, by one actor at one time: subjects' rows inserted or updated,
    each with the next event of its hash chain (and, beside them in ``rows``, the notices)."""

    actor: str
    now: datetime
    rows: Rows = field(default_factory=Rows)

    def start(
        self,
        subject: str,
        values: Mapping[str, Any],
        *,
        action: str,
        to_status: str,
        reason: str | None = None,
        data: Data = None,
    ) -> Ref:
        """Insert a subject's row and the first event of its chain; the row's ref."""
        ref = self.rows.insert(TABLES[subject], **values)
        self._event(subject, ref, None, (action, None, to_status), reason, data)
        return ref

    def step(
        self,
        subject: str,
        row_id: int,
        values: Mapping[str, Any],
        *,
        head: Head,
        action: str,
        from_status: str,
        to_status: str,
        reason: str | None = None,
        data: Data = None,
    ) -> None:
        """Update a subject's row (unless ``values`` is empty) and append the next event of
        its chain (``head``: its last (seq, hash))."""
        if values:
            self.rows.update(TABLES[subject], row_id, **values)
        self._event(subject, row_id, head, (action, from_status, to_status), reason, data)

    def _event(
        self,
        subject: str,
        subject_id: int | Ref,
        head: Head,
        move: Move,
        reason: str | None,
        data: Data,
    ) -> None:
        seq, prev = (0, GENESIS) if head is None else head
        action, from_status, to_status = move
        row: Row = {
            "subject": subject,
            "subject_id": subject_id,
            "seq": seq + 1,
            "actor": self.actor,
            "action": action,
            "from_status": from_status,
            "to_status": to_status,
            "reason": reason,
            "data": dict(data or {}),
            "occurred_at": self.now,
            "prev_hash": prev,
        }
        if isinstance(subject_id, Ref):
            row["hash"] = ChainHash("", subject_id, "", row)
        else:
            row["hash"] = opp.event_hash(**{k: row[k] for k in opp.HASHED})
        self.rows.insert("opportunity_events", **row)


@dataclass(slots=True)
class Party:
    """The space (and firm) an entry belongs to, as its notices and list items quote them."""

    space: Row  # id, code, name
    firm: FirmRow | None
    industries: Mapping[str, str]  # code -> Chinese label


@dataclass(frozen=True, slots=True)
class Filed:
    """An entry as an operator's or its firm's decision on it reads it: its row, its space
    and firm, and the last (seq, hash) of its chain."""

    row: Row
    party: Party
    head: Head


def notice(
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
            space_id=party.space["id"],
        ),
    )


def next_seq(head: Head) -> int:
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


#: What a new entry starts as, besides its fields (a phone number is optional) and who sent it.
NEW_ENTRY: Row = {
    "status": opp.SUBMITTED,
    "return_reason": None,
    "list_id": None,
    "position": None,
    "contact_phone": None,
}


#: The texts of an entry or a list that are one line: held to the rules of a name (no control
#: character, line break or emoji), as a firm's or a person's name is — they are shown on the
#: public list, where a right-to-left override (U+202E) would disguise them.
ONE_LINE = frozenset({"title", "contact_name", "list_title"})


def check_text(name: str, value: str | None, *, optional: bool = False) -> str | None:
    """An entry's or a list's text: its length (:data:`lifecycle.opportunities.LIMITS`), then
    its characters — a one-line text as a name (:func:`workflows.inputs.check_name`), a longer
    one as a free text (:func:`workflows.inputs.check_text`: line breaks kept)."""
    text = opp.check_text(name, value, optional=optional)
    if text is None:
        return None
    limit = opp.LIMITS[name][1]
    if name in ONE_LINE:
        return inputs.check_name(name, text, limit=limit)
    return inputs.check_text(name, text, limit=limit)


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
            out[name] = check_text(name, value)
    return out


def submit(
    party: Party,
    given: Mapping[str, Any],
    *,
    kind: str,
    actor: str,
    now: datetime,
    today: date,
    attachments: Sequence[Mapping[str, Any]] = (),
) -> tuple[Rows, Ref]:
    """A new entry, ``submitted``, and its first event (recording the files it carries)."""
    check_count(len(attachments), MAX_ENTRY_FILES)
    values = checked_fields(given, party.industries, today)
    missing = [n for n in ENTRY_FIELDS if n not in values and n not in ("contact_phone",)]
    if missing:
        raise InvalidInput(missing[0], "不能为空 / must not be empty")
    chains = Chains(actor, now)
    ref = chains.start(
        "entry",
        {
            "space_id": party.space["id"],
            "firm_id": None if party.firm is None else party.firm.id,
            "kind": opp.kind_of(kind),
            **NEW_ENTRY,
            "submitted_by": actor,
            "created_at": now,
            "updated_at": now,
            **values,
        },
        action="submit",
        to_status=opp.SUBMITTED,
        data={
            "kind": opp.kind_of(kind),
            "space": party.space["code"],
            **({"attachments": list(attachments)} if attachments else {}),
        },
    )
    return chains.rows, ref


def edit(
    entry: Filed,
    given: Mapping[str, Any],
    *,
    by_firm: bool,
    actor: str,
    reason: str | None,
    now: datetime,
    today: date,
) -> tuple[Rows, dict[str, list[Any]]]:
    """The entry's changed fields (a returned entry its firm edits is submitted again)."""
    row = entry.row
    status = row["status"]
    editable = frozenset({opp.SUBMITTED, opp.RETURNED}) if by_firm else opp.EDITABLE
    opp.require_status("opportunity_entry", row["id"], status, editable, "edit")
    values = checked_fields(
        {k: v for k, v in given.items() if v is not None}, entry.party.industries, today
    )
    changes = {
        name: [_shown(row[name]), _shown(value)]
        for name, value in values.items()
        if row[name] != value
    }
    resubmitted = status == opp.RETURNED
    if not changes and not resubmitted:
        raise InvalidInput("changes", "没有要修改的内容 / nothing to change")
    to_status = opp.SUBMITTED if resubmitted else status
    chains = Chains(actor, now)
    chains.step(
        "entry",
        row["id"],
        {**{k: values[k] for k in changes}, "status": to_status, "updated_at": now},
        head=entry.head,
        action="resubmit" if resubmitted else "edit",
        from_status=status,
        to_status=to_status,
        reason=reason,
        data={"changes": changes},
    )
    return chains.rows, changes


def attach(
    entry: Row,
    files: Sequence[Mapping[str, Any]],
    *,
    carried: Collection[str],
    by_firm: bool,
    head: Head,
    actor: str,
    now: datetime,
) -> Rows:
    """More files for an entry (``carried``: the SHA-256 of those it has; a file sent again is
    still one file), while its content may still change: by its firm until it is accepted, by
    staff until it is on a list. The event records each file's name, type, size and SHA-256."""
    status = entry["status"]
    editable = frozenset({opp.SUBMITTED, opp.RETURNED}) if by_firm else opp.EDITABLE
    opp.require_status("opportunity_entry", entry["id"], status, editable, "attach")
    if not files:
        raise InvalidInput("attachments", "请选择要上传的文件 / choose a file to upload")
    check_count(len(set(carried) | {str(f["sha256"]) for f in files}), MAX_ENTRY_FILES)
    chains = Chains(actor, now)
    chains.step(
        "entry",
        entry["id"],
        {"updated_at": now},
        head=head,
        action="attach",
        from_status=status,
        to_status=status,
        data={"attachments": list(files)},
    )
    return chains.rows


def _shown(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


#: An operator's verdicts on an entry: the status each leads to and the firm's notice.
VERDICTS = {
    "return": (opp.RETURNED, "opportunity_returned"),
    "accept": (opp.ACCEPTED, "opportunity_accepted"),
}


def review_entry(
    entry: Filed,
    verdict: str,
    *,
    actor: str,
    reason: str | None,
    now: datetime,
    today: date,
) -> Rows:
    """An operator's verdict on an entry, its firm told: ``return`` sends it back to its
    submitter with the reason (required); ``accept`` lets it wait for the next list."""
    row = entry.row
    context: Mapping[str, Any] | None = None
    if verdict == "return":
        opp.require_status("opportunity_entry", row["id"], row["status"], opp.RETURNABLE, "return")
        reason = check_text("reason", reason)
        context = {"reason": reason}
    else:
        opp.require_status(
            "opportunity_entry", row["id"], row["status"], frozenset({opp.SUBMITTED}), "accept"
        )
        if row["valid_until"] <= today:
            raise InvalidInput(
                "valid_until",
                "已过有效期，须先修改有效期 / expired: edit its validity first",
                row["valid_until"].isoformat(),
            )
    to_status, message = VERDICTS[verdict]
    chains = Chains(actor, now)
    chains.step(
        "entry",
        row["id"],
        {
            "status": to_status,
            "return_reason": reason if verdict == "return" else None,
            "updated_at": now,
        },
        head=entry.head,
        action=verdict,
        from_status=row["status"],
        to_status=to_status,
        reason=reason,
    )
    seq = next_seq(entry.head)
    notice(chains.rows, message, row, entry.party, seq=seq, now=now, today=today, context=context)
    return chains.rows
