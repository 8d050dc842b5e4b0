"""Rulebooks in the database: store by content hash, activate per space, parse once per version."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from importlib import resources

from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import select

from db.tables import Rulebook as RulebookRow
from db.tables import Space, Tenancy
from lifecycle.errors import NotFound
from lifecycle.rulebook import Rulebook, parse_rulebook
from workflows.core import Work


def default_rulebook_text() -> str:
    return resources.files("workflows").joinpath("default_rulebook.toml").read_text("utf-8")


@lru_cache(maxsize=32)
def _parsed(text: str, source: str) -> Rulebook:
    return parse_rulebook(text, source)


def parse(text: str, source: str = "<text>") -> Rulebook:
    """Parse and validate (cached by content: the same text is parsed once per process)."""
    return _parsed(text, source)


def store(work: Work, text: str, source: str) -> Rulebook:
    """Validate and store a rulebook; storing the same content twice is a no-op."""
    rulebook = parse(text, source)
    if work.session.get(RulebookRow, rulebook.version) is None:
        work.session.add(
            RulebookRow(
                version=rulebook.version, name=rulebook.meta.name, content=text, loaded_at=work.now
            )
        )
        work.session.flush()
    return rulebook


# A version is the hash of the rulebook's text, so a parsed rulebook never goes stale: after
# the first command, no command reads (or re-hashes) the stored text again.
_BY_VERSION: dict[str, Rulebook] = {}


def by_version(work: Work, version: str | None) -> Rulebook:
    if version is None:
        raise NotFound("rulebook", "(none active)")
    cached = _BY_VERSION.get(version)
    if cached is not None:
        return cached
    row = work.session.get(RulebookRow, version)
    if row is None:
        raise NotFound("rulebook", version)
    rulebook = parse(row.content, f"rulebook {version[:12]}")
    if rulebook.version == version:
        _BY_VERSION[version] = rulebook
    return rulebook


def for_space(work: Work, space: Space) -> Rulebook:
    """The space's active rulebook (new applications are decided under it)."""
    return by_version(work, space.rulebook_version)


def active_in(work: Work, space_id: int) -> Rulebook:
    """The rulebook active in a space now (``for_space`` without loading the space)."""
    return by_version(work, work.space_rulebook_version(space_id))


def for_tenancy(work: Work, tenancy: Tenancy) -> Rulebook:
    """The rulebook a tenancy was admitted under (its decisions keep using it)."""
    if tenancy.rulebook_version is None:
        return active_in(work, tenancy.space_id)
    return by_version(work, tenancy.rulebook_version)


@contextmanager
def decided_under(work: Work, tenancy: Tenancy, rulebook: Rulebook) -> Iterator[None]:
    """Audit events written inside this block record ``rulebook.version``, the version the
    decision used, while the tenancy keeps the version it was admitted under.

    ``Work.audit`` stamps each event (and its hash) with ``tenancy.rulebook_version``. The
    value is swapped in memory only: ``set_committed_value`` does not mark the attribute
    dirty, so the stored tenancy row is never rewritten and its version is not bumped.
    """
    admitted = tenancy.rulebook_version
    if admitted == rulebook.version:
        yield
        return
    set_committed_value(tenancy, "rulebook_version", rulebook.version)
    try:
        yield
    finally:
        set_committed_value(tenancy, "rulebook_version", admitted)


def find_version(work: Work, prefix: str) -> str:
    rows = work.session.exec(
        select(RulebookRow.version).where(RulebookRow.version.startswith(prefix))
    ).all()  # type: ignore[attr-defined]
    if len(rows) != 1:
        raise NotFound("rulebook", prefix)
    return rows[0]
