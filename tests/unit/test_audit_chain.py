"""Hash chain and fold: random trigger sequences never reach an illegal state, and folding the
chained events always reproduces the state; any tampering is reported."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lifecycle.audit import (
    GENESIS,
    canonical_json,
    event_hash,
    fold,
    plain_canonical_json,
    verify_chain,
)
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


# ---- the hashed serialization ------------------------------------------------------------------


def _stdlib(value: Any) -> bytes:
    """The definition the stored hashes were made with."""
    return json.dumps(
        value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str
    ).encode()


_NUMBERS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([1e-05, -3.2e-05, 0.0001, 0.00012, 1e-07, 1e16, 1.5e16, 1e15, -0.0, 5e-324]),
)
_TEXT = st.one_of(st.text(), st.sampled_from(["1e5", ":1e5", ",0.00001", "R&D 投入", '\x00\n"\\']))
_JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), _NUMBERS, _TEXT),
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(_TEXT, inner, max_size=5)),
    max_leaves=30,
)


@settings(max_examples=400)
@given(_JSON)
def test_the_hashed_serialization_is_the_standard_librarys_byte_for_byte(value: Any) -> None:
    assert canonical_json(value) == _stdlib(value)


def test_values_orjson_would_write_differently_take_the_standard_librarys_way() -> None:
    @dataclass
    class Point:
        x: int

    odd = {
        "when": datetime(2026, 1, 5, tzinfo=UTC),
        "tags": {"a"},
        "p": Point(1),
        "n": 2**80,
        "tiny": 0.00001,
        "big": 1e17,
        "keys": {1: "one"},
    }
    for key, value in odd.items():
        assert canonical_json({key: value}) == _stdlib({key: value}), key


@pytest.mark.parametrize("hyphens", [0, 3, 7, 8, 9, 40])
@pytest.mark.parametrize("number", [1e-7, -2.5e-12, 1e16, 3.25e300, 0.00001])
def test_an_exponent_after_many_dates_is_still_found(hyphens: int, number: float) -> None:
    # Dates put hyphens in the text; past a few of them the search changes its way.
    value = {"days": ["2025-03-31"] * (hyphens // 2) + ["x-y"] * (hyphens % 2), "n": number}
    assert canonical_json(value) == _stdlib(value)


def test_an_event_hash_is_the_sha256_of_the_standard_serialization() -> None:
    at = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    data = {"period": 2025, "score": 61.25, "ratio": 0.00004, "trace": {"steps": ["营收", 1e-7]}}
    digest = event_hash(
        prev_hash=GENESIS,
        tenancy_id=7,
        seq=3,
        actor="ops",
        trigger="pass_review",
        from_state="under_review",
        to_state="resident",
        reason=None,
        data=data,
        rulebook_version="abc",
        occurred_at=at,
    )
    body = [
        GENESIS,
        7,
        3,
        "ops",
        "pass_review",
        "under_review",
        "resident",
        None,
        data,
        "abc",
        "2026-03-02T09:30:00.000000",
    ]
    assert digest == hashlib.sha256(_stdlib(body)).hexdigest()


@settings(max_examples=200)
@given(_JSON.filter(lambda v: isinstance(v, dict)) | st.dictionaries(_TEXT, _JSON, max_size=4))
def test_a_hash_over_data_serialized_once_is_the_hash_over_the_data(data: dict[str, Any]) -> None:
    fields = {
        "prev_hash": GENESIS,
        "tenancy_id": 3,
        "seq": 1,
        "actor": "运营",
        "trigger": "apply",
        "from_state": None,
        "to_state": "applied",
        "reason": "首次申请",
        "rulebook_version": None,
        "occurred_at": datetime(2026, 1, 5, 8, tzinfo=UTC),
    }
    blob = plain_canonical_json(data)
    if blob is None:  # not plain, or a number only the standard library writes right
        assert canonical_json(data) == _stdlib(data) or not isinstance(data, dict)
        return
    assert blob == _stdlib(data)
    assert event_hash(data=None, data_json=blob, **fields) == event_hash(data=data, **fields)


def test_only_plain_json_data_is_serialized_once() -> None:
    plain = plain_canonical_json({"b": [1, 2.5, None], "a": "营收"})
    assert plain == '{"a":"营收","b":[1,2.5,null]}'.encode()
    for odd in (
        {"on": datetime(2026, 1, 5, tzinfo=UTC)},
        {1: "x"},
        {"n": 2**70},
        {"s": {1}},
        {"tiny": 0.00001},
    ):
        assert plain_canonical_json(odd) is None, odd
