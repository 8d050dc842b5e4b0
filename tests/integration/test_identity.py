"""Accounts, logins, sessions and tokens through the service, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from db.tables import AuditEvent, LoginFailure, LoginLockout, OutboxMessage, User
from entrypoints.demo_data import good_profile
from lifecycle.clock import FixedClock
from lifecycle.errors import (
    AlreadyExists,
    InvalidInput,
    NotFound,
    TooManyAttempts,
    Unauthorized,
)
from workflows import commands as c
from workflows import credentials, logins
from workflows import identity as i
from workflows.service import Service

PASSWORD = "correct horse battery"
USCC = "91510115MA6CX1A2B2"


@pytest.fixture
def space(service: Service) -> str:
    service.handle(c.CreateSpace(code="MC3", name="成都医学城三医创新中心"))
    return "MC3"


def add(service: Service, name: str, role: str = "operator", **extra: object) -> int:
    user_id = service.handle(
        i.AddUser(
            username=name, display_name=f"{name} 显示名", role=role, password=PASSWORD, **extra
        )  # type: ignore[arg-type]
    )
    assert isinstance(user_id, int)
    return user_id


def login(
    service: Service, name: str, password: str = PASSWORD, address: str = "10.0.0.1"
) -> i.LoginResult:
    result = logins.log_in(service, i.Login(username=name, password=password, address=address))
    assert isinstance(result, i.LoginResult)
    return result


def test_a_user_logs_in_and_the_session_names_the_account(service: Service, space: str) -> None:
    user_id = add(service, "wang", space_codes=(space,))
    result = login(service, "wang")
    principal = service.query(i.principal_for_session, result.session_token)
    assert principal == result.principal
    assert principal.account_id == user_id and principal.role == "operator"
    assert principal.actor == f"account:{user_id} wang 显示名"
    assert principal.via == "session" and len(principal.space_ids) == 1
    assert principal.may_see_space(next(iter(principal.space_ids)))
    assert not principal.may_see_space(999)
    (view,) = service.query(i.list_users)
    assert view.last_login_at is not None and view.status == "active"
    assert view.spaces == (space,)


def test_a_wrong_password_and_an_unknown_user_are_refused_alike(service: Service) -> None:
    add(service, "wang")
    with pytest.raises(Unauthorized) as wrong:
        login(service, "wang", "not the password!")
    with pytest.raises(Unauthorized) as unknown:
        login(service, "nobody", PASSWORD)
    assert type(wrong.value) is type(unknown.value) is Unauthorized
    assert wrong.value.message == unknown.value.message
    with service.uow() as uow:  # both failures were kept although the commands failed
        assert uow.connection.execute(select(func.count()).select_from(LoginFailure)).scalar() == 2
        failed = uow.connection.execute(select(User.failed_logins)).scalar()
    assert failed == 1


def test_five_failures_lock_the_account_from_that_address_even_against_the_right_password(
    service: Service, clock: FixedClock
) -> None:
    add(service, "wang")
    for _ in range(credentials.MAX_FAILURES):
        with pytest.raises(Unauthorized) as err:
            login(service, "wang", "wrong password 1")
        assert not isinstance(err.value, TooManyAttempts)
    with pytest.raises(Unauthorized) as locked:  # as a wrong password is: no "locked" answer
        login(service, "wang")
    assert type(locked.value) is Unauthorized
    with service.uow() as uow:  # the lockout is recorded
        recorded = uow.connection.execute(
            select(LoginLockout.address, LoginLockout.failures, LoginLockout.locked_until)
        ).all()
    until = clock.now() + timedelta(minutes=credentials.LOCK_MINUTES)
    assert recorded == [("10.0.0.1", credentials.MAX_FAILURES, until)]
    clock.advance(timedelta(minutes=credentials.LOCK_MINUTES))
    assert login(service, "wang").principal.username == "wang"


def test_an_attacker_failing_from_one_address_does_not_keep_the_owner_out(
    service: Service, clock: FixedClock
) -> None:
    """Whoever knows a user name and guesses from their address locks only that address out
    of the account — for as long as they keep guessing — never its owner, elsewhere."""
    add(service, "wang")
    attacker = "203.0.113.9"
    for _ in range(6):  # an hour and a half of guessing, five at a time
        for _ in range(credentials.MAX_FAILURES + 2):
            with pytest.raises(Unauthorized):
                login(service, "wang", "wrong password 1", address=attacker)
        with pytest.raises(Unauthorized):  # the attacker is locked out, even with the password
            login(service, "wang", address=attacker)
        assert login(service, "wang", address="10.0.0.1").principal.username == "wang"
        clock.advance(timedelta(minutes=credentials.LOCK_MINUTES))
    (view,) = service.query(i.list_users)
    assert view.status == "active" and view.locked_until is None
    with service.uow() as uow:
        lockouts = uow.connection.execute(select(LoginLockout.address)).scalars().all()
    assert lockouts == [attacker] * 6


def test_a_distributed_attack_past_the_ceiling_locks_every_address_but_the_owners(
    service: Service, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    """Past the ceiling the account is locked from every address but those it logged in
    from within 30 days (the owner's usual ones), and the admins are told."""
    add(service, "wang")
    addresses = [f"198.51.100.{n}" for n in range(100)]
    tried = 0
    for address in addresses:  # five each, the most an address counts
        for _ in range(credentials.MAX_FAILURES):
            with pytest.raises(Unauthorized):
                login(service, "wang", "wrong password 1", address=address)
            tried += 1
        if tried >= credentials.ACCOUNT_MAX_FAILURES:
            break
        assert login(service, "wang", address="10.0.0.1").principal.username == "wang"
    with pytest.raises(Unauthorized) as locked:  # a new address: as a wrong password is
        login(service, "wang", address="10.0.0.2")
    assert type(locked.value) is Unauthorized
    # The owner's usual address is spared, though the ceiling holds every other one.
    assert login(service, "wang", address="10.0.0.1").principal.username == "wang"
    (view,) = service.query(i.list_users)
    until = clock.now() + timedelta(minutes=credentials.ACCOUNT_LOCK_MINUTES)
    assert view.status == "locked" and view.locked_until == until
    with service.uow() as uow:
        lockouts = uow.connection.execute(
            select(LoginLockout.address, LoginLockout.failures).order_by(LoginLockout.id)
        ).all()
        notices = uow.connection.execute(
            select(
                OutboxMessage.message,
                OutboxMessage.audience,
                OutboxMessage.space_id,
                OutboxMessage.context,
            )
        ).all()
    per_address = credentials.ACCOUNT_MAX_FAILURES // credentials.MAX_FAILURES
    assert lockouts[-1] == (None, credentials.ACCOUNT_MAX_FAILURES)
    assert len(lockouts) == per_address  # each address's own, the last one's the ceiling
    assert "locked from every address" in caplog.text
    # The admins are told: a notice to the operators about no space (shown to admins only).
    [(message, audience, space_id, context)] = notices
    assert (message, audience, space_id) == ("operator_digest", "operators", None)
    [item] = context["items"]
    assert item["title"].startswith("账户 wang 一小时内自 10 个地址登录失败 50 次")
    assert "innospace user unlock wang" in item["title"] and " / account wang" in item["title"]
    clock.advance(timedelta(minutes=credentials.ACCOUNT_LOCK_MINUTES))
    assert login(service, "wang", address="10.0.0.2").principal.username == "wang"


def test_the_ceiling_spares_only_addresses_logged_in_from_within_30_days(
    service: Service, clock: FixedClock
) -> None:
    add(service, "wang")
    login(service, "wang", address="10.0.0.1")
    login(service, "wang", address="2001:db8:0:7::1")
    clock.advance(credentials.KNOWN_WINDOW - timedelta(minutes=1))
    login(service, "wang", address="10.0.0.3")
    clock.advance(timedelta(minutes=2))  # 10.0.0.1 and 2001:db8:0:7::/64 are 30 days old now
    for n in range(credentials.ACCOUNT_MAX_FAILURES):
        with pytest.raises(Unauthorized):
            login(service, "wang", "wrong password 1", address=f"198.51.100.{n // 5}")
    for stale in ("10.0.0.1", "2001:db8:0:7::2"):
        with pytest.raises(Unauthorized):
            login(service, "wang", address=stale)
    assert login(service, "wang", address="10.0.0.3").principal.username == "wang"


def test_the_addresses_of_one_ipv6_64_count_as_one(service: Service) -> None:
    """One host is commonly given a whole /64: its addresses are one source, so ten of them
    lock that /64 (and are throttled there), never every address."""
    add(service, "wang")
    for n in range(10):
        for _ in range(credentials.MAX_FAILURES):
            with pytest.raises(Unauthorized):
                login(service, "wang", "wrong password 1", address=f"2001:db8::{n + 1:x}")
    with pytest.raises(TooManyAttempts):  # the /64 is throttled, whichever address in it
        login(service, "wang", address="2001:db8::ffff")
    (view,) = service.query(i.list_users)
    assert view.locked_until is None  # no ceiling: one source counts at most five
    with service.uow() as uow:
        lockouts = uow.connection.execute(select(LoginLockout.address)).scalars().all()
        failed_from = set(uow.connection.execute(select(LoginFailure.address)).scalars())
    assert lockouts == ["2001:db8::/64"]
    assert failed_from == {"2001:db8::/64"}
    # Another /64, even next door, and an IPv4 address are other sources.
    assert login(service, "wang", address="2001:db8:0:1::1").principal.username == "wang"
    assert login(service, "wang", address="10.0.0.1").principal.username == "wang"


def test_a_login_with_no_client_address_is_throttled_never_locked(service: Service) -> None:
    """Every login with no client address shares one ("unknown"): locking it would lock
    everyone out, so it is only throttled."""
    add(service, "wang")
    for _ in range(credentials.MAX_FAILURES + 1):
        with pytest.raises(Unauthorized) as err:
            login(service, "wang", "wrong password 1", address="")
        assert not isinstance(err.value, TooManyAttempts)
    assert login(service, "wang", address="").principal.username == "wang"
    with service.uow() as uow:
        assert uow.connection.execute(select(LoginLockout.address)).all() == []
        failed_from = set(uow.connection.execute(select(LoginFailure.address)).scalars())
    assert failed_from == {credentials.UNKNOWN}
    left = credentials.ADDRESS_MAX_FAILURES - credentials.MAX_FAILURES - 1
    for _ in range(left):
        with pytest.raises(Unauthorized):
            login(service, "wang", "wrong password 1", address="unknown")
    with pytest.raises(TooManyAttempts):
        login(service, "wang", address="")


def test_an_admin_unlocks_an_account_locked_from_every_address(service: Service) -> None:
    add(service, "wang")
    for n in range(credentials.ACCOUNT_MAX_FAILURES):
        with pytest.raises(Unauthorized):
            login(service, "wang", "wrong password 1", address=f"198.51.100.{n // 5}")
    with pytest.raises(Unauthorized):
        login(service, "wang")
    lifted = service.handle(i.UnlockUser(username="wang", actor="cli:root admin"))
    assert lifted == credentials.ACCOUNT_MAX_FAILURES // credentials.MAX_FAILURES  # 9 + ceiling
    assert login(service, "wang").principal.username == "wang"
    assert login(service, "wang", address="198.51.100.0").principal.username == "wang"
    with service.uow() as uow:
        lifted_by = uow.connection.execute(select(LoginLockout.lifted_by)).scalars().all()
    assert set(lifted_by) == {"cli:root admin"}


def test_concurrent_failures_are_all_counted(service: Service) -> None:
    """Five wrong passwords at once still lock the account from their address: each failure
    is counted under the account's lock, none overwrites another."""
    add(service, "wang")
    barrier = threading.Barrier(credentials.MAX_FAILURES)
    errors: list[BaseException] = []

    def wrong() -> None:
        barrier.wait()
        try:
            login(service, "wang", "wrong password 1")
        except Unauthorized as err:
            errors.append(err)

    threads = [threading.Thread(target=wrong) for _ in range(credentials.MAX_FAILURES)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(errors) == credentials.MAX_FAILURES
    assert not any(isinstance(e, TooManyAttempts) for e in errors)
    with pytest.raises(Unauthorized):
        login(service, "wang")
    with service.uow() as uow:
        assert uow.connection.execute(select(User.failed_logins)).scalar() == 5
        assert uow.connection.execute(select(func.count()).select_from(LoginLockout)).scalar() == 1
    with pytest.raises(Unauthorized) as err:
        login(service, "x" * 10_000)
    assert not isinstance(err.value, TooManyAttempts)


def test_the_password_is_checked_outside_any_write_transaction(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While argon2 checks a password, another writer — even one writing the same account's
    row — is not kept waiting (on SQLite a check inside the command would hold the database's
    write lock for its duration)."""
    add(service, "wang")
    verify = credentials.verify_password
    writes: list[float] = []

    def verify_while_another_writes(stored: str | None, password: str) -> bool:
        def write() -> None:
            service.handle(i.EnableUser(username="wang"))
            writes.append(1.0)

        writer = threading.Thread(target=write)
        writer.start()
        writer.join(timeout=5)
        assert writes, "a writer waited on the login's transaction"
        return verify(stored, password)

    monkeypatch.setattr(credentials, "verify_password", verify_while_another_writes)
    assert login(service, "wang").principal.username == "wang"
    with pytest.raises(Unauthorized):
        login(service, "wang", "wrong password 1")
    assert len(writes) == 2
    with service.uow() as uow:
        assert uow.connection.execute(select(User.failed_logins)).scalar() == 1


def test_an_unknown_user_and_a_locked_one_cost_a_real_check(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unknown name is checked against the dummy hash (as slow as a real check); so is a
    locked account (its own password is never looked at), refused as an unknown name is: the
    answer and its time never tell that a name is an account's."""
    add(service, "wang")
    verify = credentials.verify_password
    checked: list[str | None] = []

    def counting(stored: str | None, password: str) -> bool:
        checked.append(stored)
        return verify(stored, password)

    monkeypatch.setattr(credentials, "verify_password", counting)
    with pytest.raises(Unauthorized):
        login(service, "nobody", "wrong password 1")
    with pytest.raises(Unauthorized):
        login(service, "wang", "wrong password 1")
    assert checked[0] is None and checked[1] is not None and len(checked) == 2
    for _ in range(credentials.MAX_FAILURES - 1):
        with pytest.raises(Unauthorized):
            login(service, "wang", "wrong password 1")
    checked.clear()
    with pytest.raises(Unauthorized) as locked:
        login(service, "wang")
    with pytest.raises(Unauthorized) as unknown:
        login(service, "nobody")
    assert checked == [None, None]
    assert type(locked.value) is type(unknown.value) is Unauthorized
    assert locked.value.message == unknown.value.message


def test_a_password_changed_during_the_check_opens_no_session(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    add(service, "wang")
    verify = credentials.verify_password

    def verify_then_change(stored: str | None, password: str) -> bool:
        ok = verify(stored, password)
        service.handle(i.SetPassword(username="wang", password="another long password"))
        return ok

    monkeypatch.setattr(credentials, "verify_password", verify_then_change)
    with pytest.raises(Unauthorized):
        login(service, "wang")


def test_a_disabled_account_is_refused_even_with_the_right_password(service: Service) -> None:
    add(service, "wang")
    service.handle(i.DisableUser(username="wang"))
    with pytest.raises(Unauthorized) as err:
        login(service, "wang")
    assert not isinstance(err.value, TooManyAttempts)


def test_enabling_an_account_lifts_its_lockouts(service: Service) -> None:
    add(service, "wang")
    for _ in range(credentials.MAX_FAILURES):
        with pytest.raises(Unauthorized):
            login(service, "wang", "wrong password 1")
    with pytest.raises(Unauthorized):
        login(service, "wang")
    service.handle(i.EnableUser(username="wang"))
    assert login(service, "wang").principal.username == "wang"


def test_an_address_with_too_many_failures_is_throttled(
    service: Service, clock: FixedClock
) -> None:
    add(service, "wang")
    for n in range(credentials.ADDRESS_MAX_FAILURES):
        with pytest.raises(Unauthorized):
            login(service, f"guess{n}", PASSWORD, address="203.0.113.9")
        clock.advance(timedelta(seconds=1))
    with pytest.raises(TooManyAttempts) as err:  # even the right password, from there
        login(service, "wang", address="203.0.113.9")
    assert 0 < err.value.retry_after <= 600
    assert login(service, "wang", address="203.0.113.10").principal.username == "wang"
    clock.advance(timedelta(seconds=err.value.retry_after))
    assert login(service, "wang", address="203.0.113.9").principal.username == "wang"


def test_failures_older_than_the_window_are_forgotten(service: Service, clock: FixedClock) -> None:
    for address in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
        with pytest.raises(Unauthorized):
            login(service, "nobody", address=address)
    clock.advance(credentials.ADDRESS_WINDOW)
    with pytest.raises(Unauthorized):
        login(service, "nobody", address="10.0.0.4")
    with service.uow() as uow:
        rows = uow.connection.execute(select(LoginFailure.address)).scalars().all()
    assert rows == ["10.0.0.4"]


def test_a_disabled_account_cannot_log_in_and_loses_its_sessions(service: Service) -> None:
    add(service, "wang")
    session = login(service, "wang").session_token
    service.handle(i.DisableUser(username="wang"))
    with pytest.raises(Unauthorized):
        service.query(i.principal_for_session, session)
    with pytest.raises(Unauthorized) as err:
        login(service, "wang")
    assert not isinstance(err.value, TooManyAttempts)
    assert service.query(i.list_users)[0].status == "disabled"
    service.handle(i.EnableUser(username="wang"))
    assert login(service, "wang").principal.username == "wang"


def test_a_session_expires_when_idle_and_at_its_absolute_limit(
    service: Service, clock: FixedClock
) -> None:
    add(service, "wang")
    idle = login(service, "wang").session_token
    clock.advance(timedelta(minutes=29))
    assert service.query(i.principal_for_session, idle).username == "wang"
    clock.advance(timedelta(minutes=1))
    with pytest.raises(Unauthorized):
        service.query(i.principal_for_session, idle)

    kept, opened = login(service, "wang").session_token, clock.now()
    for _ in range(12 * 2 + 1):  # used every 30 minutes less a second: never idle
        clock.advance(timedelta(minutes=29, seconds=59))
        try:
            principal = service.query(i.principal_for_session, kept)
        except Unauthorized:
            break
        assert i.needs_touch(principal, clock.now())
        service.handle(i.TouchSession(session_token=kept))
    else:
        pytest.fail("the session outlived its absolute expiry")
    assert timedelta(hours=12) <= clock.now() - opened < timedelta(hours=12, minutes=30)


def test_a_touch_within_a_minute_writes_nothing(service: Service, clock: FixedClock) -> None:
    add(service, "wang")
    token = login(service, "wang").session_token
    clock.advance(timedelta(seconds=30))
    service.handle(i.TouchSession(session_token=token))
    principal = service.query(i.principal_for_session, token)
    assert not i.needs_touch(principal, clock.now())
    assert principal.seen_at == clock.now() - timedelta(seconds=30)


def test_logout_ends_the_session(service: Service) -> None:
    add(service, "wang")
    token = login(service, "wang").session_token
    service.handle(i.Logout(session_token=token))
    with pytest.raises(Unauthorized):
        service.query(i.principal_for_session, token)
    with pytest.raises(Unauthorized):
        service.query(i.principal_for_session, "forged-token")


def test_a_new_password_ends_the_sessions_and_the_old_one_stops_working(
    service: Service,
) -> None:
    add(service, "wang")
    token = login(service, "wang").session_token
    service.handle(i.SetPassword(username="wang", password="another long password"))
    with pytest.raises(Unauthorized):
        service.query(i.principal_for_session, token)
    with pytest.raises(Unauthorized):
        login(service, "wang")
    assert login(service, "wang", "another long password").principal.username == "wang"


def test_a_token_acts_within_its_scope_until_revoked(service: Service, space: str) -> None:
    service.handle(c.CreateSpace(code="HX", name="海峡中小企业孵化园"))
    add(service, "wang", space_codes=(space, "HX"))
    new = service.handle(
        i.CreateToken(username="wang", label="财务系统", role="viewer", space_codes=(space,))
    )
    assert new.token.startswith("isp_")
    principal = service.query(i.principal_for_token, new.token)
    assert principal.role == "viewer" and principal.via == "token"
    assert principal.token_id == new.token_id and len(principal.space_ids) == 1
    (view,) = service.query(i.list_tokens, "wang")
    assert view.spaces == (space,) and view.status(service.clock.now()) == "active"
    with service.uow() as uow:  # only the hash is stored
        stored = uow.connection.exec_driver_sql("SELECT token_sha256 FROM api_tokens").scalar()
    assert stored == credentials.digest(new.token) and new.token not in str(stored)
    service.handle(i.RevokeToken(token_id=new.token_id))
    with pytest.raises(Unauthorized):
        service.query(i.principal_for_token, new.token)
    with pytest.raises(Unauthorized):
        service.query(i.principal_for_token, "isp_" + "x" * 43)


def test_a_token_expires_after_its_last_day(service: Service, clock: FixedClock) -> None:
    add(service, "wang")
    new = service.handle(i.CreateToken(username="wang", label="平台", expires_on=date(2024, 3, 5)))
    clock.advance(timedelta(days=1, hours=14, minutes=59))  # 2024-03-05 23:59 in Shanghai
    assert service.query(i.principal_for_token, new.token).username == "wang"
    clock.advance(timedelta(minutes=1))
    with pytest.raises(Unauthorized):
        service.query(i.principal_for_token, new.token)


def test_a_token_never_carries_more_than_its_account(service: Service, space: str) -> None:
    add(service, "viewer1", role="viewer", space_codes=(space,))
    with pytest.raises(InvalidInput) as err:
        service.handle(i.CreateToken(username="viewer1", label="x", role="operator"))
    assert err.value.field == "role"
    service.handle(c.CreateSpace(code="HX", name="海峡中小企业孵化园"))
    with pytest.raises(InvalidInput) as err:
        service.handle(i.CreateToken(username="viewer1", label="x", space_codes=("HX",)))
    assert err.value.field == "space"


def test_a_disabled_accounts_token_stops_working(service: Service) -> None:
    add(service, "wang")
    new = service.handle(i.CreateToken(username="wang", label="平台"))
    service.handle(i.DisableUser(username="wang"))
    with pytest.raises(Unauthorized):
        service.query(i.principal_for_token, new.token)


def test_account_input_is_checked_field_by_field(service: Service, space: str) -> None:
    add(service, "wang")
    with pytest.raises(AlreadyExists):
        add(service, "WANG")
    cases: list[tuple[dict[str, object], str]] = [
        ({"password": "short"}, "password"),
        ({"username": "wang.fang.long", "password": "wang.fang.long"}, "password"),
        ({"username": "王芳"}, "username"),
        ({"role": "manager"}, "role"),
        ({"role": "firm"}, "firm"),
        ({"role": "admin", "space_codes": (space,)}, "space"),
        ({"email": "not-an-address"}, "email"),
    ]
    for change, field in cases:
        values: dict[str, object] = {
            "username": "li",
            "display_name": "李",
            "role": "operator",
            "password": PASSWORD,
        }
        values.update(change)
        with pytest.raises(InvalidInput) as err:
            service.handle(i.AddUser(**values))  # type: ignore[arg-type]
        assert err.value.field == field, change
    with pytest.raises(NotFound):
        service.handle(
            i.AddUser(
                username="li",
                display_name="李",
                role="operator",
                password=PASSWORD,
                space_codes=("NOPE",),
            )
        )
    assert [u.username for u in service.query(i.list_users)] == ["wang"]


def test_a_firm_user_is_scoped_to_its_firm(service: Service) -> None:
    firm = service.handle(
        c.RegisterFirm(name="峰际生物", uscc=USCC, industry="pharma", contact_email="a@b.cn")
    )
    add(service, "fengji", role="firm", firm_uscc=USCC)
    principal = login(service, "fengji").principal
    assert principal.role == "firm" and principal.firm_id == firm["firm"]
    assert principal.space_ids == frozenset() and not principal.may_see_space(1)
    assert service.query(i.list_users)[0].firm_uscc == USCC


def test_a_reviewer_is_assigned_on_the_tenancys_audit_chain(service: Service, space: str) -> None:
    service.handle(
        c.RegisterFirm(name="峰际生物", uscc=USCC, industry="pharma", contact_email="a@b.cn")
    )
    applied = service.handle(
        c.Apply(firm=USCC, space=space, profile=good_profile(date(2024, 3, 4)))
    )
    tenancy_id = applied.tenancy_id
    reviewer = add(service, "expert", role="reviewer")
    add(service, "wang")
    service.handle(i.AssignReviewer(tenancy_id=tenancy_id, username="expert", actor="account:2 王"))
    assert service.query(i.assigned_reviewers, tenancy_id) == ["expert"]
    assert service.query(i.is_assigned, tenancy_id, reviewer)
    with pytest.raises(AlreadyExists):
        service.handle(i.AssignReviewer(tenancy_id=tenancy_id, username="expert"))
    with pytest.raises(InvalidInput):
        service.handle(i.AssignReviewer(tenancy_id=tenancy_id, username="wang"))
    service.handle(i.UnassignReviewer(tenancy_id=tenancy_id, username="expert"))
    assert service.query(i.assigned_reviewers, tenancy_id) == []
    with service.uow() as uow:
        events = uow.connection.execute(
            select(AuditEvent.trigger, AuditEvent.actor)
            .where(AuditEvent.tenancy_id == tenancy_id)
            .order_by(AuditEvent.seq)
        ).all()
    assert [tuple(e) for e in events[-2:]] == [
        ("assign_reviewer", "account:2 王"),
        ("unassign_reviewer", "operator"),
    ]
