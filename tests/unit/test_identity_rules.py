"""Identity without a database: password rules, lockout and throttle arithmetic, token
hashing, what a principal may see and how it is named in the audit log."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from lifecycle.errors import InvalidInput
from workflows import credentials as cr
from workflows import identity as i

NOW = datetime(2024, 3, 4, 1, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("password", "username", "rule"),
    [
        ("short", "wang", "至少 12"),
        ("x" * 11, "wang", "至少 12"),
        ("wang.fang.2024", "Wang.Fang.2024", "用户名"),
        (" " * 12, "wang", "空白"),
        ("x" * (cr.MAX_PASSWORD_CHARS + 1), "wang", "不得超过"),
        ("twelve chars\x00", "wang", "NUL"),
    ],
)
def test_a_password_breaking_a_rule_is_refused_naming_it(
    password: str, username: str, rule: str
) -> None:
    with pytest.raises(InvalidInput) as err:
        cr.check_password(password, username)
    assert err.value.field == "password" and rule in err.value.rule
    assert password not in err.value.message or len(password) < 12  # never echoed back


def test_twelve_characters_other_than_the_user_name_are_accepted() -> None:
    assert cr.check_password("x" * 12, "wang") == "x" * 12
    assert cr.check_password("长城长城长城长城长城长城", "wang")


def test_a_password_hash_verifies_only_its_password(production_argon2: object) -> None:
    stored = cr.hash_password("correct horse battery")
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    assert "$m=65536,t=3,p=4$" in stored  # argon2-cffi's defaults, not the tests' cheap ones
    assert cr.verify_password(stored, "correct horse battery")
    assert not cr.verify_password(stored, "correct horse battery!")
    assert not cr.verify_password(None, "correct horse battery")
    assert not cr.verify_password("not a hash", "correct horse battery")
    assert not cr.needs_rehash(stored)


def test_tokens_are_random_and_stored_as_their_sha256() -> None:
    a, b = cr.new_token(cr.TOKEN_PREFIX), cr.new_token(cr.TOKEN_PREFIX)
    assert a != b and a.startswith("isp_") and len(a) == 4 + 43
    assert cr.digest(a) == hashlib.sha256(a.encode()).hexdigest()
    assert len(cr.digest(a)) == 64 and a not in cr.digest(a)


def test_the_fifth_failure_from_an_address_locks_it_for_fifteen_minutes() -> None:
    failures: list[tuple[str, datetime]] = []
    for _ in range(1, cr.MAX_FAILURES):
        failures.append(("10.0.0.1", NOW))
        assert cr.lockout_after(failures, "10.0.0.1", {}, NOW) is None
    failures.append(("10.0.0.1", NOW))
    locked = cr.lockout_after(failures, "10.0.0.1", {}, NOW)
    assert locked == cr.Lockout("10.0.0.1", 5, NOW + timedelta(minutes=15))
    assert cr.seconds_until(locked.until, NOW) == 900
    assert cr.seconds_until(locked.until, locked.until - timedelta(milliseconds=1)) == 1
    # Failures from other addresses are not this address's; after its lockout, it starts again.
    others = [(f"10.0.1.{n}", NOW) for n in range(cr.MAX_FAILURES)]
    assert cr.lockout_after([*others, ("10.0.0.1", NOW)], "10.0.0.1", {}, NOW) is None
    later = NOW + timedelta(minutes=15)
    again = [*failures, ("10.0.0.1", later)]
    assert cr.lockout_after(again, "10.0.0.1", {"10.0.0.1": NOW}, later) is None


def test_only_failures_from_many_addresses_lock_every_address() -> None:
    """Each address counts at most MAX_FAILURES towards the ceiling: one address guessing
    for ever never reaches it; ten addresses at five each do, for an hour."""
    one = [("203.0.113.9", NOW)] * (cr.ACCOUNT_MAX_FAILURES * 2)
    locked = cr.lockout_after(one, "203.0.113.9", {}, NOW)
    assert locked is not None and locked.address == "203.0.113.9"
    many = [(f"198.51.100.{n // 5}", NOW) for n in range(cr.ACCOUNT_MAX_FAILURES - 5)]
    only_here = cr.lockout_after(many, "198.51.100.8", {}, NOW)  # nine addresses: 45
    assert only_here is not None and only_here.address == "198.51.100.8"
    many += [("198.51.100.9", NOW)] * 4
    assert cr.lockout_after(many, "198.51.100.9", {}, NOW) is None
    many.append(("198.51.100.9", NOW))
    everywhere = cr.lockout_after(many, "198.51.100.9", {}, NOW)
    assert everywhere == cr.Lockout(None, cr.ACCOUNT_MAX_FAILURES, NOW + timedelta(hours=1))
    assert cr.lockout_after(many, "198.51.100.9", {None: NOW}, NOW) is None  # counted anew


@pytest.mark.parametrize(
    ("address", "source"),
    [
        ("203.0.113.9", "203.0.113.9"),
        (" 203.0.113.9 ", "203.0.113.9"),
        ("2001:db8::1", "2001:db8::/64"),
        ("2001:DB8:0:0:ffff:ffff:ffff:ffff", "2001:db8::/64"),
        ("2001:db8:0:1::1", "2001:db8:0:1::/64"),
        ("fe80::1%eth0", "fe80::/64"),
        ("::ffff:203.0.113.9", "203.0.113.9"),  # an IPv4 client on a dual-stack socket
        ("testclient", "testclient"),  # not an IP address: as given
        ("", cr.UNKNOWN),
        ("  ", cr.UNKNOWN),
        (None, cr.UNKNOWN),
        ("unknown", cr.UNKNOWN),
    ],
)
def test_a_client_address_counts_as_its_source(address: str | None, source: str) -> None:
    assert cr.source_of(address) == source


def test_an_unknown_source_is_never_locked_though_its_failures_count() -> None:
    failures = [(cr.UNKNOWN, NOW)] * (cr.MAX_FAILURES * 3)
    assert cr.lockout_after(failures, cr.UNKNOWN, {}, NOW) is None
    many = [(f"198.51.100.{n // 5}", NOW) for n in range(cr.ACCOUNT_MAX_FAILURES - 5)]
    ceiling = cr.lockout_after([*many, *failures], cr.UNKNOWN, {}, NOW)
    assert ceiling is not None and ceiling.address is None  # it counts five towards it
    assert not cr.ceiling_holds(cr.UNKNOWN, ())


def test_the_ceiling_spares_the_sources_the_account_logged_in_from() -> None:
    known = {"10.0.0.1", "2001:db8::/64"}
    assert not cr.ceiling_holds("10.0.0.1", known)
    assert not cr.ceiling_holds("2001:db8::/64", known)
    assert cr.ceiling_holds("10.0.0.2", known)
    assert cr.ceiling_holds("2001:db8:0:1::/64", known)
    assert timedelta(days=30) == cr.KNOWN_WINDOW


def test_an_address_waits_until_its_twentieth_last_failure_leaves_the_window() -> None:
    times = [NOW - timedelta(minutes=9, seconds=30) + timedelta(seconds=s) for s in range(19)]
    assert cr.address_retry_after(times, NOW) is None
    times.append(NOW)
    assert cr.address_retry_after(times, NOW) == 30  # the oldest leaves in 30 s
    older = [NOW - timedelta(minutes=10)] * 5  # out of the window: not counted
    assert cr.address_retry_after(older + times[:-1], NOW) is None
    assert cr.address_retry_after(times * 2, NOW) == 30 + 10  # the 20th most recent


def principal(role: i.Role, spaces: frozenset[int] = frozenset()) -> i.Principal:
    return i.Principal(
        account_id=7,
        username="wang",
        display_name="王芳",
        role=role,
        space_ids=spaces,
        firm_id=3 if role == "firm" else None,
        via="session",
        seen_at=NOW,
    )


def test_what_each_role_may_see_of_spaces() -> None:
    assert principal("admin").may_see_space(99)
    assert principal("operator", frozenset({1})).may_see_space(1)
    assert not principal("operator", frozenset({1})).may_see_space(2)
    assert principal("viewer", frozenset({2})).may_see_space(2)
    assert not principal("firm").may_see_space(1)


def test_the_audit_log_names_the_account_and_the_cli_its_os_user() -> None:
    p = principal("operator")
    assert p.actor == "account:7 王芳"
    assert len(replace(p, display_name="名" * 200).actor) == i.ACTOR_MAX
    actor = i.cli_actor("王芳")
    assert actor.startswith("cli:") and actor.endswith(" 王芳") and " " not in actor[4:-3]
    with pytest.raises(InvalidInput, match="actor: 不得超过"):  # refused, never cut short
        i.cli_actor("x" * 300)
    assert len(i.cli_actor("x" * (i.ACTOR_MAX - len(actor) + 2))) == i.ACTOR_MAX
    assert i.actor_name(actor) == i.actor_name(p.actor) == "王芳"
    assert i.actor_name(i.cli_actor("")) == "" and i.actor_name("system") == "system"


def test_a_session_is_touched_at_most_once_a_minute() -> None:
    p = principal("operator")
    assert not i.needs_touch(p, NOW + timedelta(seconds=59))
    assert i.needs_touch(p, NOW + timedelta(minutes=1))


def test_roles_are_the_five_of_the_design() -> None:
    assert i.ROLES == ("admin", "operator", "reviewer", "firm", "viewer")
