"""Named queries of the console's review-cycle board and the portal's figures form.

Like every named query, each takes :class:`Work` first and never writes. Lists narrow to the
spaces an account may see (``space_ids``; None for an admin) or to one firm's tenancies.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, func
from sqlmodel import col, select

from db.tables import Firm, Review, Space, Tenancy
from db.tables_cycles import CycleJob, FigureDraft
from lifecycle import rulebook as rbook
from lifecycle.errors import InnospaceError, NotFound, review_not_found
from lifecycle.table import UNDER_REVIEW
from notifications.catalog import ADVERSE_OUTCOMES
from workflows import decisions, forms, reviews, rules, vocabulary
from workflows.core import Work
from workflows.cycle_pages import review_still_open
from workflows.forms import shown_value
from workflows.paging import Paging, sort_columns

CONSEQUENCES = vocabulary.CONSEQUENCES
#: Where a review stands, as the board names it (reviews.classify's words).
STANDING = {
    "open": ("未报送", "missing"),
    "overdue": ("逾期未报送", "overdue"),
    "submitted": ("已报送", "submitted"),
    "decided": ("已评定", "decided"),
    "not_reviewable": ("已离开考核", "left review"),
}
JOB_STATUS = {
    "queued": ("排队中", "queued"),
    "running": ("进行中", "running"),
    "done": ("已完成", "done"),
    "failed": ("失败", "failed"),
}
MEMBER_SORTS = {
    "tenancy_id": col(Tenancy.id),
    "firm": col(Firm.name),
    "uscc": col(Firm.uscc),
    **sort_columns(Review, "status", "due_on", "submitted_at", "score", "grade"),
}


def _standing(w: Work, review: Review, state: str) -> dict[str, Any]:
    """Where a review stands (reviews.classify) with its words, its due date and when it
    was submitted."""
    where = reviews.classify(review.status, state, review.due_on, w.today)
    zh, en = STANDING[where]
    return {
        "standing": where,
        "standing_zh": zh,
        "standing_en": en,
        "due_on": review.due_on,
        "submitted_at": review.submitted_at,
    }


def _consequence(code: str | None) -> dict[str, str | None]:
    """A decided review's consequence in words (None for none decided yet)."""
    zh, en = CONSEQUENCES.get(code or "", (None, None))
    return {"consequence_zh": zh, "consequence_en": en}


# ---- the board ------------------------------------------------------------------------------
def cycle_board(
    w: Work, *, space_ids: frozenset[int] | None, space: str = "", period: int | None = None
) -> list[dict[str, Any]]:
    """One row per space and period with reviews: how many firms, and how many have not
    reported, are overdue, have reported, are decided; the latest job."""
    overdue = and_(col(Review.status) == "open", col(Review.due_on) < w.today)

    def count(condition: Any) -> Any:
        return func.sum(case((condition, 1), else_=0))

    stmt = (
        select(  # type: ignore[call-overload]
            Space.id,
            Space.code,
            Space.name,
            Review.period,
            func.count(),
            count(col(Review.status) == "open"),
            count(overdue),
            count(col(Review.status) == "submitted"),
            count(col(Review.status) == "decided"),
            func.max(Review.due_on),
        )
        .select_from(Review)
        .join(Tenancy, col(Tenancy.id) == col(Review.tenancy_id))
        .join(Space, col(Space.id) == col(Tenancy.space_id))
        .group_by(col(Space.id), col(Space.code), col(Space.name), col(Review.period))
    )
    if space_ids is not None:
        stmt = stmt.where(col(Space.id).in_(sorted(space_ids)))
    if space:
        stmt = stmt.where(col(Space.code) == space)
    if period is not None:
        stmt = stmt.where(col(Review.period) == period)
    rows: list[dict[str, Any]] = []
    for sid, code, name, per, total, missing, late, submitted, decided, due in w.session.exec(
        stmt
    ).all():
        total = int(total)
        rows.append(
            {
                "space_id": sid,
                "space": code,
                "space_name": name,
                "period": per,
                "total": total,
                "missing": int(missing or 0),
                "overdue": int(late or 0),
                "submitted": int(submitted or 0),
                "decided": int(decided or 0),
                "reported_share": (int(submitted or 0) + int(decided or 0)) / total if total else 0,
                "due_on": due,
            }
        )
    return rows


