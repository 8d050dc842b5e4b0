"""Secrets and the arithmetic of login throttling, without a database.

Passwords are hashed with argon2id (argon2-cffi's defaults); a hash made with older
parameters is replaced at the next successful login. Session and API tokens are 32 random
bytes: they cannot be guessed, so one SHA-256 is enough to keep them out of a database dump
(a slow hash protects low-entropy passwords, not random tokens).

Throttling is two counters: an account locks for :data:`LOCK_MINUTES` after
:data:`MAX_FAILURES` consecutive failures, and an address with :data:`ADDRESS_MAX_FAILURES`
failures within :data:`ADDRESS_WINDOW` is refused until the oldest of them leaves the window.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from lifecycle.errors import InvalidInput

MIN_PASSWORD_CHARS = 12
#: Longer is a pasted file, not a password (and hashing megabytes is a denial of service).
MAX_PASSWORD_CHARS = 1024
MAX_FAILURES = 5
LOCK_MINUTES = 15
ADDRESS_MAX_FAILURES = 20
ADDRESS_WINDOW = timedelta(minutes=10)
#: What every API token starts with (so a leaked one is recognised by secret scanners).
TOKEN_PREFIX = "isp_"
#: Longer than any token innospace hands out: refused before hashing.
MAX_TOKEN_CHARS = 200


@cache
def password_hasher() -> PasswordHasher:
    """The hasher every password goes through: argon2id with argon2-cffi's defaults (RFC 9106's
    second recommended choice); the test suite substitutes a cheaper one for its in-process
    logins."""
    return PasswordHasher()


def check_password(password: str, username: str) -> str:
    """``password`` if it keeps the rules, else InvalidInput naming the field and the rule."""
    if len(password) < MIN_PASSWORD_CHARS:
        raise InvalidInput(
            "password",
            f"密码至少 {MIN_PASSWORD_CHARS} 个字符 / must be at least "
            f"{MIN_PASSWORD_CHARS} characters",
        )
    if len(password) > MAX_PASSWORD_CHARS:
        raise InvalidInput(
            "password",
            f"密码不得超过 {MAX_PASSWORD_CHARS} 个字符 / at most {MAX_PASSWORD_CHARS} characters",
        )
    if password.strip().casefold() == username.strip().casefold():
        raise InvalidInput("password", "密码不得与用户名相同 / must not equal the user name")
    if not password.strip():
        raise InvalidInput("password", "密码不得全为空白 / must not be only whitespace")
    if "\x00" in password:
        raise InvalidInput("password", "密码不得含 NUL 字符 / must not contain a NUL character")
    return password


def hash_password(password: str) -> str:
    return password_hasher().hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """True when ``password`` matches ``stored``; with no hash stored, as long as a real
    check takes (so a missing account answers no faster than a wrong password)."""
    if len(password) > MAX_PASSWORD_CHARS:
        return False
    try:
        return password_hasher().verify(stored or _dummy_hash(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return password_hasher().check_needs_rehash(stored)


@cache
def _dummy_hash() -> str:
    return password_hasher().hash(secrets.token_urlsafe(16))


def new_token(prefix: str = "") -> str:
    """A fresh secret: ``prefix`` and 32 random bytes, URL-safe."""
    return prefix + secrets.token_urlsafe(32)


def digest(token: str) -> str:
    """What is stored of a token: its SHA-256, hex."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def after_failure(failed: int, now: datetime) -> tuple[int, datetime | None]:
    """The account's count of consecutive failures after one more, and the end of the
    lockout it starts (None: no lockout). The count starts again once it locks."""
    failed += 1
    if failed >= MAX_FAILURES:
        return 0, now + timedelta(minutes=LOCK_MINUTES)
    return failed, None


def seconds_until(until: datetime, now: datetime) -> int:
    """Whole seconds from ``now`` to ``until``, rounded up, at least 1."""
    left = (until - now).total_seconds()
    return max(1, int(left) + (0 if left == int(left) else 1))


def address_retry_after(failures: Sequence[datetime], now: datetime) -> int | None:
    """Seconds until an address with these failure times may try again (None: it may now).

    Counted within :data:`ADDRESS_WINDOW` before ``now``: at :data:`ADDRESS_MAX_FAILURES`
    failures the address waits until enough of them have left the window."""
    recent = sorted(at for at in failures if now - at < ADDRESS_WINDOW)
    if len(recent) < ADDRESS_MAX_FAILURES:
        return None
    leaves = recent[len(recent) - ADDRESS_MAX_FAILURES] + ADDRESS_WINDOW
    return seconds_until(leaves, now)
