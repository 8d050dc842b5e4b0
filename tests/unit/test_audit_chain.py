"""Hash chain and fold: random trigger sequences never reach an illegal state, and folding the
chained events always reproduces the state; any tampering is reported."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from lifecycle.audit import GENESIS, event_hash, fold, verify_chain
from lifecycle.errors import GuardFailed, TransitionNotAllowed
from lifecycle.machine import Facts, fire
from lifecycle.table import INITIAL, STATES, TRIGGERS

T0 = datetime(2024, 3, 4, 1, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Ev:
    tenancy_id: int
    seq: int
    actor: str
    trigger: str
    from_state: str | None
    to_state: str
    reason: str | None
    data: dict[str, Any]
    rulebook_version: str | None
    occurred_at: datetime
    prev_hash: str
    hash: str


def chain(steps: list[tuple[str, str | None, str]]) -> list[Ev]:
    events, prev = [], GENESIS
    for i, (trigger, before, after) in enumerate(steps, start=1):
        fields = dict(
            tenancy_id=1,
            seq=i,
            actor="op",
            trigger=trigger,
            from_state=before,
            to_state=after,
            reason=None,
            data={"i": i},
            rulebook_version="v1",
            occurred_at=T0 + timedelta(hours=i),
        )
        digest = event_hash(prev_hash=prev, **fields)  # type: ignore[arg-type]
        events.append(Ev(prev_hash=prev, hash=digest, **fields))  # type: ignore[arg-type]
        prev = digest
    return events


def run(triggers: list[str], units: bool, score: bool) -> tuple[str, list[Ev]]:
    facts = Facts(state=INITIAL, unit_count=int(units), score_passed=score)
    steps: list[tuple[str, str | None, str]] = [("apply", None, INITIAL)]
    for trigger in triggers:
        before = facts.state
        try:
            after = fire(facts, trigger)
        except (TransitionNotAllowed, GuardFailed):
            assert facts.state == before  # a refused trigger changes nothing
            continue
        steps.append((trigger, before, after))
    return facts.state, chain(steps)


@settings(max_examples=300, deadline=None, database=None)
@given(st.lists(st.sampled_from(TRIGGERS), max_size=40), st.booleans(), st.booleans())
def test_random_sequences_fold_back_to_the_state(
    triggers: list[str], units: bool, score: bool
) -> None:
    state, events = run(triggers, units, score)
    assert state in STATES
    assert fold(events) == state
    assert verify_chain(1, events, head=events[-1].hash, state=state) == []


@settings(max_examples=100, deadline=None, database=None)
@given(st.lists(st.sampled_from(TRIGGERS), min_size=8, max_size=40), st.data())
def test_any_single_tampering_is_reported(triggers: list[str], data: st.DataObject) -> None:
    state, events = run(triggers, True, True)
    if len(events) < 3:
        return
    i = data.draw(st.integers(min_value=0, max_value=len(events) - 1))
    kind = data.draw(st.sampled_from(["edit", "delete", "swap"]))
    tampered = list(events)
    if kind == "edit":
        tampered[i] = replace(events[i], reason="edited later")
    elif kind == "delete":
        del tampered[i]
    else:
        j = (i + 1) % len(events)
        tampered[i], tampered[j] = tampered[j], tampered[i]
    problems = verify_chain(1, tampered, head=events[-1].hash, state=state)
    assert problems, f"{kind} of event {i} went unnoticed"


def test_a_record_only_event_cannot_smuggle_a_state_change() -> None:
    events = chain([("apply", None, "applied"), ("note", "applied", "active")])
    problems = verify_chain(1, events, head=events[-1].hash, state="active")
    assert [p.kind for p in problems] == ["illegal_step"]