def board_spaces(w: Work, *, space_ids: frozenset[int] | None) -> list[dict[str, Any]]:
    """The spaces an operator may open a cycle in (code and name)."""
    stmt = select(Space.code, Space.name).order_by(col(Space.code))
    if space_ids is not None:
        stmt = stmt.where(col(Space.id).in_(sorted(space_ids)))
    return [{"code": c, "name": n} for c, n in w.session.exec(stmt).all()]


def cycle_summary(w: Work, *, space: str, period: int) -> dict[str, Any]:
    """A cycle's counts, its rulebook's A cap, whether it may be decided now, its jobs."""
    found = w.space_by_code(space)
    assert found.id is not None
    board = cycle_board(w, space_ids=frozenset({found.id}), period=period)
    counts = board[0] if board else None
    rb = rules.for_space(w, found)
    cap = rb.review.grade_cap
    still_open = w.session.exec(
        select(func.count(), func.max(Review.due_on))
        .select_from(Review)
        .join(Tenancy, col(Tenancy.id) == col(Review.tenancy_id))
        .where(
            col(Tenancy.space_id) == found.id,
            col(Review.period) == period,
            col(Review.status) == "open",
            col(Review.due_on) >= w.today,
            col(Tenancy.state) == UNDER_REVIEW,
        )
    ).one()
    return {
        "space": found.code,
        "space_name": found.name,
        "period": period,
        "counts": counts,
        "cap": None
        if cap is None
        else {"grade": cap.grade, "max_percent": cap.max_percent, "demote_to": cap.demote_to},
        "still_open": int(still_open[0] or 0),
        "open_until": still_open[1],
        "decidable": counts is not None
        and int(still_open[0] or 0) == 0
        and counts["submitted"] + counts["overdue"] > 0,
        "jobs": cycle_jobs(w, space=found.code, period=period),
        "today": w.today,
    }


def cycle_members(
    w: Work,
    *,
    space: str,
    period: int,
    standing: str = "",
    search: str = "",
    paging: Paging,
) -> list[dict[str, Any]]:
    """The firms of a cycle, one page: where each review stands, its grade when decided."""
    found = w.space_by_code(space)
    stmt = (
        select(Review, Tenancy.id, Tenancy.state, Firm.name, Firm.uscc)  # type: ignore[call-overload]
        .join(Tenancy, col(Tenancy.id) == col(Review.tenancy_id))
        .join(Firm, col(Firm.id) == col(Tenancy.firm_id))
        .where(col(Tenancy.space_id) == found.id, col(Review.period) == period)
    )
    if standing == "missing":
        stmt = stmt.where(col(Review.status) == "open")
    elif standing == "overdue":
        stmt = stmt.where(col(Review.status) == "open", col(Review.due_on) < w.today)
    elif standing in ("submitted", "decided"):
        stmt = stmt.where(col(Review.status) == standing)
    if search:
        like = f"%{search}%"
        stmt = stmt.where(col(Firm.name).like(like) | col(Firm.uscc).like(like))
    rows = []
    for review, tenancy_id, state, name, uscc in w.session.exec(
        paging.apply(stmt, MEMBER_SORTS, "tenancy_id", col(Tenancy.id))
    ).all():
        rows.append(
            {
                "tenancy_id": tenancy_id,
                "firm": name,
                "uscc": uscc,
                **_standing(w, review, state),
                "score": review.score,
                "grade": review.grade,
                **_consequence(review.consequence),
            }
        )
    return rows


