"""One vocabulary: every code the engine writes that a person reads has words, once.

A new deadline kind, exit type, review consequence, handling, message or step without words in
:mod:`workflows.vocabulary` fails here, rather than showing its code on a page.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

import pytest

from lifecycle.rulebook.model import Periods
from lifecycle.rulebook.model_exit import EXIT_TYPES, Handling
from lifecycle.rulebook.model_review import Action
from lifecycle.table import TRANSITIONS
from notifications.catalog import ADVERSE_OUTCOMES, AUDIENCES, CATALOG
from notifications.formatting import CODE_LABELS
from workflows import answers, benefits, identity, vocabulary, windows
from workflows.applications import APPLICATION_DEADLINES
from workflows.correction_rules import TERM_DEADLINES
from workflows.exit_rules import HANDOVER_ITEMS
from workflows.residency_rules import RECTIFICATION_DEADLINES
from workflows.reviews import RESIDENCY_DEADLINES
from workflows.sweeps import ACTIONS, ACTS_IN

WORKFLOWS = Path(vocabulary.__file__).parent
SOURCES = sorted(WORKFLOWS.glob("*.py"))


def _written(pattern: str) -> set[str]:
    """The first string argument of every call ``pattern`` matches in ``workflows/``."""
    call = re.compile(pattern + r"\(\s*\"([a-z_]+)\"")
    return {m for p in SOURCES for m in call.findall(p.read_text("utf-8"))}


def test_every_deadline_kind_the_engine_schedules_has_words() -> None:
    scheduled = _written(r"\.deadline")
    assert scheduled, "no e.deadline(...) calls found: the pattern is stale"
    kinds = (
        scheduled
        | set(APPLICATION_DEADLINES)
        | set(RESIDENCY_DEADLINES)
        | set(RECTIFICATION_DEADLINES)
        | set(TERM_DEADLINES)
        | set(ACTIONS)
        | set(ACTS_IN)
    )
    assert sorted(kinds - set(vocabulary.DEADLINES)) == []


def test_every_exit_type_consequence_outcome_and_handling_has_words() -> None:
    assert set(EXIT_TYPES) == set(vocabulary.EXIT_TYPES)
    assert set(get_args(Action)) == set(vocabulary.CONSEQUENCES)
    assert set(get_args(Handling)) == set(vocabulary.HANDLING)
    assert set(ADVERSE_OUTCOMES) <= set(vocabulary.OUTCOMES)
    assert set(ADVERSE_OUTCOMES.values()) <= set(vocabulary.CONSEQUENCES)
    assert set(HANDOVER_ITEMS) == set(vocabulary.HANDOVER)


def test_every_role_and_rulebook_period_has_words() -> None:
    assert set(identity.ROLES) == set(vocabulary.ROLES)
    assert sorted(set(Periods.model_fields) - set(vocabulary.PERIODS)) == []


def test_every_message_in_the_catalog_and_its_audiences_have_words() -> None:
    assert sorted(set(CATALOG) - set(vocabulary.MESSAGES)) == []
    assert set(AUDIENCES) == set(vocabulary.AUDIENCES)


def test_every_step_has_words() -> None:
    triggers = {t.trigger for t in TRANSITIONS} | _written(r"\.record")
    triggers |= {answers.REQUEST_EXIT, benefits.TRIGGER, windows.WAIVE}
    for steps in (vocabulary.STEPS, vocabulary.APPLICATION_STEPS, vocabulary.EXIT_STEPS):
        assert sorted(triggers - set(steps)) == []


@pytest.mark.parametrize(
    "table",
    [
        vocabulary.DEADLINES,
        vocabulary.EXIT_TYPES,
        vocabulary.EXIT_STATUS,
        vocabulary.CONSEQUENCES,
        vocabulary.OUTCOMES,
        vocabulary.HANDOVER,
        vocabulary.HANDLING,
        vocabulary.OBJECTION_KINDS,
        vocabulary.MESSAGES,
        vocabulary.STEPS,
        vocabulary.REVIEW_STATUS,
        vocabulary.ROLES,
        vocabulary.ACCOUNT_STATUS,
        vocabulary.PERIODS,
        vocabulary.AUDIENCES,
        vocabulary.OUTBOX_STATUS,
        vocabulary.BENEFITS,
    ],
)
def test_each_code_has_chinese_and_english_and_no_two_codes_share_a_name(
    table: dict[str, tuple[str, str]],
) -> None:
    for code, (zh, en) in table.items():
        assert zh.strip() and en.strip(), code
        assert re.search(r"[\u4e00-\u9fff]", zh), code
    zh_names = [zh for zh, _ in table.values()]
    assert len(zh_names) == len(set(zh_names)), "two codes read alike"


def test_one_name_for_one_thing_across_vocabularies() -> None:
    """A deadline and the message that announces it read alike where they are the same
    moment; a consequence and the exit type it leads to share their name."""
    assert vocabulary.CONSEQUENCES["forced_exit"] == vocabulary.EXIT_TYPES["forced"]
    for kind in ("publicity_end", "graduation_publicity_end", "agreement_lapse_warning"):
        assert vocabulary.MESSAGES[kind] == vocabulary.DEADLINES[kind]
    assert vocabulary.MESSAGES["review_reminder"] == vocabulary.DEADLINES["review_reminder"]
    assert vocabulary.MESSAGES["term_expiry_warning"] == vocabulary.DEADLINES["term_expiry_warning"]


def test_notices_name_exit_types_and_consequences_as_the_pages_do() -> None:
    """The notices' labels live below the workflows (no import); they must read alike."""
    for table in (vocabulary.EXIT_TYPES, vocabulary.CONSEQUENCES):
        for code, pair in table.items():
            assert CODE_LABELS[code] == pair, code


def test_words_falls_back_to_the_code() -> None:
    assert vocabulary.words(vocabulary.EXIT_TYPES, "forced") == ("强制退出", "forced exit")
    assert vocabulary.words(vocabulary.EXIT_TYPES, "unknown") == ("unknown", "unknown")
    assert vocabulary.words(vocabulary.EXIT_TYPES, None) == ("—", "—")
