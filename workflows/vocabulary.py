"""The words a person reads for the engine's codes, each vocabulary once: code → (中文, English).

Every page, export, notice list and command-line table names deadlines, exit types, review
consequences, handover items, forced-exit handling, messages and steps with these words, so a
firm or an operator sees one thing called by one name everywhere. The wording follows the
rulebook and the notices (``notifications/templates/zh-CN``): 陈述申辩, 腾退期限, 限期整改,
续租优先, 水电表读数. States are :data:`lifecycle.table.STATE_LABELS`; the names inside a
decision's trace are :mod:`workflows.trace_words`.

The words themselves are the packaged ``vocabulary.toml``, one table a vocabulary. A new
code without words there fails ``tests/unit/test_words_vocabulary.py``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from importlib import resources

from lifecycle.table import TRANSITIONS

Words = tuple[str, str]


def _tables() -> dict[str, dict[str, Words]]:
    """The packaged ``vocabulary.toml``: each table's code → (中文, English), in its order."""
    text = resources.files("workflows").joinpath("vocabulary.toml").read_text("utf-8")
    found: dict[str, dict[str, Words]] = {}
    for name, table in tomllib.loads(text).items():
        for code, pair in table.items():
            if not (isinstance(pair, list) and len(pair) == 2):
                raise ValueError(f"vocabulary.toml: {name}.{code}: not [中文, English]")
        found[name] = {code: (zh, en) for code, (zh, en) in table.items()}
    return found


_TABLES = _tables()
#: Every kind of deadline the engine schedules (``deadlines.kind``).
DEADLINES = _TABLES["deadlines"]
#: How a tenancy leaves (``exit_cases.exit_type``).
EXIT_TYPES = _TABLES["exit_types"]
#: Where an exit case stands (``exit_cases.status``).
EXIT_STATUS = _TABLES["exit_status"]
#: What an annual review's grade leads to under the rulebook.
CONSEQUENCES = _TABLES["consequences"]
#: What an operator decides on a review (the rulebook's consequence may be overridden).
OUTCOMES = _TABLES["outcomes"]
#: The items of the joint handover when a firm leaves.
HANDOVER = _TABLES["handover"]
#: How a forced-exit trigger of the rulebook is handled.
HANDLING = _TABLES["handling"]
#: The rulebook's periods (``[periods]``), as its pages and a decision's trace name them.
PERIODS = _TABLES["periods"]
#: How much of a firm's benefits an exit claws back (the rulebook's ``clawback``).
CLAWBACK = _TABLES["clawback"]
#: How the rulebook's grade cap rounds the number of firms it allows.
ROUNDING = _TABLES["rounding"]
#: The kinds of preferential benefit a firm is granted (clawed back on some exits).
BENEFITS = _TABLES["benefits"]
#: The kinds of objection a firm or a third party lodges.
OBJECTION_KINDS = _TABLES["objection_kinds"]
#: Every message of :data:`notifications.catalog.CATALOG`, as a list of notices names it.
MESSAGES = _TABLES["messages"]
#: Where a firm's annual review stands (``reviews.status``).
REVIEW_STATUS = _TABLES["review_status"]
#: An account's role.
ROLES = _TABLES["roles"]
#: Whether an account may sign in.
ACCOUNT_STATUS = _TABLES["account_status"]
#: Who a notice is for (``notifications.catalog.AUDIENCES``).
AUDIENCES = _TABLES["audiences"]
#: The parts of a message template.
PARTS = _TABLES["parts"]
#: The languages a message template is written in.
LOCALES = _TABLES["locales"]
#: Where a notice in the outbox stands.
OUTBOX_STATUS = _TABLES["outbox_status"]
#: A deadline's status.
DEADLINE_STATUS = _TABLES["deadline_status"]
#: A unit's kind.
UNIT_KINDS = _TABLES["unit_kinds"]
#: Units as a person reads them (a form field's unit, :mod:`workflows.forms`).
UNITS = _TABLES["units"]
#: Facts of an event shown with a name on a tenancy's page (others are left to the trace).
FACTS = _TABLES["facts"]
#: What a step is called, by its audit trigger: the table's transitions and the steps that
#: record without changing the state.
STEPS: dict[str, Words] = {
    **{t.trigger: (t.label_zh, t.label_en) for t in TRANSITIONS},
    **_TABLES["steps"],
}
#: The steps of an application: an objection lodged there is one to the public notice.
APPLICATION_STEPS: dict[str, Words] = {**STEPS, **_TABLES["application_steps"]}
#: The steps of an exit case: an objection lodged there is the firm's statement and defence.
EXIT_STEPS: dict[str, Words] = {**STEPS, **_TABLES["exit_steps"]}


def words(table: Mapping[str, Words], code: str | None) -> Words:
    """The words for ``code`` in ``table`` (the code itself when the table does not know it;
    a dash for no code)."""
    if code is None:
        return ("—", "—")
    return table.get(code, (code, code))