def cycle_preview(w: Work, *, space: str, period: int) -> dict[str, Any]:
    """The grades deciding the cycle now would give (the A cap applied); nothing is written.
    ``blocked``: why it cannot be decided yet (reviews still open before their deadline)."""
    decisions.check_period(w, period)
    found = w.space_row(space)
    rb = rules.for_space(w, found)
    members = decisions.cohort(w, found.id, period)
    if not members:
        raise review_not_found(period, space=found.code)
    still_open = [m for m in members if m.status == "open"]
    cohort_size = len([m for m in members if m.status in (*decisions.DECIDABLE, "decided")])
    out: dict[str, Any] = {
        "space": found.code,
        "period": period,
        "cohort": cohort_size,
        "cap": decisions.cap_view(rb, cohort_size),
        "blocked": None,
        "rows": [],
        "grades": {},
        "already_decided": len([m for m in members if m.status == "decided"]),
    }
    if still_open:
        last = max((m.review.due_on for m in still_open if m.review.due_on), default=None)
        out["blocked"] = (
            f"尚有 {len(still_open)} 家企业的考核在截止日（{last}）前未报送，截止后方可集中评定 / "
            f"{len(still_open)} review(s) are open until {last}; the cohort is decided after "
            "the deadline"
        )
        return out
    try:
        planned = decisions.plan_cycle(w, rb, members)
    except InnospaceError as err:
        out["blocked"] = err.message
        return out
    grades: dict[str, int] = {}
    for p in planned:
        d = p.decision
        grades[d.grade] = grades.get(d.grade, 0) + 1
        out["rows"].append(
            {
                "tenancy_id": p.member.tenancy_id,
                **p.member.who(),
                "submitted": p.member.status == "submitted",
                "score": d.score,
                "scored_grade": p.scored_grade,
                "grade": d.grade,
                "demoted": p.demoted,
                "consequence_zh": CONSEQUENCES.get(d.consequence, (d.consequence, ""))[0],
                "consequence_en": CONSEQUENCES.get(d.consequence, ("", d.consequence))[1],
            }
        )
    out["grades"] = dict(sorted(grades.items()))
    return out


def cycle_jobs(w: Work, *, space: str, period: int, limit: int = 5) -> list[dict[str, Any]]:
    found = w.space_by_code(space)
    stmt = (
        select(CycleJob)
        .where(col(CycleJob.space_id) == found.id, col(CycleJob.period) == period)
        .order_by(col(CycleJob.id).desc())
        .limit(limit)
    )
    return [_job(j, found.code, w) for j in w.session.exec(stmt).all()]


def cycle_job(w: Work, *, space: str, period: int, job_id: int) -> dict[str, Any]:
    """One job of this space and period (NotFound for another's)."""
    found = w.space_by_code(space)
    job = w.session.get(CycleJob, job_id)
    if job is None or job.space_id != found.id or job.period != period:
        raise NotFound("cycle job", job_id)
    return _job(job, found.code, w)


def _job(job: CycleJob, code: str, w: Work) -> dict[str, Any]:
    lapsed = job.lease_until is None or job.lease_until <= w.now
    return {
        "id": job.id,
        "space": code,
        "period": job.period,
        "kind": job.kind,
        "kind_zh": "集中评定" if job.kind == "decide" else "启动考核",
        "kind_en": "decide" if job.kind == "decide" else "open",
        "status": job.status,
        "status_zh": JOB_STATUS[job.status][0],
        "status_en": JOB_STATUS[job.status][1],
        "live": job.status in ("queued", "running"),
        # a runner may take it: queued, or running under a lease that has lapsed (its runner
        # stopped with the server)
        "claimable": job.status == "queued" or (job.status == "running" and lapsed),
        "total": job.total,
        "done": job.done,
        "result": dict(job.result),
        "error": job.error,
        "requested_by": job.requested_by,
        "created_at": job.created_at,
        "finished_at": job.finished_at,
        "lease_until": job.lease_until,
    }


