"""A readable summary of a rulebook (``innospace rules show``), in Chinese or English."""

from __future__ import annotations

from lifecycle.errors import InvalidInput
from lifecycle.periods import Period
from lifecycle.rulebook.model import Rulebook


def _lang(locale: str) -> str:
    lang = locale.lower()[:2]
    if lang not in ("zh", "en"):
        raise InvalidInput("locale", "must be a zh-* or en-* locale", locale)
    return lang


def describe(rulebook: Rulebook, locale: str = "zh-CN") -> str:
    """Multi-line summary of every rule, labels and periods in the chosen language."""
    rb = rulebook
    zh = _lang(locale) == "zh"

    def t(zh_text: str, en_text: str) -> str:
        return zh_text if zh else en_text

    def label(obj: object) -> str:
        return str(getattr(obj, "label_zh" if zh else "label_en"))

    def per(period: Period | str) -> str:
        value = rb.periods.get(period) if isinstance(period, str) else period
        return value.describe("zh-CN" if zh else "en")

    lines = [
        f"{rb.meta.name_zh if zh else rb.meta.name}",
        f"{t('版本', 'Version')}: {rb.version[:12]}  {t('时区', 'Time zone')}: {rb.meta.timezone}",
        "",
        t("【期限】", "[Periods]"),
    ]
    lines += [f"  {name}: {per(name)}" for name in rb.periods.names()]
    lines += ["", t("【入驻通道】", "[Tracks]")]
    for code, track in rb.tracks.items():
        caps = [
            f"{t('成立', 'age')} ≤ {track.max_age_months}{t('个月', ' months')}"
            if track.max_age_months is not None
            else "",
            f"{t('面积', 'area')} ≤ {track.max_area_m2} m²"
            if track.max_area_m2 is not None
            else "",
            f"{t('上年营收', 'prev-year revenue')} ≤ {track.max_prev_year_revenue_yuan}"
            f"{t('元', ' yuan')}"
            if track.max_prev_year_revenue_yuan is not None
            else "",
        ]
        shown = "; ".join(c for c in caps if c) or t("无限制", "no caps")
        lines.append(f"  {code} {label(track)}: {shown}")
    term = rb.term
    lines += [
        "",
        t("【期限与租期】", "[Term]"),
        f"  {t('孵化期上限', 'Incubation cap')}: {term.incubation_cap_months}"
        f"{t('个月', ' months')}; {', '.join(term.extended_cap_industries)}: "
        f"{term.extended_cap_months}{t('个月', ' months')}",
        f"  {t('租期', 'Lease')}: {term.lease_min_years}–{term.lease_max_years}"
        f"{t('年', ' years')}; {t('到期提醒', 'expiry alerts')}: "
        f"{', '.join(str(d) for d in term.expiry_alert_days)}{t('天', ' days')}; "
        f"{t('延期', 'extensions')} ≤ {term.max_extensions} × {term.extension_max_months}"
        f"{t('个月', ' months')}",
        "",
        t("【入驻硬性条件】", "[Hard requirements]"),
    ]
    lines += [f"  {r.id} {label(r)}" for r in rb.admission.requirements]
    sc = rb.admission.scoring
    lines += [
        "",
        t("【专家评分】", "[Expert scoring]"),
        f"  {t('评审专家', 'reviewers')} ≥ {sc.min_reviewers}; "
        f"{t('人数', 'with')} ≥ {sc.trim_from} {t('时去掉最高最低分各', 'drop top/bottom')} "
        f"{sc.trim_each_end}; {t('通过线', 'pass')} {sc.pass_score}; "
        f"{t('优先线', 'priority')} {sc.priority_score}",
    ]
    for c in sc.criteria:
        bands = " | ".join(f"{b.min}–{b.max} {label(b)}" for b in c.bands)
        lines.append(f"  {label(c)} ({c.weight}): {bands}")
    lines += [f"  · {label(r)}" for r in rb.admission.objection_rules]
    rv = rb.review
    cal = rv.calendar
    lines += [
        "",
        t("【年度考核】", "[Annual review]"),
        t(
            f"  {cal.open_month}月第{cal.open_workday}个工作日开放，"
            f"第{cal.due_workday}个工作日截止",
            f"  opens on working day {cal.open_workday} of month {cal.open_month}, "
            f"due on working day {cal.due_workday}",
        ),
    ]
    for cat in rv.categories:
        items = ", ".join(f"{label(i)} {i.points}" for i in cat.items)
        lines.append(f"  {label(cat)} ({cat.weight}): {items}")
    lines.append("  " + "; ".join(f"{g.grade} {label(g)} {g.min}–{g.max}" for g in rv.grades))
    if rv.grade_cap is not None:
        lines.append(f"  {rv.grade_cap.grade} ≤ {rv.grade_cap.max_percent}%")
    lines.append(
        f"  {t('一票否决', 'Vetoes')} → {rv.veto_grade}: " + ", ".join(label(v) for v in rv.vetoes)
    )
    lines += [
        f"  {c.grade}{'/' + c.previous_grade if c.previous_grade else ''}: {label(c)}"
        for c in rv.consequences
    ]
    lines += [
        "",
        t("【整改】", "[Rectification]"),
        f"  {t('整改方案', 'plan')} {per('rectification_plan')}; {t('整改期', 'rectify')} "
        f"{per('rectification')}; {t('延期', 'extension')} ≤ "
        f"{rb.rectification.max_extensions} × {per('rectification_extension_max')}",
        "",
        t("【毕业条件（满足其一）】", "[Graduation (any one)]"),
    ]
    lines += [f"  {label(c)}" for c in rb.exit.graduation.criteria]
    lines += ["", t("【强制退出情形】", "[Forced-exit triggers]")]
    for trig in rb.exit.triggers:
        extra = f" {per(trig.period)}" if trig.period else ""
        lines.append(
            f"  {trig.code}: {label(trig)} — {trig.handling}{extra}; "
            f"{t('追回', 'clawback')} {trig.clawback}"
            + (
                f"; {t('限制申请', 'reapply bar')} {per(trig.reapply_bar)}"
                if trig.reapply_bar
                else ""
            )
        )
    lines += ["", t("【强制退出程序】", "[Forced-exit procedure]")]
    lines += [
        f"  {i}. {label(s)}" + (f" ({per(s.period)})" if s.period else "")
        for i, s in enumerate(rb.exit.procedure, 1)
    ]
    return "\n".join(lines) + "\n"
