"""Operator-edited templates: load the newest revisions, validate and save new ones, check all.

An override replaces one part (subject, text or html) of one message in one locale. Revisions
are never edited: saving writes revision n+1, and the newest revision wins everywhere (the
relay loads the current set once per batch). A revision is stored only after it compiled in
the sandbox and rendered, under the render limits (``notifications.limits``: time, memory,
output size), every sample context of its message for every audience, and adversarial variants
of them: the longest names the database allows, and the optional firm fields missing. On any
error nothing is written (``InvalidTemplate``, exit 2).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from sqlmodel import Session

from db import queues
from db.queues import TemplateRow
from db.tables import MessageTemplate
from lifecycle.errors import InvalidInput, InvalidTemplate
from notifications.catalog import CATALOG, PARTS, samples, spec
from notifications.formatting import LOCALES
from notifications.render import Override, Overrides, RenderedMessage, Renderer


def load_overrides(session: Session) -> dict[tuple[str, str, str], Override]:
    """The newest revision of every overridden (name, locale, part)."""
    return overrides_of(queues.templates(session.connection()))


def overrides_of(rows: Iterable[TemplateRow]) -> dict[tuple[str, str, str], Override]:
    """Stored revisions as the renderer takes them, by (name, locale, part)."""
    return {
        (r.name, r.locale, r.part): Override(r.name, r.locale, r.part, r.revision, r.source)
        for r in rows
    }


# Adversarial contexts: the longest values the columns allow (db.tables) ...
_LONG = {
    ("firm", "name"): 200,
    ("firm", "contact_name"): 100,
    ("firm", "account_manager"): 100,
    ("space", "name"): 200,
}
# ... and the firm's optional columns empty.
_OPTIONAL = (("firm", "contact_name"), ("firm", "email"), ("firm", "account_manager"))


def adversarial(context: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Variants of a sample context a real row can have but the samples do not show."""
    long_ctx = copy.deepcopy(context)
    for (outer, key), size in _LONG.items():
        section = long_ctx.get(outer)
        if isinstance(section, dict) and isinstance(section.get(key), str) and section[key]:
            section[key] = (section[key] * (size // len(section[key]) + 1))[:size]
    yield "long names", long_ctx
    sparse = copy.deepcopy(context)
    for outer, key in _OPTIONAL:
        section = sparse.get(outer)
        if isinstance(section, dict) and key in section:
            section[key] = None
    yield "optional fields missing", sparse


def validate_override(
    renderer: Renderer, candidate: Override, overrides: Overrides | None = None
) -> None:
    """Compile in the sandbox and render every sample of the message, for every audience, in
    the candidate's locale, with the other current overrides in place, under the render limits;
    then the adversarial variants of each sample (long names, optional fields missing) — a
    variant the current templates cannot render either is skipped, so only the candidate is
    judged. Raise ``InvalidTemplate`` if any fails."""
    key = (candidate.name, candidate.locale, candidate.part)
    current = {**(overrides or {}), key: candidate}
    renderer.compile_override(candidate, cache=False)
    cases = samples(candidate.name)
    for audience, context in cases:
        renderer.render(
            candidate.name,
            candidate.locale,
            context,
            audience=audience,
            overrides=current,
            cache=False,
        )
    before = {k: o for k, o in (overrides or {}).items() if k != key}
    for audience, context in cases:
        for what, variant in adversarial(context):
            try:
                renderer.render(
                    candidate.name, candidate.locale, variant, audience=audience, overrides=before
                )
            except InvalidTemplate:
                continue  # not a context the current templates accept either
            try:
                renderer.render(
                    candidate.name,
                    candidate.locale,
                    variant,
                    audience=audience,
                    overrides=current,
                    cache=False,
                )
            except InvalidTemplate as err:
                raise InvalidTemplate(err.field, f"{err.rule} [{audience}, {what}]") from err


def checked_override(
    name: str,
    locale: str,
    part: str,
    source: str,
    author: str,
    *,
    latest: int,
    overrides: Overrides,
    renderer: Renderer | None = None,
) -> Override:
    """The next revision (``latest``: the newest stored, 0 for none) of an override, once it
    is valid with the current ``overrides`` in place (see :func:`validate_override`)."""
    spec(name)  # NotFound for an unknown message
    if locale not in LOCALES:
        raise InvalidInput("locale", f"must be one of {', '.join(LOCALES)}", locale)
    if part not in PARTS:
        raise InvalidInput("part", f"must be one of {', '.join(PARTS)}", part)
    if not source.strip():
        raise InvalidTemplate(f"{locale}/{name}.{PARTS[part]}", "template source is empty")
    if not author.strip():
        raise InvalidInput("author", "say who edited the template")
    candidate = Override(name, locale, part, latest + 1, source)
    own = renderer is None
    renderer = renderer or Renderer()
    try:
        validate_override(renderer, candidate, overrides)
    finally:
        if own:
            renderer.close()
    return candidate


def override_row(candidate: Override, author: str, now: datetime) -> dict[str, Any]:
    """The ``message_templates`` row of a checked revision."""
    return {
        "name": candidate.name,
        "locale": candidate.locale,
        "part": candidate.part,
        "revision": candidate.revision,
        "source": candidate.source,
        "author": author,
        "created_at": now,
    }


def save_override(
    session: Session,
    name: str,
    locale: str,
    part: str,
    source: str,
    author: str,
    now: datetime,
    *,
    renderer: Renderer | None = None,
) -> int:
    """Validate, then store the next revision on ``session``; returns it. Commits nothing
    itself: the caller commits (or rolls back) — the row is only added once validation
    passed. (The ``SaveTemplate`` command does the same through the effect writer.)"""
    latest = queues.template_revision(session.connection(), name, locale, part)
    candidate = checked_override(
        name,
        locale,
        part,
        source,
        author,
        latest=latest,
        overrides=load_overrides(session),
        renderer=renderer,
    )
    session.add(MessageTemplate(**override_row(candidate, author, now)))
    session.flush()
    return candidate.revision


def check_templates(renderer: Renderer, overrides: Overrides | None = None) -> list[str]:
    """Every problem with the shipped templates and the current overrides, one line each.

    Renders every message, for every audience and sample context, in every locale; also
    reports template files that belong to no catalog message (likely a typo in a file name).
    """
    problems: list[str] = []
    for key in CATALOG:
        for locale in LOCALES:
            for index, (audience, context) in enumerate(samples(key)):
                try:
                    renderer.render(key, locale, context, audience=audience, overrides=overrides)
                except InvalidTemplate as err:
                    problems.append(
                        f"{key} [{locale}, {audience}, sample {index + 1}]: {err.message}"
                    )
    known = {s.template(loc, part) for s in CATALOG.values() for loc in LOCALES for part in PARTS}
    for name in renderer.env.list_templates(filter_func=lambda n: n.endswith(".j2")):
        if "/" in name and name not in known:
            problems.append(f"{name}: 不属于任何通知的模板 / not a template of any catalog message")
    for name, locale, part in sorted(overrides or {}):
        if name not in CATALOG or locale not in LOCALES or part not in PARTS:
            problems.append(
                f"override {locale}/{name}.{part}: 没有这个通知、语言或部分 / "
                "no such message, locale or part"
            )
    return problems


def preview(
    renderer: Renderer,
    name: str,
    locale: str,
    *,
    audience: str | None = None,
    sample: int = 0,
    overrides: Overrides | None = None,
) -> RenderedMessage:
    """Render a message against its sample context (first audience unless one is given)."""
    message = spec(name)
    aud = audience or next(iter(message.variants))
    variant = message.variant(aud)
    if not 0 <= sample < len(variant.samples):
        raise InvalidInput(
            "sample", f"must be 0..{len(variant.samples) - 1} for {name}/{aud}", sample
        )
    context = variant.sample(sample)
    return renderer.render(name, locale, context, audience=aud, overrides=overrides)