# ---- the portal: a firm's reviews -----------------------------------------------------------
def firm_reviews(w: Work, *, firm_id: int) -> list[dict[str, Any]]:
    """Every review of the firm's tenancies, newest first."""
    stmt = (
        select(Review, Tenancy.state, Space.code, Space.name)
        .join(Tenancy, col(Tenancy.id) == col(Review.tenancy_id))
        .join(Space, col(Space.id) == col(Tenancy.space_id))
        .where(col(Tenancy.firm_id) == firm_id)
        .order_by(col(Review.period).desc(), col(Tenancy.id))
    )
    out = []
    for review, state, code, name in w.session.exec(stmt).all():
        out.append(
            {
                "tenancy_id": review.tenancy_id,
                "period": review.period,
                "space": code,
                "space_name": name,
                **_standing(w, review, state),
                "grade": review.grade,
            }
        )
    return out


def figure_form(w: Work, *, tenancy_id: int, period: int) -> dict[str, Any]:
    """The figures form of one review: every field (label, unit, rule), the draft or the
    figures submitted, where the review stands and, once decided, the grade and its reasons."""
    tenancy = w.tenancy(tenancy_id, lock=False)
    review = w.session.exec(
        select(Review).where(col(Review.tenancy_id) == tenancy_id, col(Review.period) == period)
    ).first()
    if review is None:
        raise review_not_found(period, tenancy_id=tenancy_id)
    space = w.session.get(Space, tenancy.space_id)
    firm = w.session.get(Firm, tenancy.firm_id)
    assert space is not None and firm is not None
    rb = rules.for_tenancy(w, tenancy)
    draft = w.session.exec(
        select(FigureDraft).where(
            col(FigureDraft.tenancy_id) == tenancy_id, col(FigureDraft.period) == period
        )
    ).first()
    where = reviews.classify(review.status, tenancy.state, review.due_on, w.today)
    submitted = {k: shown_value(v) for k, v in review.figures.items()}
    # a draft saved before the last submission is history: the form shows what was submitted
    if draft is not None and review.submitted_at is not None:
        draft = draft if draft.saved_at > review.submitted_at else None
    return {
        "tenancy_id": tenancy_id,
        "period": period,
        "space": space.code,
        "space_name": space.name,
        "firm": firm.name,
        "uscc": firm.uscc,
        "standing": where,
        "standing_zh": STANDING[where][0],
        "standing_en": STANDING[where][1],
        "open": review.status != "decided" and tenancy.state == UNDER_REVIEW,
        "overdue": review.status == "open"
        and review.due_on is not None
        and review.due_on < w.today,
        "due_on": review.due_on,
        "submitted_at": review.submitted_at,
        # figures sent (or corrected) from now on arrive after the due date: the rulebook's
        # data on time, established from the day they arrive, is not earned
        "past_due_not_on_time": review.due_on is not None
        and review.due_on < w.today
        and any(m.fact == "submitted_on_time" for m in rb.facts.values()),
        "fields": forms.figure_fields(rb),
        "draft": dict(draft.values) if draft is not None else {},
        "draft_saved_at": draft.saved_at if draft is not None else None,
        "submitted": submitted,
        "submitted_shown": {
            k: _amount(v, rb.metrics[k].unit if k in rb.metrics else "count")
            for k, v in review.figures.items()
        },
        "decided": review.status == "decided",
        "score": review.score,
        "grade": review.grade,
        **_consequence(review.consequence),
        # a rectification or an exit: its notice is a legal one, naming how to contest it
        "contestable": review.consequence in ADVERSE_OUTCOMES.values(),
        "reasons": reasons(review.trace, rb) if review.status == "decided" else [],
        "decided_at": review.decided_at,
    }


