"""The one shared ``transitions`` machine, built from ``lifecycle.table``.

Why this shape (DESIGN.md decision 1): a ``Machine`` per row costs about a millisecond and
tens of KiB, and ``add_model`` on a SQLModel row fails, so there is exactly one machine, built
with ``model=None`` and ``auto_transitions=False``, and it is fired on a small plain object
(:class:`Facts`) that carries the state and what the guards need. The caller copies the new
state back into its record; persistence is the unit of work's business, never a callback's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from transitions import EventData, Machine

from lifecycle.errors import GuardFailed, TransitionNotAllowed
from lifecycle.table import STATES, TRANSITIONS, allowed_triggers, transition_for


@dataclass(slots=True)
class Facts:
    """What the machine sees of a tenancy: its state and the facts guards check."""

    state: str
    unit_count: int = 0
    score_passed: bool = False


@dataclass(frozen=True, slots=True)
class Guard:
    check: Callable[[Facts], bool]
    rule: str


GUARDS: dict[str, Guard] = {
    "has_units": Guard(
        lambda f: f.unit_count > 0,
        "signing needs at least one allocated unit (allocate with --unit)",
    ),
    "has_passing_score": Guard(
        lambda f: f.score_passed, "approval needs a recorded expert score at or above the pass line"
    ),
}


def _condition(guard: Guard) -> Callable[[EventData], bool]:
    def check(event: EventData) -> bool:
        model = event.model
        assert isinstance(model, Facts)
        return guard.check(model)

    return check


@cache
def shared_machine() -> Machine:
    """Build the machine once per process (lazily: no work at import time)."""
    transitions: list[dict[str, Any]] = []
    for t in TRANSITIONS:
        spec: dict[str, Any] = {"trigger": t.trigger, "source": list(t.sources), "dest": t.dest}
        if t.guard is not None:
            spec["conditions"] = [_condition(GUARDS[t.guard])]
        transitions.append(spec)
    return Machine(
        model=None,
        states=list(STATES),
        transitions=transitions,
        initial=None,
        auto_transitions=False,
        send_event=True,
    )


def fire(facts: Facts, trigger: str, *, tenancy_id: int | None = None) -> str:
    """Apply ``trigger`` to ``facts`` in place and return the new state.

    Raises :class:`TransitionNotAllowed` (naming the allowed triggers) when the table has no
    such transition from the current state, and :class:`GuardFailed` (naming the rule) when a
    guard refuses it.

    The machine is pure (no callbacks with effects), so its answer for the same facts and
    trigger is remembered: a batch firing one trigger on 100,000 tenancies asks it once.
    """
    after = _answer(facts.state, facts.unit_count, facts.score_passed, trigger)
    if after is None:
        transition = transition_for(facts.state, trigger)
        if transition is None:
            raise TransitionNotAllowed(
                tenancy_id, trigger, facts.state, allowed_triggers(facts.state)
            )
        assert transition.guard is not None  # only guarded transitions can refuse
        raise GuardFailed(tenancy_id, trigger, GUARDS[transition.guard].rule)
    facts.state = after
    return after


@lru_cache(maxsize=4096)
def _answer(state: str, unit_count: int, score_passed: bool, trigger: str) -> str | None:
    """The machine's new state for these facts, or None where it refuses."""
    if transition_for(state, trigger) is None:
        return None
    facts = Facts(state, unit_count, score_passed)
    if not shared_machine().events[trigger].trigger(facts):
        return None
    return facts.state
