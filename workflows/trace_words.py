"""What a person calls the names inside a decision's trace: its figures and thresholds.

A trace names what it used by code (``growth_percent``, ``previous_revenue_yuan``,
``max_staff``, a score item's id); pages show these words instead, in Chinese or English.
The rulebook supplies its own: metrics, categories, score items, vetoes, admission criteria
and profile fields; :data:`TRACE_WORDS` the rest.
"""

from __future__ import annotations

from lifecycle.rulebook.model import Rulebook
from workflows import forms, vocabulary

Words = dict[str, vocabulary.Words]

#: Names in a trace that are not the rulebook's own (metrics, items, criteria, fields).
TRACE_WORDS: Words = {
    # screening
    "standard": ("标准", "standard"),
    "on": ("审查日", "on"),
    "age_months": ("成立月数", "age in months"),
    "latest_entry_on": ("最迟入驻日", "latest entry"),
    "max_age_months": ("成立月数上限", "max age in months"),
    "max_area_m2": ("面积上限（m²）", "max area (m²)"),
    "max_prev_year_revenue_yuan": ("上年营收上限（元）", "max previous-year revenue"),
    "max_staff": ("人数上限", "max staff"),
    "max_revenue_yuan": ("营收上限（元）", "max revenue"),
    "max_assets_yuan": ("资产上限（元）", "max assets"),
    "require_true": ("须为“是”", "must be yes"),
    "require_false": ("须为“否”", "must be no"),
    "industries": ("行业清单", "industries"),
    "period": ("期限", "period"),
    "barred_until": ("限制期至", "barred until"),
    # expert scoring
    "reviewer": ("评审专家", "reviewer"),
    "reviewers": ("评审人数", "reviewers"),
    "score": ("得分", "score"),
    "band": ("分数段", "band"),
    "excluded": ("回避", "excluded"),
    "dropped": ("去掉", "dropped"),
    "trim_from": ("去分起始人数", "trim from"),
    "trim_each_end": ("两端各去", "trim each end"),
    "mean": ("平均分", "mean"),
    "counted": ("计入", "counted"),
    # annual review
    "points": ("分值", "points"),
    "weight": ("权重", "weight"),
    "full_at": ("满分值", "full marks at"),
    "full_at_percent": ("满分比例（%）", "full marks at (%)"),
    "no_previous_percent": ("无上年数据时得分比例（%）", "share given without a previous year (%)"),
    "leased_area_m2": ("租用面积（m²）", "leased area (m²)"),
    "per_m2": ("每平方米", "per m²"),
    "percent": ("比例（%）", "percent"),
    "growth_percent": ("同比增长（%）", "growth on the year (%)"),
    "submitted": ("已报送", "submitted"),
    "published_entries": ("当年发布的机会清单条目", "entries on lists published"),
    "deals": ("当年成交的对接", "introductions ending in a deal"),
    "submitted_on": ("报送日", "submitted on"),
    "days_late": ("逾期天数", "days late"),
    "raised": ("触发", "raised"),
    "grade": ("等级", "grade"),
    "previous_grade": ("上年等级", "previous grade"),
    "cohort": ("参评企业数", "firms reviewed"),
    "with_grade": ("该等级企业数", "firms with the grade"),
    "allowed": ("允许数", "allowed"),
    "cutoff": ("分数线", "cut-off score"),
    "max_percent": ("比例上限（%）", "max share (%)"),
    "rounding": ("取整方式", "rounding"),
    # periods and windows
    "today": ("当日", "today"),
    "due_on": ("截止日", "due on"),
    "lodged_on": ("提出日", "lodged on"),
    "window_end": ("期限届满日", "window ends"),
    "named": ("已具名", "named"),
    "written": ("书面提出", "in writing"),
    "has_reasons": ("附理由", "with reasons"),
    **vocabulary.PERIODS,
}


def trace_words(rb: Rulebook | None) -> Words:
    """Every name a trace made under ``rb`` may use, as a key or as a value (a track, an
    industry, a profile field, a period), with its words (``TRACE_WORDS`` and the profile's
    fields without a rulebook). A metric's previous-year figure is
    ``previous_<metric>``."""
    words = dict(TRACE_WORDS)
    words |= {name: (zh, en) for name, (zh, en, _unit, _type) in forms.PROFILE_FIELDS.items()}
    if rb is None:
        return words
    words |= {code: (t.label_zh, t.label_en) for code, t in rb.tracks.items()}
    words |= {i.code: (i.label_zh, i.label_en) for i in rb.industries}
    for name, metric in rb.metrics.items():
        words[name] = (metric.label_zh, metric.label_en)
        words[f"previous_{name}"] = (f"上年{metric.label_zh}", f"{metric.label_en} (previous year)")
    for category in rb.review.categories:
        words[category.id] = (category.label_zh, category.label_en)
        words |= {item.id: (item.label_zh, item.label_en) for item in category.items}
    words |= {v.code: (v.label_zh, v.label_en) for v in rb.review.vetoes}
    words |= {c.id: (c.label_zh, c.label_en) for c in rb.admission.scoring.criteria}
    return words