def _amount(value: object, unit: str) -> tuple[str, str]:
    """A figure as a firm reads it (zh, en): 3,000,000 元, 是/否, 12.5%, 3 天, a day as it is
    (2025-01-14)."""
    if isinstance(value, bool):
        return ("是", "yes") if value else ("否", "no")
    if unit == "date":
        return str(value), str(value)
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        return str(value), str(value)
    places = 0 if number == number.to_integral_value() else 2
    shown = f"{number:,.{places}f}"
    if unit == "yuan":
        return f"{shown} 元", f"CNY {shown}"
    if unit == "percent":
        return f"{shown}%", f"{shown}%"
    if unit == "m2":
        return f"{shown} 平方米", f"{shown} m²"
    if unit == "days":
        return f"{shown} 天", f"{shown} day{'' if number == 1 else 's'}"
    return shown, shown


#: Figures a trace step computes (not reported by the firm): their labels and units.
_DERIVED = {
    "per_m2": ("每平方米", "per m²", "yuan"),
    "percent": ("比例", "share", "percent"),
    "leased_area_m2": ("租赁面积", "leased area", "m2"),
    "score": ("总分", "score", "count"),
    # the parts of the cooperation fact (``Metric.fact``), counted from the opportunity lists
    "published_entries": ("当年发布的机会清单条目", "entries on lists published", "count"),
    "deals": ("当年成交的对接", "introductions ending in a deal", "count"),
    # the parts of the submitted-on-time fact, from the review's submission and due date
    "submitted_on": ("报送日", "submitted on", "date"),
    "due_on": ("截止日", "due on", "date"),
    "days_late": ("逾期", "late by", "days"),
}
_READING_ORDER = {"submitted_on": 1, "due_on": 2, "days_late": 3}


def _figures(figures: object, rb: rbook.Rulebook) -> tuple[str, str]:
    if not isinstance(figures, dict):
        return "", ""
    zh: list[str] = []
    en: list[str] = []
    # a trace stores its figures by name; a fact's parts read in the order of _DERIVED
    ordered = sorted(figures.items(), key=lambda kv: _READING_ORDER.get(kv[0], 0))
    for key, value in ordered:
        if value is None:
            continue
        metric = rb.metrics.get(key)
        label: tuple[str, str, str]
        if key.startswith("previous_") and key.removeprefix("previous_") in rb.metrics:
            base = rb.metrics[key.removeprefix("previous_")]
            label = (f"上年{base.label_zh}", f"previous {base.label_en}", base.unit)
        elif metric is not None:
            label = (metric.label_zh, metric.label_en, metric.unit)
        elif key in _DERIVED:
            label = _DERIVED[key]
        else:
            continue
        a_zh, a_en = _amount(value, label[2])
        zh.append(f"{label[0]} {a_zh}")
        en.append(f"{label[1]} {a_en}")
    return "；".join(zh), "; ".join(en)


