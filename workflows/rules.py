"""Rulebooks in the database: store by content hash, activate per space, parse once per version."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from importlib import resources
from typing import Concatenate, ParamSpec, TypeVar

from db.effects import Effects, Rows, TenancyRow
from db.registry import SpaceRow
from db.tables import Space
from lifecycle.calendar import WorkCalendar
from lifecycle.errors import NotFound
from lifecycle.rulebook import Rulebook, parse_rulebook
from workflows.core import Work

P = ParamSpec("P")
R = TypeVar("R")


def default_rulebook_text() -> str:
    return resources.files("workflows").joinpath("default_rulebook.toml").read_text("utf-8")


@lru_cache(maxsize=32)
def _parsed(text: str, source: str) -> Rulebook:
    return parse_rulebook(text, source)


def parse(text: str, source: str = "<text>") -> Rulebook:
    """Parse and validate (cached by content: the same text is parsed once per process)."""
    return _parsed(text, source)


def store(work: Work, text: str, source: str, rows: Rows) -> Rulebook:
    """Validate a rulebook and add its row to ``rows`` (storing the same content twice is a
    no-op: a stored version is not added again)."""
    rulebook = parse(text, source)
    if not work.uow.registry.rulebook_stored(rulebook.version):
        rows.insert(
            "rulebooks",
            version=rulebook.version,
            name=rulebook.meta.name,
            content=text,
            loaded_at=work.now,
        )
    return rulebook


def by_version(work: Work, version: str | None) -> Rulebook:
    """A stored rulebook, parsed. A version is the hash of the rulebook's text, so a parsed
    rulebook never goes stale: the service keeps them (``work.rulebooks``), and after the
    first command no command reads (or re-hashes) the stored text again."""
    if version is None:
        raise NotFound("rulebook", "(none active)")
    cached = work.rulebooks.get(version)
    if cached is not None:
        return cached
    content = work.uow.rulebooks.text(version)
    if content is None:
        raise NotFound("rulebook", version)
    rulebook = parse(content, f"rulebook {version[:12]}")
    if rulebook.version == version:
        work.rulebooks[version] = rulebook
    return rulebook


def for_space(work: Work, space: Space | SpaceRow) -> Rulebook:
    """The space's active rulebook (new applications are decided under it)."""
    return by_version(work, space.rulebook_version)


def active_in(work: Work, space_id: int) -> Rulebook:
    """The rulebook active in a space now (``for_space`` without loading the space)."""
    return by_version(work, work.space_rulebook_version(space_id))


def for_tenancy(work: Work, tenancy: TenancyRow) -> Rulebook:
    """The rulebook a tenancy was admitted under (its decisions keep using it)."""
    if tenancy.rulebook_version is None:
        return active_in(work, tenancy.space_id)
    return by_version(work, tenancy.rulebook_version)


def decide(
    work: Work,
    tenancy: TenancyRow,
    decision: Callable[Concatenate[Effects, Rulebook, WorkCalendar, P], R],
    *args: P.args,
    **kwargs: P.kwargs,
) -> R:
    """:meth:`Work.decide` under the tenancy's rulebook (:func:`for_tenancy`) and the
    working-day calendar, the two a decision with time limits takes first."""
    rulebook = for_tenancy(work, tenancy)
    return work.decide(tenancy, decision, rulebook, work.calendar, *args, **kwargs)


@contextmanager
def decided_under(work: Work, tenancy: TenancyRow, rulebook: Rulebook) -> Iterator[None]:
    """Audit events written inside this block record ``rulebook.version``, the version the
    decision used, while the tenancy keeps the version it was admitted under."""
    if tenancy.rulebook_version == rulebook.version:
        yield
        return
    work.event_rulebook[tenancy.id] = rulebook.version
    try:
        yield
    finally:
        del work.event_rulebook[tenancy.id]
