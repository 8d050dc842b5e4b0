"""``workflows.identity.TokenCache``: how long an API token's principal is trusted without
the database, and what makes it forget one sooner."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from workflows import identity
from workflows.identity import Principal, TokenCache

NOW = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)
TOKEN = "isk_" + "a" * 43


def _principal(token_id: int = 1) -> Principal:
    return Principal(
        account_id=7,
        username="op",
        display_name="运营",
        role="operator",
        space_ids=frozenset({1}),
        firm_id=None,
        via="token",
        token_id=token_id,
        seen_at=NOW,
    )


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_a_principal_is_kept_for_the_ttl_and_no_longer() -> None:
    clock = Clock()
    cache = TokenCache(seconds=5.0, monotonic=clock)
    cache.put(TOKEN, _principal(), None, identity.principals_generation())
    assert cache.get(TOKEN, NOW) == _principal()
    clock.t += 4.9
    assert cache.get(TOKEN, NOW) == _principal()
    clock.t += 0.1
    assert cache.get(TOKEN, NOW) is None
    assert cache.get("isk_other", NOW) is None


def test_the_tokens_expiry_is_checked_on_every_get() -> None:
    cache = TokenCache(monotonic=Clock())
    cache.put(TOKEN, _principal(), NOW + timedelta(seconds=1), identity.principals_generation())
    assert cache.get(TOKEN, NOW) is not None
    assert cache.get(TOKEN, NOW + timedelta(seconds=1)) is None


def test_a_change_to_accounts_or_tokens_forgets_every_principal() -> None:
    cache = TokenCache(monotonic=Clock())
    cache.put(TOKEN, _principal(), None, identity.principals_generation())
    identity.principals_changed()
    assert cache.get(TOKEN, NOW) is None


def test_a_principal_read_before_a_change_is_not_kept() -> None:
    cache = TokenCache(monotonic=Clock())
    before = identity.principals_generation()
    identity.principals_changed()  # committed while the principal was being read
    cache.put(TOKEN, _principal(), None, before)
    assert cache.get(TOKEN, NOW) is None


def test_the_cache_is_bounded_and_makes_room_from_the_oldest() -> None:
    cache = TokenCache(size=2, monotonic=Clock())
    generation = identity.principals_generation()
    for n in range(3):
        cache.put(f"isk_{n}", _principal(n), None, generation)
    assert cache.get("isk_0", NOW) is None
    assert cache.get("isk_1", NOW) == _principal(1)
    assert cache.get("isk_2", NOW) == _principal(2)


def test_seen_moves_the_cached_principals_last_use() -> None:
    cache = TokenCache(monotonic=Clock())
    cache.put(TOKEN, _principal(), None, identity.principals_generation())
    later = NOW + timedelta(minutes=2)
    cache.seen(TOKEN, later)
    found = cache.get(TOKEN, later)
    assert found is not None and found.seen_at == later
    assert not identity.needs_touch(found, later)
