"""The identity commands through their registered handlers, on the in-memory unit of work:
accounts and grants, logins and sessions, API tokens, reviewer assignments and the keys of
idempotent requests, with no database (``tests/fakes.py``)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from fakes import FakeDatabase, FakeService, chained

from db.identity import UserRow
from entrypoints.demo_data import good_profile
from lifecycle.clock import FixedClock
from lifecycle.errors import AlreadyExists, InvalidInput, NotFound, Unauthorized
from lifecycle.table import EVALUATING
from workflows import account_rules, credentials, logins, rules
from workflows import commands as c
from workflows import identity as i
from workflows.idempotency import KEY_TTL, Idempotent, PurgeIdempotencyKeys, Stored

NOW = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)  # a Monday, 09:00 in Shanghai
PASSWORD = "correct horse battery"
RB = rules.parse(rules.default_rulebook_text())


@pytest.fixture
def db() -> FakeDatabase:
    db = FakeDatabase()
    db.add_rulebook(rules.default_rulebook_text(), NOW)
    return db


@pytest.fixture
def service(db: FakeDatabase) -> FakeService:
    return FakeService(db, FixedClock(NOW))


def space(db: FakeDatabase, code: str) -> int:
    return int(
        db.add(
            "spaces",
            code=code,
            name=f"空间 {code}",
            timezone="Asia/Shanghai",
            rulebook_version=RB.version,
            created_at=NOW,
        )
    )


def add(service: FakeService, name: str, role: str = "operator", **extra: object) -> int:
    user_id = service.handle(
        i.AddUser(
            username=name, display_name=f"{name} 显示名", role=role, password=PASSWORD, **extra
        )  # type: ignore[arg-type]
    )
    assert isinstance(user_id, int)
    return user_id


def login(
    service: FakeService, name: str, password: str = PASSWORD, address: str = "10.0.0.1"
) -> i.LoginResult:
    result = logins.log_in(service, i.Login(username=name, password=password, address=address))
    assert isinstance(result, i.LoginResult)
    return result


def at(service: FakeService, moment: datetime) -> FakeService:
    return service.with_clock(FixedClock(moment))


def test_an_account_is_added_with_its_grants_and_granted_a_space_once(
    db: FakeDatabase, service: FakeService
) -> None:
    mc3, hx = space(db, "MC3"), space(db, "HX")
    user_id = add(service, "Wang", space_codes=("MC3", "MC3"))
    (user,) = db.rows("users")
    assert (user["id"], user["username"], user["role"]) == (user_id, "wang", "operator")
    assert credentials.verify_password(user["password_hash"], PASSWORD)
    assert [g["space_id"] for g in db.rows("user_spaces", user_id=user_id)] == [mc3]

    with pytest.raises(AlreadyExists):
        add(service, "wang")
    with pytest.raises(InvalidInput, match="not granted spaces"):
        add(service, "boss", role="admin", space_codes=("MC3",))
    with pytest.raises(NotFound):
        add(service, "li", space_codes=("NOPE",))
    assert len(db.rows("users")) == 1  # nothing half-written

    assert service.handle(i.GrantSpace(username="wang", space_code="HX")) is True
    assert service.handle(i.GrantSpace(username="wang", space_code="HX")) is False
    assert {g["space_id"] for g in db.rows("user_spaces", user_id=user_id)} == {mc3, hx}


def test_a_login_opens_a_session_that_is_touched_at_most_once_a_minute_and_ends(
    db: FakeDatabase, service: FakeService
) -> None:
    space(db, "MC3")
    user_id = add(service, "wang", space_codes=("MC3",))
    result = login(service, "wang")
    (session,) = db.rows("sessions")
    assert session["token_sha256"] == credentials.digest(result.session_token)
    assert session["expires_at"] == result.expires_at == NOW + timedelta(hours=12)
    assert db.row("users", user_id)["last_login_at"] == NOW
    principal = service.query(i.principal_for_session, result.session_token)
    assert principal == result.principal and principal.account_id == user_id

    later = at(service, NOW + timedelta(seconds=30))
    later.handle(i.TouchSession(session_token=result.session_token))
    assert db.rows("sessions")[0]["last_seen_at"] == NOW  # within a minute: nothing written
    later = at(service, NOW + timedelta(minutes=2))
    later.handle(i.TouchSession(session_token=result.session_token))
    assert db.rows("sessions")[0]["last_seen_at"] == NOW + timedelta(minutes=2)

    later.handle(i.Logout(session_token=result.session_token))
    assert db.rows("sessions")[0]["revoked_at"] == NOW + timedelta(minutes=2)
    with pytest.raises(Unauthorized):
        later.query(i.principal_for_session, result.session_token)
    later.handle(i.Logout(session_token="x" * 1000))  # no such session: nothing happens


def test_failures_lock_the_account_from_their_address_only_and_old_ones_are_forgotten(
    db: FakeDatabase, service: FakeService
) -> None:
    user_id = add(service, "wang")
    for _ in range(credentials.MAX_FAILURES - 1):
        with pytest.raises(Unauthorized):
            login(service, "wang", "wrong password 1")
    assert db.row("users", user_id)["failed_logins"] == credentials.MAX_FAILURES - 1
    assert db.rows("login_lockouts") == []
    with pytest.raises(Unauthorized):
        login(service, "wang", "wrong password 1")
    counted = db.row("users", user_id)
    assert counted["failed_logins"] == credentials.MAX_FAILURES
    assert counted["locked_until"] is None  # not locked from every address
    (lockout,) = db.rows("login_lockouts")  # the lockout is recorded: whose, where, when
    assert lockout == {
        "id": 1,
        "user_id": user_id,
        "address": "10.0.0.1",
        "failures": credentials.MAX_FAILURES,
        "locked_at": NOW,
        "locked_until": NOW + timedelta(minutes=credentials.LOCK_MINUTES),
        "lifted_at": None,
        "lifted_by": None,
    }
    with pytest.raises(Unauthorized) as refused:
        login(service, "wang")  # even the right password, from there, refused as a wrong one is
    assert type(refused.value) is Unauthorized
    failures = db.rows("login_failures")
    assert len(failures) == credentials.MAX_FAILURES + 1
    assert [f["user_id"] for f in failures] == [user_id] * credentials.MAX_FAILURES + [None]

    # The owner, from another address, logs in: that lockout is not theirs.
    assert login(service, "wang", address="10.0.0.2").principal.account_id == user_id
    assert db.row("users", user_id)["failed_logins"] == 0

    later = at(service, NOW + credentials.ACCOUNT_WINDOW + timedelta(minutes=10))
    with pytest.raises(Unauthorized):
        login(later, "nobody")
    assert [f["at"] for f in db.rows("login_failures")] == [later.clock.now()]
    assert login(later, "wang").principal.account_id == user_id  # the lockout is over
    assert len(db.rows("login_lockouts")) == 1  # and still on record


def test_a_login_forgets_only_the_failures_from_its_own_address(
    db: FakeDatabase, service: FakeService
) -> None:
    """The owner's login does not wipe a guesser's count: four failures from elsewhere, a
    login, then one more failure from there locks that address."""
    user_id = add(service, "wang")
    for _ in range(credentials.MAX_FAILURES - 1):
        with pytest.raises(Unauthorized):
            login(service, "wang", "wrong password 1", address="203.0.113.9")
    with pytest.raises(Unauthorized):
        login(service, "wang", "wrong password 1")
    login(service, "wang")
    counted = [f["address"] for f in db.rows("login_failures", user_id=user_id)]
    assert counted == ["203.0.113.9"] * (credentials.MAX_FAILURES - 1)
    with pytest.raises(Unauthorized):
        login(service, "wang", "wrong password 1", address="203.0.113.9")
    assert [lk["address"] for lk in db.rows("login_lockouts")] == ["203.0.113.9"]


def test_an_admin_unlocks_an_account_and_the_lockout_stays_on_record(
    db: FakeDatabase, service: FakeService
) -> None:
    user_id = add(service, "wang")
    assert service.handle(i.UnlockUser(username="wang", actor="admin")) == 0
    for _ in range(credentials.MAX_FAILURES):
        with pytest.raises(Unauthorized):
            login(service, "wang", "wrong password 1")
    with pytest.raises(Unauthorized):
        login(service, "wang")
    assert service.handle(i.UnlockUser(username="wang", actor="admin")) == 1
    (lockout,) = db.rows("login_lockouts")
    assert lockout["lifted_at"] == NOW and lockout["lifted_by"] == "admin"
    assert db.rows("login_failures", user_id=user_id) == []  # the counts start again
    assert login(service, "wang").principal.account_id == user_id
    with pytest.raises(NotFound):
        service.handle(i.UnlockUser(username="nobody", actor="admin"))


def test_a_new_password_or_disabling_ends_the_sessions(
    db: FakeDatabase, service: FakeService
) -> None:
    add(service, "wang")
    first, second = login(service, "wang"), login(service, "wang")
    service.handle(i.SetPassword(username="wang", password="another good password"))
    assert [s["revoked_at"] for s in db.rows("sessions")] == [NOW, NOW]
    for result in (first, second):
        with pytest.raises(Unauthorized):
            service.query(i.principal_for_session, result.session_token)
    third = login(service, "wang", "another good password")

    service.handle(i.DisableUser(username="wang"))
    assert db.rows("users")[0]["disabled_at"] == NOW
    assert db.rows("sessions")[2]["revoked_at"] == NOW
    with pytest.raises(Unauthorized):
        service.query(i.principal_for_session, third.session_token)
    with pytest.raises(Unauthorized):
        login(service, "wang", "another good password")
    service.handle(i.EnableUser(username="wang"))
    assert db.rows("users")[0]["disabled_at"] is None


def test_a_token_acts_within_its_scope_until_revoked(
    db: FakeDatabase, service: FakeService
) -> None:
    mc3 = space(db, "MC3")
    space(db, "HX")
    add(service, "wang", space_codes=("MC3",))
    with pytest.raises(InvalidInput, match="limited to its account's spaces"):
        service.handle(i.CreateToken(username="wang", label="系统", space_codes=("HX",)))
    with pytest.raises(InvalidInput, match="at most its account's"):
        service.handle(i.CreateToken(username="wang", label="系统", role="admin"))
    new = service.handle(
        i.CreateToken(
            username="wang", label="系统", space_codes=("MC3",), expires_on=date(2025, 3, 3)
        )
    )
    assert isinstance(new, i.NewToken) and new.token.startswith(credentials.TOKEN_PREFIX)
    (token,) = db.rows("api_tokens")
    assert (token["id"], token["token_sha256"]) == (new.token_id, credentials.digest(new.token))
    assert new.expires_at == datetime(2025, 3, 3, 16, 0, tzinfo=UTC)  # the day's end, Shanghai
    assert [g["space_id"] for g in db.rows("api_token_spaces")] == [mc3]
    principal = service.query(i.principal_for_token, new.token)
    assert (principal.token_id, principal.space_ids) == (new.token_id, frozenset({mc3}))

    later = at(service, NOW + timedelta(minutes=5))
    later.handle(i.TouchToken(token_id=new.token_id))
    assert db.rows("api_tokens")[0]["last_used_at"] == NOW + timedelta(minutes=5)
    later.handle(i.RevokeToken(token_id=new.token_id))
    with pytest.raises(Unauthorized):
        later.query(i.principal_for_token, new.token)
    with pytest.raises(NotFound):
        later.handle(i.RevokeToken(token_id=99))


def test_a_reviewer_is_assigned_and_taken_off_on_the_tenancys_audit_chain(
    db: FakeDatabase, service: FakeService
) -> None:
    t = db.add_applicant(
        now=NOW,
        rulebook=RB,
        uscc="91510115MA6CX1A2B2",
        state=EVALUATING,
        profile=good_profile(NOW.date()),
    )
    reviewer = add(service, "zhou", role="reviewer")
    add(service, "wang")
    with pytest.raises(InvalidInput, match="reviewer account") as refused:
        service.handle(i.AssignReviewer(tenancy_id=t, username="wang"))
    assert "须为评审专家账户（现为运营人员账户）" in refused.value.message  # the role in words

    step = service.handle(i.AssignReviewer(tenancy_id=t, username="zhou", actor="王"))
    assert (step.trigger, step.data) == (
        "assign_reviewer",
        {"reviewer": "zhou", "account_id": reviewer},
    )
    (row,) = db.rows("reviewer_assignments")
    assert (row["tenancy_id"], row["user_id"], row["assigned_by"]) == (t, reviewer, "王")
    assert service.query(i.is_assigned, t, reviewer)
    with pytest.raises(AlreadyExists):
        service.handle(i.AssignReviewer(tenancy_id=t, username="zhou"))

    service.handle(i.UnassignReviewer(tenancy_id=t, username="zhou", expected_version=2))
    assert db.rows("reviewer_assignments") == []
    assert not service.query(i.is_assigned, t, reviewer)
    with pytest.raises(NotFound):
        service.handle(i.UnassignReviewer(tenancy_id=t, username="zhou"))
    assert chained(db, t) == ["assign_reviewer", "unassign_reviewer"]


def test_an_idempotency_key_acts_once_a_day_and_is_purged_after(
    db: FakeDatabase, service: FakeService
) -> None:
    def send(at_time: datetime, body: str = "b1") -> Stored:
        stored = at(service, at_time).handle(
            Idempotent(
                key="k1",
                owner="account:1",
                request="POST /spaces",
                body_sha256=body,
                status=201,
                command=c.MarkInboxRead(item_ids=()),
            )
        )
        assert isinstance(stored, Stored)
        return stored

    first = send(NOW)
    assert (first.status, first.body, first.replayed) == (201, {"count": 0}, False)
    assert send(NOW + timedelta(hours=1)).replayed
    with pytest.raises(InvalidInput, match="another request"):
        send(NOW + timedelta(hours=2), body="b2")
    (key,) = db.rows("idempotency_keys")
    assert (key["status"], key["response"]) == (201, {"body": {"count": 0}})

    assert at(service, NOW + timedelta(hours=2)).handle(PurgeIdempotencyKeys()) == 0
    again = send(NOW + KEY_TTL + timedelta(hours=1))  # expired: acts anew
    assert not again.replayed
    assert [k["created_at"] for k in db.rows("idempotency_keys")] == [
        NOW + KEY_TTL + timedelta(hours=1)
    ]
    later = at(service, NOW + 2 * KEY_TTL + timedelta(hours=1))
    assert later.handle(PurgeIdempotencyKeys()) == 1
    assert db.rows("idempotency_keys") == []


def test_a_session_keeps_the_address_and_failures_count_its_ipv6_64(
    db: FakeDatabase, service: FakeService
) -> None:
    user_id = add(service, "wang")
    for n in range(credentials.MAX_FAILURES - 1):
        with pytest.raises(Unauthorized):
            login(service, "wang", "wrong password 1", address=f"2001:db8::{n + 1}")
    failures = db.rows("login_failures")
    assert {f["address"] for f in failures} == {"2001:db8::/64"}
    assert [f["user_id"] for f in failures] == [user_id] * (credentials.MAX_FAILURES - 1)
    # A login from another address of that /64 is of that source: its failures count no more.
    login(service, "wang", address="2001:db8::ab")
    assert [f["user_id"] for f in db.rows("login_failures")] == [None] * 4
    (session,) = db.rows("sessions")
    assert session["address"] == "2001:db8::ab"  # the session keeps the address itself


def test_the_admins_notice_of_a_ceiling_names_the_account_and_the_way_out() -> None:
    user = UserRow(7, "wang", "王芳", "operator", None, None, NOW, "h", None, 0, None, None)
    until = NOW + timedelta(hours=1)
    key, context = account_rules.ceiling_notice(user, credentials.Lockout(None, 50, until), 10, NOW)
    assert key == f"login_ceiling:7:{NOW.isoformat()}"
    [item] = context["items"]
    zh, en = item["title"].split(" / ")
    assert zh.startswith("账户 wang 一小时内自 10 个地址登录失败 50 次")
    assert "innospace user unlock wang" in zh and "innospace user unlock wang" in en
    assert "None" not in item["title"] and context["counts"] == {}
    assert context["sent_on"] == NOW.astimezone(account_rules.SHANGHAI).date().isoformat()
