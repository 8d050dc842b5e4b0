"""Secrets and the arithmetic of login throttling, without a database.

Passwords are hashed with argon2id (argon2-cffi's defaults); a hash made with older
parameters is replaced at the next successful login. Session and API tokens are 32 random
bytes: they cannot be guessed, so one SHA-256 is enough to keep them out of a database dump
(a slow hash protects low-entropy passwords, not random tokens).

Throttling (OWASP's Authentication Cheat Sheet, "Account Lockout"): a lockout must not be a
way to keep an account's owner out, so it is never of the account alone.

- An account is locked *from one address* for :data:`LOCK_MINUTES` after
  :data:`MAX_FAILURES` failures from that address (within :data:`ACCOUNT_WINDOW`, since its
  last login from there or its last lockout): someone who knows a user name and guesses from
  their own address locks only that address out of that account; the owner, elsewhere, logs
  in as before.
- Against guessing spread over many addresses, an account is locked *from every address* for
  :data:`ACCOUNT_LOCK_MINUTES` once the failures within :data:`ACCOUNT_WINDOW` reach
  :data:`ACCOUNT_MAX_FAILURES`, each address counting at most :data:`MAX_FAILURES` of them
  (the most it can before it is locked out): no single address, nor a few, can reach it.
- An address with :data:`ADDRESS_MAX_FAILURES` failures within :data:`ADDRESS_WINDOW`,
  whatever the names, is refused until the oldest of them leaves the window.

"An address" is a *source* (:func:`source_of`, the one place a client address becomes the
key every count and lockout uses): an IPv4 address itself, but an IPv6 address's /64 network
— one host is commonly given a whole /64, so counting its addresses one by one would let one
host pass for thousands. A login with no client address (:data:`UNKNOWN`: every such login
shares it, like everyone behind a proxy the server does not trust) is throttled, never locked
out: a lockout of it would lock everyone out. And the ceiling never holds a source the account
logged in from successfully within :data:`KNOWN_WINDOW` (:func:`ceiling_holds`), so guessing
spread over strangers' addresses cannot lock the owner out of their usual ones.
"""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from lifecycle.errors import InvalidInput

MIN_PASSWORD_CHARS = 12
#: Longer is a pasted file, not a password (and hashing megabytes is a denial of service).
MAX_PASSWORD_CHARS = 1024
#: Failures from one address that lock the account from that address, for LOCK_MINUTES.
MAX_FAILURES = 5
LOCK_MINUTES = 15
#: Failures from all addresses within ACCOUNT_WINDOW (each counting at most MAX_FAILURES)
#: that lock the account from every address, for ACCOUNT_LOCK_MINUTES.
ACCOUNT_MAX_FAILURES = 50
ACCOUNT_WINDOW = timedelta(hours=1)
ACCOUNT_LOCK_MINUTES = 60
ADDRESS_MAX_FAILURES = 20
ADDRESS_WINDOW = timedelta(minutes=10)
#: The source of a login with no client address: throttled, never locked out.
UNKNOWN = "unknown"
#: An IPv6 source is its address's network of this prefix length (a host's usual allocation).
IPV6_PREFIX = 64
#: The ceiling spares the sources the account logged in from successfully within this time.
KNOWN_WINDOW = timedelta(days=30)
#: The longest source (and the longest address a session keeps).
MAX_ADDRESS_CHARS = 64
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


def source_of(address: str | None) -> str:
    """The source a login from ``address`` counts as: an IPv4 address (an IPv4-mapped IPv6 one
    too) as itself, an IPv6 address as its /:data:`IPV6_PREFIX` network (``2001:db8::/64``),
    anything else (not an IP address) as given, trimmed; none or blank: :data:`UNKNOWN`."""
    text = (address or "").strip()[:MAX_ADDRESS_CHARS]
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return text or UNKNOWN
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network((ip, IPV6_PREFIX), strict=False))
    return str(ip)


def ceiling_holds(source: str, known: Collection[str]) -> bool:
    """Whether the account's lockout of every address (the ceiling) holds ``source``: not an
    unknown one (never locked), nor one of ``known``, the sources it logged in from
    successfully within :data:`KNOWN_WINDOW` (its owner's usual ones)."""
    return source != UNKNOWN and source not in known


@dataclass(frozen=True)
class Lockout:
    """A lockout a failure starts: of the account from ``address`` (None: from every address,
    the per-account ceiling), after ``failures`` failures, until ``until``."""

    address: str | None
    failures: int
    until: datetime


def lockout_after(
    failures: Sequence[tuple[str, datetime]],
    address: str,
    restarts: dict[str | None, datetime],
    now: datetime,
) -> Lockout | None:
    """The lockout the latest failure from ``address`` starts, if any (None: none).

    ``failures``: the account's counted failures within :data:`ACCOUNT_WINDOW` (address,
    when), the latest included; ``restarts``: when each address's latest lockout of the
    account began (key None: the latest lockout from every address), after which its count
    starts again. The ceiling comes first (it holds every address but the account's known
    ones). An :data:`UNKNOWN` source's failures count towards the ceiling, but it is never
    locked out itself."""
    since_all = restarts.get(None)
    counted = [(a, at) for a, at in failures if since_all is None or at > since_all]
    per_address = Counter(a for a, _ in counted)
    across = sum(min(n, MAX_FAILURES) for n in per_address.values())
    if across >= ACCOUNT_MAX_FAILURES:
        return Lockout(None, across, now + timedelta(minutes=ACCOUNT_LOCK_MINUTES))
    since = restarts.get(address)
    here = sum(1 for a, at in counted if a == address and (since is None or at > since))
    if here >= MAX_FAILURES and address != UNKNOWN:
        return Lockout(address, here, now + timedelta(minutes=LOCK_MINUTES))
    return None


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
