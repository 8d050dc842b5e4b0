"""The machine agrees, cell by cell, with the lifecycle table of DESIGN.md (transcribed here)."""

from __future__ import annotations

import pytest

from lifecycle.errors import GuardFailed, TransitionNotAllowed
from lifecycle.machine import Facts, fire
from lifecycle.table import STATES, TERMINAL, TRIGGERS, allowed_triggers

# DESIGN.md's lifecycle table, written out independently of lifecycle/table.py.
R = ("active", "under_review", "rectifying")
EXPECTED: dict[tuple[str, str], str] = {
    ("applied", "screen_in"): "evaluating",
    ("applied", "screen_out"): "rejected",
    ("applied", "request_info"): "info_requested",
    ("applied", "withdraw"): "withdrawn",
    ("info_requested", "resubmit"): "applied",
    ("info_requested", "lapse"): "withdrawn",
    ("info_requested", "withdraw"): "withdrawn",
    ("evaluating", "approve"): "publicity",
    ("evaluating", "reject"): "rejected",
    ("evaluating", "reject_without_panel"): "rejected",
    ("evaluating", "withdraw"): "withdrawn",
    ("publicity", "admit"): "admitted",
    ("publicity", "uphold_objection"): "rejected",
    ("publicity", "withdraw"): "withdrawn",
    ("admitted", "sign"): "active",
    ("admitted", "lapse"): "withdrawn",
    ("admitted", "withdraw"): "withdrawn",
    ("active", "open_review"): "under_review",
    ("under_review", "pass_review"): "active",
    ("under_review", "order_rectification"): "rectifying",
    ("under_review", "fail_review"): "exit_notice",
    ("rectifying", "pass_reinspection"): "active",
    ("rectifying", "fail_reinspection"): "exit_notice",
    **{(s, "serve_exit_notice"): "exit_notice" for s in R},
    **{(s, "begin_exit"): "vacating" for s in R},
    **{(s, "confirm_graduation"): "graduation_publicity" for s in R},
    ("graduation_publicity", "graduate"): "vacating",
    ("exit_notice", "uphold_objection"): "active",
    ("exit_notice", "confirm_exit"): "vacating",
    ("vacating", "escalate_vacating"): "vacating",
    ("vacating", "hand_over"): "exited",
}


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("trigger", TRIGGERS)
def test_every_state_and_trigger_cell_matches_the_design_table(state: str, trigger: str) -> None:
    facts = Facts(state=state, unit_count=1, score_passed=True)
    expected = EXPECTED.get((state, trigger))
    if expected is None:
        with pytest.raises(TransitionNotAllowed) as err:
            fire(facts, trigger, tenancy_id=7)
        assert err.value.state == state and err.value.trigger == trigger
        assert facts.state == state
        assert set(err.value.allowed) == {t for (s, t) in EXPECTED if s == state}
    else:
        assert fire(facts, trigger, tenancy_id=7) == expected
        assert facts.state == expected


def test_terminal_states_accept_nothing() -> None:
    assert {"rejected", "withdrawn", "exited"} == TERMINAL
    for state in TERMINAL:
        assert allowed_triggers(state) == frozenset()


def test_signing_without_a_unit_is_refused_by_its_guard() -> None:
    facts = Facts(state="admitted", unit_count=0)
    with pytest.raises(GuardFailed, match="allocated unit"):
        fire(facts, "sign", tenancy_id=1)
    assert facts.state == "admitted"


def test_approval_needs_a_passing_score() -> None:
    facts = Facts(state="evaluating", score_passed=False)
    with pytest.raises(GuardFailed, match="pass line"):
        fire(facts, "approve")
    assert facts.state == "evaluating"


def test_the_error_names_the_state_and_the_allowed_triggers() -> None:
    with pytest.raises(TransitionNotAllowed) as err:
        fire(Facts(state="applied"), "hand_over", tenancy_id=12)
    message = str(err.value)
    assert "tenancy 12" in message and "'hand_over'" in message and "'applied'" in message
    assert "screen_in" in message and "withdraw" in message
