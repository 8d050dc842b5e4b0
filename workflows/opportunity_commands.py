"""Commands of the city opportunity lists (城市机会清单) and of the land ledger.

``as_firm``: the firm of the firm account that sends the command (None: staff, the CLI). A
firm account may submit and edit only its own firm's entries; the handler refuses the rest
(another firm's entry is "not found", as the API never confirms it exists).

``as_spaces``: the spaces granted to the account that sends the command (None: every space —
an admin, the CLI). An account may publish only a list all of whose entries are of its
spaces: it was not shown the others, so it cannot vouch for them.
"""

from __future__ import annotations

from datetime import date

from workflows.attachments import Attachment
from workflows.commands import Command, Frozen


# ---- entries ----------------------------------------------------------------------------------
class EntryKey(Frozen):
    """The field that names an entry, first in the commands on one."""

    entry_id: int


class SubmitEntry(Command):
    space: str  # space code
    firm: str | None = None  # firm id or 统一社会信用代码; None: the space's own entry
    kind: str  # need (新场景) | supply (新产品)
    title: str
    description: str
    field: str  # industry code (or its Chinese name) of the space's rulebook
    sought: str  # what is sought (need) or offered (supply)
    contact_name: str
    valid_until: date
    contact_phone: str | None = None
    contact_public: bool = False
    as_firm: int | None = None
    #: Files already checked and stored by the entry point (``workflows.attachments``).
    attachments: tuple[Attachment, ...] = ()


class EditEntry(EntryKey, Command):
    title: str | None = None
    description: str | None = None
    field: str | None = None
    sought: str | None = None
    contact_name: str | None = None
    contact_phone: str | None = None
    contact_public: bool | None = None
    valid_until: date | None = None
    as_firm: int | None = None


class AttachToEntry(EntryKey, Command):
    """More files for an entry whose content may still change (stored by the entry point)."""

    attachments: tuple[Attachment, ...]
    as_firm: int | None = None


class ReturnEntry(EntryKey, Command):
    """Send an entry back to its submitter with the reason (the command's ``reason``, here
    required)."""


class AcceptEntry(EntryKey, Command):
    """Accept an entry: it waits for the next numbered list."""


# ---- numbered lists ---------------------------------------------------------------------------
class CreateList(Command):
    title: str
    number: int | None = None  # None: one more than the last list's


class ArrangeList(Command):
    """The draft list's entries, in order: entries left out go back to waiting."""

    number: int
    entry_ids: tuple[int, ...]


class PublishList(Command):
    number: int
    as_spaces: frozenset[int] | None = None


# ---- matching ---------------------------------------------------------------------------------
class Introduce(Command):
    need_id: int
    supply_id: int
    note: str | None = None


class RecordOutcome(Command):
    introduction_id: int
    outcome: str  # contacted | in_talks | deal | closed
    note: str | None = None


# ---- land -------------------------------------------------------------------------------------
class AddParcel(Command):
    space: str
    parcel_code: str
    land_use: str  # M0 | M1 | M2 | M4 | B1 | B2 | ...
    land_area_m2: float
    floor_area_m2: float
    plot_ratio: float | None = None  # None: floor area / land area


class EditParcel(Command):
    parcel_code: str
    land_use: str | None = None
    land_area_m2: float | None = None
    floor_area_m2: float | None = None
    plot_ratio: float | None = None