def reasons(trace: dict[str, Any], rb: rbook.Rulebook) -> list[dict[str, Any]]:
    """The decision's trace in words a firm reads: each scored item with its figures and the
    points it earned, each category's subtotal, the checks (vetoes, reporting on time), the
    grade and, where it applied, the cap on top grades."""
    out: list[dict[str, Any]] = []
    for step in trace.get("steps", []):
        rule = str(step.get("rule", ""))
        threshold = step.get("threshold")
        result = step.get("result")
        limits = threshold if isinstance(threshold, dict) else {}
        fig_zh, fig_en = _figures(step.get("figures"), rb)
        row: dict[str, Any] = {
            "label_zh": str(step.get("label_zh", "")),
            "label_en": str(step.get("label_en", "")),
            "figures_zh": fig_zh,
            "figures_en": fig_en,
            "result_zh": "",
            "result_en": "",
            "subtotal": False,
        }
        if rule.startswith("review.item."):
            row["result_zh"] = f"{result} 分（满分 {limits.get('points')} 分）"
            row["result_en"] = f"{result} of {limits.get('points')} points"
        elif rule.startswith("review.category."):
            row.update(figures_zh="", figures_en="", subtotal=True)
            row["result_zh"] = f"小计 {result} 分（满分 {limits.get('weight')} 分）"
            row["result_en"] = f"subtotal {result} of {limits.get('weight')} points"
        elif rule.startswith("review.fact.") and isinstance(result, bool):
            row["result_zh"] = f"系统判定：{'是' if result else '否'}"
            row["result_en"] = f"established: {'yes' if result else 'no'}"
        elif rule.startswith("review.fact."):
            row["result_zh"] = f"系统统计 {result}"
            row["result_en"] = f"counted: {result}"
        elif rule == "review.grade":
            row["result_zh"] = row["result_en"] = str(result)
            bands = "、".join(f"{g} {lo}–{hi} 分" for g, (lo, hi) in limits.items())
            row["figures_zh"] = f"{fig_zh}（{bands}）" if bands else fig_zh
        elif rule == "review.grade_cap":
            row["figures_zh"] = (
                f"优秀比例上限 {limits.get('max_percent')}%，本批 "
                f"{(step.get('figures') or {}).get('cohort')} 家中最多 "
                f"{(step.get('figures') or {}).get('allowed')} 家"
            )
            row["figures_en"] = f"at most {limits.get('max_percent')}% of the cohort"
            row["result_zh"] = row["result_en"] = str(result)
        elif result in ("pass", "fail"):
            row["result_zh"] = "通过" if result == "pass" else f"未通过：评为 {threshold}"
            row["result_en"] = "passed" if result == "pass" else f"failed: grade {threshold}"
            row["figures_zh"] = row["figures_en"] = ""
        elif rule == "review.consequence":
            row.update(label_zh="考核结论", label_en="Consequence", figures_zh="", figures_en="")
            row["result_zh"] = str(step.get("label_zh", ""))
            row["result_en"] = str(step.get("label_en", ""))
        else:
            row["result_zh"] = row["result_en"] = "" if result is None else str(result)
        out.append(row)
    return out


def check_figure_form(
    w: Work, *, tenancy_id: int, period: int, values: dict[str, str]
) -> tuple[dict[str, Any], dict[str, tuple[str, str]]]:
    """The figures as the review takes them, and each bad field's message (zh, en), checked
    under the tenancy's rulebook as ``SubmitReview`` checks them. Refused in Chinese when the
    review is decided or closed."""
    tenancy = review_still_open(
        w,
        tenancy_id,
        period,
        f"{period} 年度考核已评定，不能再报送考核数据 / the {period} review is decided: "
        "figures can no longer be submitted",
    )
    rb = rules.for_tenancy(w, tenancy)
    figures: dict[str, Any] = {}
    problems: dict[str, tuple[str, str]] = {}
    for spec in forms.figure_fields(rb):
        value, problem = forms.check_figure(rb, spec, values.get(spec.code, ""))
        if problem is not None:
            problems[spec.code] = (problem.expected_zh, problem.expected_en)
        elif value is not None:
            figures[spec.code] = value
    return rbook.jsonable(figures), problems


def firm_uscc(w: Work, *, firm_id: int) -> str:
    firm = w.session.get(Firm, firm_id)
    if firm is None:
        raise NotFound("firm", firm_id)
    return firm.uscc


def day_of(w: Work) -> date:
    return w.today


def openable(w: Work, *, space: str, period: int) -> int:
    """How many firms opening the ``period`` cycle of ``space`` would reach (active, started
    by the period's end, without its review: those ``open_cycle`` opens)."""
    from db.cohorts import cycle_candidates as candidates

    reviews.check_period_ended(period, w.today)
    found = w.space_by_code(space)
    assert found.id is not None
    return int(
        w.session.exec(
            select(func.count()).select_from(Tenancy).where(*candidates(found.id, period))
        ).one()
    )
