"""Named queries of the console's rulebook pages: the rulebook in force per space, read as
tables; a candidate checked (every problem with its key path, in Chinese); and the what-if of
:mod:`workflows.simulate` with the words a person reads.

Nothing here stores anything: checking and simulating parse the candidate in memory only.
"""

from __future__ import annotations

import re
from typing import Any

from sqlmodel import col, select

from db.tables import Rulebook as RulebookRow
from db.tables import Space
from lifecycle.errors import InvalidRulebook, NotFound
from lifecycle.rulebook import Rulebook
from workflows import queries, rules, simulate, vocabulary
from workflows.core import Work

words = vocabulary.words

# tomllib's messages and the parser's own limits, said in Chinese (the original kept beside);
# a model's problems come in both languages already (lifecycle.validation_words.said).
_PROBLEMS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^TOML syntax error"), "TOML 语法错误"),
    (re.compile(r"larger than the limit|too large"), "文件过大"),
    (re.compile(r"nested"), "嵌套过深"),
    (re.compile(r"more problem"), "更多问题从略"),
)


def problem_words(path: str, message: str) -> dict[str, str]:
    """A rulebook problem with its key path, a Chinese reading and the English wording."""
    zh, sep, en = message.partition(" / ")
    if sep and re.search(r"[\u4e00-\u9fff]", zh):
        return {"path": path, "zh": zh, "en": en}
    zh = next((z for pattern, z in _PROBLEMS if pattern.search(message)), "不符合规则要求")
    return {"path": path, "zh": zh, "en": message}


# ---- the rulebook in force ----------------------------------------------------------------
def rulebook_spaces(w: Work, *, space_ids: frozenset[int] | None) -> list[dict[str, Any]]:
    """The spaces (all, or ``space_ids``) with the rulebook each has in force."""
    stmt = select(Space, RulebookRow.name, RulebookRow.loaded_at).outerjoin(
        RulebookRow, col(RulebookRow.version) == col(Space.rulebook_version)
    )
    if space_ids is not None:
        stmt = stmt.where(col(Space.id).in_(sorted(space_ids)))
    return [
        {
            "code": s.code,
            "name": s.name,
            "version": s.rulebook_version,
            "rulebook": name,
            "rulebook_zh": _name_zh(w, s.rulebook_version) or name,
            "loaded_at": loaded_at,
        }
        for s, name, loaded_at in w.session.exec(stmt.order_by(col(Space.code))).all()
    ]


def _name_zh(w: Work, version: str | None) -> str | None:
    """The Chinese name of a stored rulebook (the stored row keeps the English one)."""
    try:
        return str(rules.by_version(w, version).meta.name_zh) or None
    except NotFound:
        return None


def stored_rulebooks(w: Work) -> list[dict[str, Any]]:
    """Every stored version with where it is in force (see ``queries.rulebook_versions``)."""
    return [
        {**v, "name_zh": _name_zh(w, v["version"]) or v["name"]}
        for v in reversed(queries.rulebook_versions(w))
    ]


def space_rulebook(w: Work, *, space: str) -> Rulebook:
    """The rulebook in force in ``space``, parsed."""
    return rules.for_space(w, w.space_by_code(space))


def space_rulebook_text(w: Work, *, space: str) -> str:
    """The TOML text of the rulebook in force in ``space``."""
    version = w.space_by_code(space).rulebook_version
    text = w.uow.rulebooks.text(version) if version else None
    if text is None:
        raise NotFound("rulebook", space)
    return text


# ---- a candidate --------------------------------------------------------------------------
def check_rulebook(w: Work, *, text: str, source: str) -> dict[str, Any]:
    """Parse and validate ``text``: ``ok`` with the parsed rulebook, or every problem with
    its key path. Nothing is stored."""
    try:
        rb = rules.parse(text, source)
    except InvalidRulebook as err:
        return {
            "ok": False,
            "problems": [problem_words(p, m) for p, m in err.problems],
            "rulebook": None,
        }
    stored = w.uow.registry.rulebook_stored(rb.version)
    active_for = w.session.exec(
        select(Space.code).where(Space.rulebook_version == rb.version).order_by(col(Space.code))
    ).all()
    return {
        "ok": True,
        "problems": [],
        "rulebook": rb,
        "version": rb.version,
        "stored": stored,
        "active_for": list(active_for),
    }


def simulation(w: Work, *, text: str, source: str, space: str, period: int) -> dict[str, Any]:
    """The what-if of ``text`` on ``space``'s reviews of ``period`` (see
    :func:`workflows.simulate.simulate`), with grade and consequence words; a candidate that
    does not parse comes back with its problems."""
    checked = check_rulebook(w, text=text, source=source)
    if not checked["ok"]:
        return {"ok": False, "problems": checked["problems"]}
    result = simulate.simulate(w, text, source, space, period)
    candidate: Rulebook = checked["rulebook"]
    active = space_rulebook(w, space=space)
    labels = {g.grade: (g.label_zh, g.label_en) for g in active.review.grades}
    labels.update({g.grade: (g.label_zh, g.label_en) for g in candidate.review.grades})
    rows = []
    for change in result["changes"]:
        before, after = change["before"], change["after"]
        rows.append(
            {
                "tenancy_id": change["tenancy_id"],
                "firm": change["firm"],
                "uscc": change["uscc"],
                "period": period,
                "basis": change["basis"],
                "grade_before": before["grade"],
                "grade_after": after["grade"],
                "grade_before_words": words(labels, before["grade"]),
                "grade_after_words": words(labels, after["grade"]),
                "score_before": before["score"],
                "score_after": after["score"],
                "consequence_before": words(vocabulary.CONSEQUENCES, before["consequence"]),
                "consequence_after": words(vocabulary.CONSEQUENCES, after["consequence"]),
                "demoted": after.get("demoted", False),
                "grade_changed": change["grade_changed"],
            }
        )
    return {
        "ok": True,
        "space": result["space"],
        "period": period,
        "cohort": result["cohort"],
        "unchanged": result["unchanged"],
        "changes": rows,
        "errors": result["errors"],
        "active_version": result["active_rulebook"],
        "candidate_version": result["candidate_rulebook"],
    }
