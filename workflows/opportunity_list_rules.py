"""What a numbered list (第N期) or an introduction command writes, decided from what its
handler loaded (no I/O here): a draft created, arranged and published (frozen: its content
kept and hashed, the hash in the list's event), a need introduced to a supply and how it
went. The entries' own steps, the chains and the notices are :mod:`workflows.opportunity_rules`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from db.effects import Ref, Rows
from lifecycle import opportunities as opp
from lifecycle.errors import Conflict, InvalidInput
from workflows.opportunity_rules import Chains, Head, Party, Row, check_text, next_seq, notice


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
    text = check_text("list_title", title)
    chains = Chains(actor, now)
    chains.start(
        "list",
        {
            "number": n,
            "title": text,
            "status": opp.DRAFT,
            "content": {},
            "content_hash": None,
            "created_by": actor,
            "created_at": now,
            "published_at": None,
        },
        action="create",
        to_status=opp.DRAFT,
        data={"number": n, "title": text},
    )
    return chains.rows, n


@dataclass(frozen=True, slots=True)
class Draft:
    """A numbered list as a decision on it reads it: its row, the entries on it, the last
    (seq, hash) of its own chain and of the chain of each entry the decision may step (those on
    it, and those about to join it)."""

    row: Row
    on_list: Sequence[Row]
    heads: Mapping[int, Head]
    head: Head

    def require_draft(self, action: str) -> None:
        if self.row["status"] != opp.DRAFT:
            number = self.row["number"]
            raise Conflict(
                f"第{number}期清单已发布，不能再修改 / list {number} is published and frozen: "
                f"cannot {action}",
                subject="opportunity_list",
                number=number,
            )


def arrange(
    draft: Draft,
    wanted: Sequence[int],
    found: Mapping[int, Row],
    *,
    actor: str,
    now: datetime,
    today: date,
) -> Rows:
    """The draft list's entries in the order given: new ones listed, ones left out waiting
    again (``accepted``), each step on the entry's chain; the order on the list's."""
    draft.require_draft("arrange")
    if len(set(wanted)) != len(wanted):
        raise InvalidInput(
            "entry_ids", "条目不能重复 / each entry once", ",".join(map(str, wanted))
        )
    if len(wanted) > opp.MAX_LIST_ITEMS:
        raise InvalidInput("entry_ids", f"最多 {opp.MAX_LIST_ITEMS} 条 / at most that many")
    current = {e["id"] for e in draft.on_list}
    chains = Chains(actor, now)
    for position, entry_id in enumerate(wanted, start=1):
        entry = found.get(entry_id)
        if entry is None:
            raise InvalidInput(
                "entry_ids", f"条目 {entry_id} 不存在 / no entry {entry_id}", entry_id
            )
        if entry_id in current:
            chains.rows.update("opportunity_entries", entry_id, position=position, updated_at=now)
            continue
        opp.require_status(
            "opportunity_entry", entry_id, entry["status"], frozenset({opp.ACCEPTED}), "list"
        )
        if entry["valid_until"] <= today:
            raise InvalidInput(
                "entry_ids", f"条目 {entry_id} 已过有效期 / entry {entry_id} has expired", entry_id
            )
        chains.step(
            "entry",
            entry_id,
            {
                "status": opp.LISTED,
                "list_id": draft.row["id"],
                "position": position,
                "updated_at": now,
            },
            head=draft.heads.get(entry_id),
            action="list",
            from_status=opp.ACCEPTED,
            to_status=opp.LISTED,
            data={"list": draft.row["number"]},
        )
    for entry in draft.on_list:
        if entry["id"] in wanted:
            continue
        chains.step(
            "entry",
            entry["id"],
            {"status": opp.ACCEPTED, "list_id": None, "position": None, "updated_at": now},
            head=draft.heads.get(entry["id"]),
            action="unlist",
            from_status=opp.LISTED,
            to_status=opp.ACCEPTED,
            data={"list": draft.row["number"]},
        )
    chains.step(
        "list",
        draft.row["id"],
        {},  # the order is the entries' positions: the list's row stays as it is
        head=draft.head,
        action="arrange",
        from_status=opp.DRAFT,
        to_status=opp.DRAFT,
        data={"entries": list(wanted)},
    )
    return chains.rows


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
    draft: Draft,
    parties: Mapping[int, Party],
    *,
    spaces: Collection[int] | None,
    actor: str,
    now: datetime,
    today: date,
) -> tuple[Rows, str]:
    """The list published and frozen: its content kept and hashed (the hash in the list's
    event), its entries ``published``, each firm told. ``spaces``: those granted to the
    account that publishes (None: every space); a list holding an entry of another space is
    refused (:func:`lifecycle.opportunities.outside_grant`)."""
    draft.require_draft("publish")
    if spaces is not None:
        outside = [e for e in draft.on_list if e["space_id"] not in spaces]
        if outside:
            raise opp.outside_grant(draft.row["number"], len(outside))
    if not draft.on_list:
        raise InvalidInput(
            "entries", "清单为空，不能发布 / the list has no entries: nothing to publish"
        )
    entries = sorted(draft.on_list, key=lambda e: e["position"])
    content = {
        "number": draft.row["number"],
        "title": draft.row["title"],
        "published_on": today.isoformat(),
        "items": [list_item(e, n, parties[e["id"]]) for n, e in enumerate(entries, start=1)],
    }
    digest = opp.content_hash(content)
    chains = Chains(actor, now)
    chains.step(
        "list",
        draft.row["id"],
        {
            "status": opp.LIST_PUBLISHED,
            "content": content,
            "content_hash": digest,
            "published_at": now,
        },
        head=draft.head,
        action="publish",
        from_status=opp.DRAFT,
        to_status=opp.LIST_PUBLISHED,
        data={"content_hash": digest, "entries": [e["id"] for e in entries]},
    )
    for n, entry in enumerate(entries, start=1):
        head = draft.heads.get(entry["id"])
        chains.step(
            "entry",
            entry["id"],
            {"status": opp.PUBLISHED, "updated_at": now},
            head=head,
            action="publish",
            from_status=opp.LISTED,
            to_status=opp.PUBLISHED,
            data={"list": draft.row["number"], "n": n, "content_hash": digest},
        )
        notice(
            chains.rows,
            "opportunity_published",
            entry,
            parties[entry["id"]],
            seq=next_seq(head),
            now=now,
            today=today,
            context={"list": {"number": draft.row["number"], "title": draft.row["title"], "n": n}},
        )
    return chains.rows, digest


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
    text = check_text("note", note, optional=True)
    chains = Chains(actor, now)
    ref = chains.start(
        "introduction",
        {
            "need_id": need["id"],
            "supply_id": supply["id"],
            "outcome": "introduced",
            "note": text,
            "created_by": actor,
            "created_at": now,
            "updated_at": now,
        },
        action="introduce",
        to_status="introduced",
        data={"need": need["id"], "supply": supply["id"]},
        reason=text,
    )
    return chains.rows, ref


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
    text = check_text("note", note, optional=True)
    chains = Chains(actor, now)
    chains.step(
        "introduction",
        intro["id"],
        {"outcome": outcome, "note": text or intro["note"], "updated_at": now},
        head=head,
        action="outcome",
        from_status=intro["outcome"],
        to_status=outcome,
        reason=text,
    )
    return chains.rows
