"""Forms (填报模板): every field of the application profile and of the review figures, with its
Chinese label, unit and rule, read from the rulebook model; the example each form ships with;
and the cohort import of review figures (:class:`ImportFigures`), checked cell by cell.

Nothing here touches a file: ``workflows.excel`` writes and reads the workbooks, the CLI the
JSON files.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from importlib import resources
from typing import Any, Literal, get_args

from pydantic import ValidationError

from db.effects import TenancyRow
from db.repositories import ReviewRow
from lifecycle import rulebook as rbook
from lifecycle.errors import InnospaceError, InvalidInput, bilingual
from lifecycle.rulebook import ApplicationProfile, HardRequirement, Metric, Rulebook
from lifecycle.rulebook.model_review import Veto
from lifecycle.table import STATE_LABELS, STATES, TERMINAL, UNDER_REVIEW
from workflows import inputs, residency, rules, vocabulary
from workflows.commands import Command, SubmitReview
from workflows.core import Work

FormName = Literal["profile", "figures"]
FieldType = Literal["text", "date", "integer", "number", "bool", "choice"]

#: Units as a person reads them (zh-CN, English).
UNITS = vocabulary.UNITS

YES_WORDS = frozenset({"是", "true", "yes", "y", "1", "√"})
NO_WORDS = frozenset({"否", "false", "no", "n", "0", "×"})


def _fixed_fields() -> dict[str, Any]:
    """The packaged ``forms_fields.toml`` (the forms' fixed fields: the profile's labels and
    units, the fields a sheet starts with), every unit and type checked."""
    text = resources.files("workflows").joinpath("forms_fields.toml").read_text("utf-8")
    tables = tomllib.loads(text)
    sheets = tables["sheet"].values()
    for entry in [*tables["profile"].values(), *(entry for listed in sheets for entry in listed)]:
        if entry["unit"] not in UNITS or entry["type"] not in get_args(FieldType):
            raise ValueError(f"forms_fields.toml: unknown unit or type in {entry}")
    return tables


_FIXED_FIELDS = _fixed_fields()
#: The application profile (lifecycle.rulebook.ApplicationProfile): label (zh-CN, English), unit
#: and type of each field. A test keeps this table and the model's fields the same.
PROFILE_FIELDS: dict[str, tuple[str, str, str, FieldType]] = {
    name: (spec["label_zh"], spec["label_en"], spec["unit"], spec["type"])
    for name, spec in _FIXED_FIELDS["profile"].items()
}
#: Profile fields ``apply`` fills from the firm's registration when the file leaves them out.
FROM_FIRM = ("uscc", "name")
#: The track caps of the rulebook and the profile field each one limits.
CAP_FIELD = {
    "max_age_months": "founded_on",
    "max_area_m2": "requested_area_m2",
    "max_prev_year_revenue_yuan": "prev_year_revenue_yuan",
}
#: The firm that the example profile describes (a valid 统一社会信用代码).
EXAMPLE_FIRM = {"uscc": "91510115MA6CB1XK15", "name": "示例生物科技有限公司"}


@dataclass(frozen=True)
class FieldSpec:
    """One field of a form: what it is, its unit and the rule it must meet."""

    code: str
    label_zh: str
    label_en: str
    unit: str
    type: FieldType
    required: bool
    rule_zh: str
    rule_en: str
    example: Any
    choices: tuple[str, ...] = ()
    non_negative: bool = False
    #: An area (the one applied for): greater than 0, not merely not below it.
    positive: bool = False

    @property
    def unit_zh(self) -> str:
        return UNITS[self.unit][0]

    @property
    def unit_en(self) -> str:
        return UNITS[self.unit][1]

    @property
    def heading(self) -> str:
        """The second header row of a sheet: label and unit (and * when required)."""
        unit = "" if self.unit in ("text", "code") else f"（{self.unit_zh}）"
        return f"{self.label_zh}{unit}{' *' if self.required else ''}"

    def describe(self) -> dict[str, Any]:
        """The field as the ``NAME.fields.json`` file lists it (choices only where there are)."""
        described = record(self, DESCRIBED, field="code")
        if self.choices:
            described["choices"] = list(self.choices)
        else:
            del described["choices"]
        return described


#: The keys of :meth:`FieldSpec.describe`, in order.
DESCRIBED = (
    "field",
    "label_zh",
    "label_en",
    "type",
    "unit",
    "unit_zh",
    "unit_en",
    "required",
    "rule_zh",
    "rule_en",
    "choices",
    "example",
)


def record(item: object, keys: Iterable[str], **attributes: str) -> dict[str, Any]:
    """``{key: item.key}`` for each of ``keys`` in order; ``key="name"`` reads ``item.name``."""
    return {key: getattr(item, attributes.get(key, key)) for key in keys}


#: The fields each form's sheet starts with, before the form's own.
SHEET_FIELDS: dict[str, tuple[FieldSpec, ...]] = {
    form: tuple(FieldSpec(**entry) for entry in entries)
    for form, entries in _FIXED_FIELDS["sheet"].items()
}


# ---- the fields of each form ---------------------------------------------------------------
def fields(rb: Rulebook, form: FormName) -> list[FieldSpec]:
    return profile_fields(rb) if form == "profile" else figure_fields(rb)


def figure_fields(rb: Rulebook) -> list[FieldSpec]:
    """One field per review metric of ``rb`` a firm reports, in the rulebook's order."""
    vetoes = {v.metric: v for v in rb.review.vetoes if v.metric}
    scored: dict[str, list[str]] = {}
    for category in rb.review.categories:
        for item in category.items:
            for name in (item.metric, item.denominator):
                if name:
                    scored.setdefault(name, []).append(f"{item.label_zh}（{item.points}分）")
    return [
        _metric_field(m, vetoes.get(m.name), scored.get(m.name, []), rb)
        for m in rb.metrics.values()
        if m.fact is None  # counted by the engine, not submitted
    ]


def quarterly_fields(rb: Rulebook) -> list[FieldSpec]:
    """The quarterly light report's fields (``review.calendar.quarterly_metrics``, in the
    rulebook's order): each field's label, unit and rule only — the quarter's figures are
    neither scored nor graded, so nothing of the annual review's scoring is said."""
    wanted = rb.review.calendar.quarterly_metrics
    return [
        _metric_field(m, None, [], rb, graded=False)
        for m in rb.metrics.values()
        if m.fact is None and m.name in wanted
    ]


def unit_words(unit: str) -> tuple[str, str]:
    """``，单位：元`` / ``, in yuan`` — nothing for a count, whose label says what it counts
    (从业人员, 专利) better than one word for people, things and times could."""
    if unit == "count":
        return "", ""
    return f"，单位：{UNITS[unit][0]}", f", in {UNITS[unit][1]}"


def _metric_field(
    metric: Metric, veto: Veto | None, scored: list[str], rb: Rulebook, *, graded: bool = True
) -> FieldSpec:
    zh: list[str] = ["必填" if metric.required else "选填（不填视为未报送）"]
    en: list[str] = ["required" if metric.required else "optional (blank: not reported)"]
    if metric.unit == "bool":
        zh.append("填“是”或“否”")
        en.append("yes or no")
    else:
        whole = "整数" if metric.integer else "数值"
        whole_en = "a whole number" if metric.integer else "a number"
        in_zh, in_en = unit_words(metric.unit)
        if metric.sign == "non_negative":
            zh.append(f"不小于 0 的{whole}{in_zh}")
            en.append(f"{whole_en} not below 0{in_en}")
        else:
            zh.append(f"{whole}（可为负数）{in_zh}")
            en.append(f"{whole_en} (may be negative){in_en}")
    if veto is not None:
        zh.append(f"为“是”时一票否决（{veto.label_zh}，评为 {rb.review.veto_grade}）")
        en.append(f"yes is a one-vote veto ({veto.label_en}: grade {rb.review.veto_grade})")
    if scored:
        zh.append("计分项：" + "、".join(scored))
        en.append(f"scored in {len(scored)} item(s)")
    if metric.required and graded:
        zh.append(f"缺报评为 {rb.review.missing_data_grade}")
        en.append(f"missing: grade {rb.review.missing_data_grade}")
    return FieldSpec(
        code=metric.name,
        label_zh=metric.label_zh,
        label_en=metric.label_en,
        unit=metric.unit,
        type="bool" if metric.unit == "bool" else "integer" if metric.integer else "number",
        required=metric.required,
        rule_zh="；".join(zh),
        rule_en="; ".join(en),
        example=_example_figure(metric, veto is not None),
        non_negative=metric.sign == "non_negative",
    )


_EXAMPLE_NUMBERS = {"yuan": 1_000_000, "count": 5, "m2": 100, "percent": 10}


def _example_figure(metric: Metric, is_veto: bool) -> Any:
    if metric.unit == "bool":
        return not is_veto
    return _EXAMPLE_NUMBERS.get(metric.unit, 1)


def _size_caps(req: HardRequirement) -> dict[str, int]:
    """The SME size caps an ``sme_profile`` requirement sets, by the profile field each limits."""
    caps = {
        "staff": req.max_staff,
        "revenue_yuan": req.max_revenue_yuan,
        "assets_yuan": req.max_assets_yuan,
    }
    return {name: cap for name, cap in caps.items() if cap is not None}


def profile_fields(rb: Rulebook) -> list[FieldSpec]:
    """One field per ApplicationProfile field, its rule completed from ``rb``'s hard
    requirements (H1–H8: size caps, track caps, required yes/no answers, industries)."""
    zh: dict[str, list[str]] = {name: [] for name in PROFILE_FIELDS}
    en: dict[str, list[str]] = {name: [] for name in PROFILE_FIELDS}

    def add(name: str, rule_zh: str, rule_en: str) -> None:
        zh[name].append(rule_zh)
        en[name].append(rule_en)

    for req in rb.admission.requirements:
        tag = f"（{req.id}）"
        for flag in req.require_true:
            add(flag, f"须为“是”{tag}", f"must be yes ({req.id})")
        for flag in req.require_false:
            add(flag, f"须为“否”{tag}", f"must be no ({req.id})")
        if req.check == "uscc":
            add(
                "uscc",
                f"18 位，校验位有效{tag}",
                f"18 characters, valid check character ({req.id})",
            )
        if req.check == "sme_profile":
            for size, cap in _size_caps(req).items():
                zh_unit, en_unit = UNITS[PROFILE_FIELDS[size][2]]
                add(size, f"不超过 {cap:,} {zh_unit}{tag}", f"at most {cap:,} {en_unit} ({req.id})")
        if req.check == "track_cap" and req.cap is not None:
            for code, track in rb.tracks.items():
                cap = getattr(track, req.cap)
                if cap is None:
                    continue
                what = "成立不超过" if req.cap == "max_age_months" else "不超过"
                capped = CAP_FIELD[req.cap]
                unit_zh, unit_en = (
                    ("个月", "months old")
                    if req.cap == "max_age_months"
                    else UNITS[PROFILE_FIELDS[capped][2]]
                )
                add(
                    capped,
                    f"{track.label_zh}类{what} {cap:,} {unit_zh}{tag}",
                    f"{code}: at most {cap:,} {unit_en} ({req.id})",
                )
        if req.check == "industry":
            allowed = "、".join(req.industries)
            add(
                "industry",
                f"属于 {allowed} 之一（或其下级）{tag}",
                f"one of {', '.join(req.industries)} or a child ({req.id})",
            )
    industries = tuple(i.code for i in rb.industries)
    tracks = tuple(rb.tracks)
    examples = {**EXAMPLE_FIRM, **example_profile(rb)}
    out: list[FieldSpec] = []
    for name, (label_zh, label_en, unit, kind) in PROFILE_FIELDS.items():
        positive = name in POSITIVE_FIELDS
        base_zh, base_en = _profile_base_rule(name, kind, unit, positive=positive)
        choices: tuple[str, ...] = ()
        if name == "industry":
            choices = industries
            labels = "、".join(f"{i.code}={i.label_zh}" for i in rb.industries)
            base_zh, base_en = f"行业代码：{labels}", f"an industry code: {', '.join(industries)}"
        if name == "track":
            choices = tracks
            labels = "、".join(f"{c}={t.label_zh}" for c, t in rb.tracks.items())
            base_zh, base_en = f"类别代码：{labels}", f"a track code: {', '.join(tracks)}"
        if name in FROM_FIRM:
            base_zh += "；文件中可省略，由企业登记（firm add）填入"
            base_en += "; may be left out: taken from the firm's registration (firm add)"
        out.append(
            FieldSpec(
                code=name,
                label_zh=label_zh,
                label_en=label_en,
                unit=unit,
                type=kind,
                required=name not in FROM_FIRM,
                rule_zh="；".join([base_zh, *zh[name]]),
                rule_en="; ".join([base_en, *en[name]]),
                example=examples.get(name),
                choices=choices,
                non_negative=kind in ("integer", "number"),
                positive=positive,
            )
        )
    return out


#: Profile fields that must be greater than 0: an application for 0 m² is no application
#: (``workflows.admission`` refuses it with ``inputs.check_area``).
POSITIVE_FIELDS = frozenset({"requested_area_m2"})


def _profile_base_rule(
    name: str, kind: FieldType, unit: str, *, positive: bool = False
) -> tuple[str, str]:
    if kind == "bool":
        return (
            "必填，填“是”或“否”",
            "required: yes or no",
        )
    if kind == "date":
        return "必填，日期 YYYY-MM-DD", "required: a date YYYY-MM-DD"
    if kind == "integer":
        return "必填，不小于 0 的整数", "required: a whole number not below 0"
    if kind == "number" and positive:
        top = f"{inputs.MAX_AREA_M2:,.0f}"
        return (
            f"必填，大于 0 且不超过 {top} 的数值，单位：{UNITS[unit][0]}",
            f"required: a number greater than 0 and at most {top}, in {UNITS[unit][1]}",
        )
    if kind == "number":
        return (
            f"必填，不小于 0 的数值，单位：{UNITS[unit][0]}",
            f"required: a number not below 0, in {UNITS[unit][1]}",
        )
    return "必填，非空文本", "required: text, not empty"


# ---- examples ------------------------------------------------------------------------------
def example_profile(rb: Rulebook) -> dict[str, Any]:
    """A profile that meets every hard requirement of ``rb`` under its first track (the firm's
    统一社会信用代码 and name come from its registration, so they are not in the file)."""
    track_code, track = next(iter(rb.tracks.items()))
    industry = _example_industry(rb)
    area = Decimal(120)
    if track.max_area_m2 is not None:
        area = min(area, track.max_area_m2)
    prev = 900_000
    if track.max_prev_year_revenue_yuan is not None:
        prev = min(prev, track.max_prev_year_revenue_yuan)
    sizes = {"staff": 18, "revenue_yuan": 1_200_000, "assets_yuan": 3_000_000}
    for req in rb.admission.requirements:
        if req.check == "sme_profile":
            for name, cap in _size_caps(req).items():
                sizes[name] = min(sizes[name], cap)
    flags = {name: False for name, spec in PROFILE_FIELDS.items() if spec[3] == "bool"}
    for req in rb.admission.requirements:
        for name in req.require_true:
            flags[name] = True
    return {
        "founded_on": "2024-01-15",
        **sizes,
        "prev_year_revenue_yuan": prev,
        "requested_area_m2": int(area) if area == int(area) else str(area),
        "industry": industry,
        "track": track_code,
        **flags,
    }


def _example_industry(rb: Rulebook) -> str:
    for req in rb.admission.requirements:
        if req.check == "industry" and req.industries:
            return req.industries[0]
    return rb.industries[0].code if rb.industries else "general"


def example_figures(rb: Rulebook) -> dict[str, Any]:
    """Figures that pass ``validate_figures`` (every metric filled, no veto raised)."""
    return {spec.code: spec.example for spec in figure_fields(rb)}


def example(rb: Rulebook, form: FormName) -> dict[str, Any]:
    return example_profile(rb) if form == "profile" else example_figures(rb)


def description(rb: Rulebook, form: FormName, period: int | None = None) -> dict[str, Any]:
    """The documented description of a form's fields (the JSON template's companion file)."""
    title = {
        "profile": (
            "入驻申请企业信息",
            "Application profile",
            "innospace apply FIRM SPACE --profile FILE",
        ),
        "figures": (
            "年度考核数据",
            "Annual review figures",
            "innospace review submit N --period YEAR --figures FILE",
        ),
    }[form]
    return {
        "form": form,
        "title_zh": title[0],
        "title_en": title[1],
        **({"period": period} if period is not None else {}),
        "rulebook": rb.meta.name_zh,
        "rulebook_version": rb.version,
        "used_by": title[2],
        "fields": [spec.describe() for spec in fields(rb, form)],
    }


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


# ---- checking a whole form at once ---------------------------------------------------------
@dataclass(frozen=True)
class Problem:
    """One bad value: where (row and column in a sheet, or none for a JSON file), the field,
    what was expected (zh-CN, English, with the unit) and what was given."""

    field: str
    expected_zh: str
    expected_en: str
    row: int | None = None
    column: str | None = None
    label_zh: str = ""
    given: str | None = None

    def line(self) -> str:
        where = ""
        if self.row is not None:
            where = f"第 {self.row} 行" + (f" {self.column} 列" if self.column else "") + " "
        label = f"（{self.label_zh}）" if self.label_zh else ""
        got = f"；填写值 / got: {self.given}" if self.given is not None else ""
        return f"{where}{self.field}{label}: {self.expected_zh} / {self.expected_en}{got}"

    def to_dict(self) -> dict[str, Any]:
        return record(
            self, ("row", "column", "field", "label_zh", "expected_zh", "expected_en", "given")
        )


class FormProblems(InvalidInput):
    """A form with problems: every one of them, each naming its row, column and field."""

    def __init__(self, source: str, problems: Sequence[Problem], *, stored: int = 0) -> None:
        self.problems = list(problems)
        head = (
            f"{source}: {len(self.problems)} 处错误，未导入任何数据 / "
            f"{len(self.problems)} problem(s), nothing stored"
        )
        InnospaceError.__init__(
            self,
            "\n".join([head, *("  " + p.line() for p in self.problems)]),
            source=source,
            problems=[p.line() for p in self.problems],
        )
        self.field = self.problems[0].field if self.problems else source
        self.rule = self.problems[0].expected_en if self.problems else "invalid"


def shown_value(value: object) -> str:
    """A cell or JSON value as a person reads it (never a Python repr)."""
    if value is True:
        return "是"
    if value is False:
        return "否"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    return text if len(text) <= 60 else text[:59] + "…"


def json_typed_problem(spec: FieldSpec, value: object) -> Problem | None:
    """The problem of ``value`` as a JSON body's value of field ``spec`` (the API's): a
    number must be a JSON number and a yes/no JSON ``true`` or ``false``, never text. A
    client that sends ``"80"`` has a bug; forms and sheets (the console, the CLI's files)
    send text and are read leniently by :func:`check_figure`, not by this."""
    if value is None:
        return None
    if spec.type in ("number", "integer") and isinstance(value, str):
        unit, unit_en = f"，单位：{spec.unit_zh}", f", in {spec.unit_en}"
        zh, en = f"须为 JSON 数值，不加引号{unit}", f"must be a JSON number, not text{unit_en}"
    elif spec.type == "bool" and not isinstance(value, bool):
        zh, en = "须为 JSON 的 true 或 false", "must be JSON true or false"
    else:
        return None
    given = json.dumps(value, ensure_ascii=False, default=str)
    return Problem(
        field=spec.code,
        label_zh=spec.label_zh,
        expected_zh=zh,
        expected_en=en,
        given=given if len(given) <= 60 else given[:59] + "…",
    )


def json_typed_problems(specs: Iterable[FieldSpec], data: Mapping[str, object]) -> list[Problem]:
    """Every value of ``data`` (a JSON body's object) not of its field's JSON type."""
    found = (json_typed_problem(spec, data.get(spec.code)) for spec in specs)
    return [problem for problem in found if problem is not None]


def check_figure(rb: Rulebook, spec: FieldSpec, value: object) -> tuple[object, Problem | None]:
    """One figure, as typed in a sheet or a JSON file, normalised (是/否 to bool, numeric
    text to a number) and checked with ``validate_figures``; the problem names the unit."""
    counted = spec.type in ("number", "integer")
    unit = f"，单位：{spec.unit_zh}" if counted else ""
    unit_en = f", in {spec.unit_en}" if counted else ""
    if isinstance(value, str):
        value = value.strip()
        if value == "":
            value = None
    if value is None:
        if spec.required:
            return None, _problem(spec, f"必填{unit}", f"required{unit_en}", None)
        return None, None
    if spec.type == "bool":
        if isinstance(value, str) and value.lower() in YES_WORDS | NO_WORDS:
            value = value.lower() in YES_WORDS
        elif isinstance(value, int) and not isinstance(value, bool) and value in (0, 1):
            value = bool(value)
    elif isinstance(value, str):
        value = value.replace(",", "").replace("，", "")
    try:
        checked = rbook.validate_figures(rb, {spec.code: value}, complete=False)
    except InvalidInput as err:
        said = bilingual(err.rule)  # 中文 / English, the rule's own or the catalog's
        rule_zh, sep, rule_en = said.partition(" / ")
        if not sep or said == rule_zh:
            rule_zh, rule_en = f"不符合规则：{err.rule}", err.rule
        return None, _problem(spec, f"{rule_zh}{unit}", f"{rule_en}{unit_en}", value)
    return checked[spec.code], None


def _problem(spec: FieldSpec, zh: str, en: str, value: object) -> Problem:
    return Problem(
        field=spec.code,
        label_zh=spec.label_zh,
        expected_zh=zh,
        expected_en=en,
        given=None if value is None else shown_value(value),
    )


def check_figures(
    rb: Rulebook, data: Mapping[str, object], *, json_typed: bool = False
) -> list[Problem]:
    """Every problem of a figures file at once (:func:`read_figures`)."""
    return read_figures(rb, data, json_typed=json_typed)[1]


def read_figures(
    rb: Rulebook, data: Mapping[str, object], *, json_typed: bool = False
) -> tuple[dict[str, object], list[Problem]]:
    """The figures as the form reads them (each given field normalised by
    :func:`check_figure`: what is checked is what is kept) and every problem at once
    (unknown fields, types, signs, required). A metric the engine establishes itself
    (``Metric.fact``: cooperation, data on time) is no field of the form: given, it is
    refused as such, with its label. ``json_typed``: the figures are a JSON body's (the
    API's), each of its field's JSON type (:func:`json_typed_problem`)."""
    specs = {s.code: s for s in figure_fields(rb)}
    problems = [
        Problem(
            field=name,
            expected_zh=rbook.FACT_RULE_ZH,
            expected_en=rbook.FACT_RULE_EN,
            label_zh=rb.facts[name].label_zh,
        )
        if name in rb.facts
        else Problem(
            field=name,
            expected_zh="未知字段",
            expected_en=f"unknown field; fields are {', '.join(specs)}",
        )
        for name in data
        if name not in specs
    ]
    read: dict[str, object] = {}
    for code, spec in specs.items():
        problem = json_typed_problem(spec, data.get(code)) if json_typed else None
        if problem is None:
            value, problem = check_figure(rb, spec, data.get(code))
            if code in data:
                read[code] = value
        if problem is not None:
            problems.append(problem)
    return read, problems


def check_profile(
    rb: Rulebook, data: Mapping[str, object], firm: Mapping[str, object] | None = None
) -> list[Problem]:
    """Every problem of a profile file at once, as ``apply`` would read it (the firm's
    统一社会信用代码 and name added from ``firm``, by default the example firm)."""
    specs = {s.code: s for s in profile_fields(rb)}
    merged = {**(firm if firm is not None else EXAMPLE_FIRM), **data}
    problems: list[Problem] = []
    try:
        ApplicationProfile.model_validate(merged)
    except ValidationError as err:
        for item in err.errors():
            name = str(item["loc"][0]) if item["loc"] else "profile"
            spec = specs.get(name)
            given = merged.get(name)
            problems.append(
                Problem(
                    field=name,
                    label_zh=spec.label_zh if spec else "",
                    expected_zh=spec.rule_zh if spec else "未知字段",
                    expected_en=f"{item['msg']}" + (f" ({spec.rule_en})" if spec else ""),
                    given=None if given is None else shown_value(given),
                )
            )
    for name in ("industry", "track"):
        spec, value = specs[name], merged.get(name)
        if isinstance(value, str) and value and value not in spec.choices:
            problems.append(_problem(spec, spec.rule_zh, spec.rule_en, value))
    return problems


# ---- importing a cohort's figures ------------------------------------------------------------
@dataclass(frozen=True)
class FigureRow:
    """One data row of a figures sheet: its number, the firm's 统一社会信用代码 and the cells
    of the metric columns (field code -> value as read)."""

    row: int
    uscc: object
    values: Mapping[str, object]


class ImportFigures(Command):
    """Submit a cohort's review figures, one SubmitReview per firm, in one unit of work: every
    row is checked first; with problems nothing is stored unless ``partial`` (then exactly the
    good rows are). A row whose figure cells are all blank is a firm that has not reported yet
    (the template lists the whole cohort): it is skipped, not an error. A row of a firm whose
    figures are in already is kept as it is (``kept``), never replaced by the sheet's."""

    space: str
    period: int
    rows: tuple[FigureRow, ...]
    columns: dict[str, str] = field(default_factory=dict)  # field code -> column letter
    source: str = "figures"
    partial: bool = False


def import_figures(w: Work, cmd: ImportFigures) -> dict[str, Any]:
    space = w.space_row(cmd.space)
    active = rules.for_space(w, space)
    problems: list[Problem] = []
    known = {s.code for s in figure_fields(active)} | {"uscc", "name"}
    for code, column in cmd.columns.items():
        if code not in known:
            problems.append(
                Problem(
                    row=1,
                    column=column,
                    field=code,
                    expected_zh="未知字段（第 1 行须为模板的字段代码）",
                    expected_en="unknown field; row 1 holds the template's field codes: "
                    + ", ".join(sorted(known)),
                )
            )
    tenancies = _cohort(w, space.id)
    seen: dict[str, int] = {}
    good: list[tuple[int, int, str, dict[str, object]]] = []
    skipped: list[dict[str, Any]] = []
    # Rows of firms whose figures are in already (the firm's own, or an earlier import): an
    # import fills in what is missing and never replaces what is there (a correction is one
    # firm's own submission, made on purpose).
    kept: list[dict[str, Any]] = []
    for row in cmd.rows:
        if row.uscc not in (None, "") and _blank_figures(row):
            skipped.append({"row": row.row, "uscc": str(row.uscc).strip().upper()})
            continue
        found: list[Problem] = []
        uscc = str(row.uscc).strip().upper() if row.uscc not in (None, "") else ""
        tenancy: TenancyRow | None = None

        def at(problem: Problem, *, _row: int = row.row) -> Problem:
            return replace(problem, row=_row, column=cmd.columns.get(problem.field))

        if not uscc:
            found.append(
                at(
                    Problem(
                        field="uscc",
                        label_zh="统一社会信用代码",
                        expected_zh="必填",
                        expected_en="required",
                    )
                )
            )
        elif uscc in seen:
            found.append(
                at(
                    Problem(
                        field="uscc",
                        label_zh="统一社会信用代码",
                        expected_zh=f"每家企业一行：与第 {seen[uscc]} 行重复",
                        expected_en=f"one row per firm: same firm as row {seen[uscc]}",
                        given=uscc,
                    )
                )
            )
        else:
            seen[uscc] = row.row
            tenancy = tenancies.get(uscc)
            review = residency.find_review(w, tenancy.id, cmd.period) if tenancy else None
            if tenancy is not None and review is not None and review.status == "submitted":
                kept.append({"row": row.row, "uscc": uscc, "tenancy_id": tenancy.id})
                continue
            reason = _not_importable(tenancy, review, cmd.period, space.code)
            if reason is not None:
                found.append(
                    at(
                        Problem(
                            field="uscc",
                            label_zh="统一社会信用代码",
                            expected_zh=reason[0],
                            expected_en=reason[1],
                            given=uscc,
                        )
                    )
                )
                tenancy = None
        rb = active
        if tenancy is not None and tenancy.rulebook_version is not None:
            rb = rules.by_version(w, tenancy.rulebook_version)
        figures: dict[str, object] = {}
        for spec in figure_fields(rb):
            if spec.code not in cmd.columns and not spec.required:
                continue
            value, problem = check_figure(rb, spec, row.values.get(spec.code))
            if problem is not None:
                found.append(at(problem))
            elif value is not None:
                figures[spec.code] = value
        problems.extend(found)
        if not found and tenancy is not None:
            good.append((row.row, tenancy.id, uscc, figures))
    if problems and not cmd.partial:
        raise FormProblems(cmd.source, problems)
    stored: list[dict[str, Any]] = []
    for row_number, tenancy_id, uscc, figures in good:
        residency.submit_review(
            w,
            SubmitReview(
                tenancy_id=tenancy_id,
                period=cmd.period,
                figures=rbook.jsonable(figures),
                actor=cmd.actor,
                reason=cmd.reason or f"导入 / imported from {cmd.source}, row {row_number}",
            ),
        )
        stored.append({"row": row_number, "uscc": uscc, "tenancy_id": tenancy_id})
    return {
        "space": space.code,
        "period": cmd.period,
        "rows": len(cmd.rows),
        "stored": stored,
        "skipped": skipped,
        "kept": kept,
        "problems": [p.to_dict() for p in problems],
        "problem_lines": [p.line() for p in problems],
    }


def _blank_figures(row: FigureRow) -> bool:
    """Whether ``row`` has figure cells and every one of them is empty."""
    cells = [v for code, v in row.values.items() if code not in ("uscc", "name")]
    return bool(cells) and all(v is None or (isinstance(v, str) and not v.strip()) for v in cells)


def _cohort(w: Work, space_id: int) -> dict[str, TenancyRow]:
    """The open tenancies of a space by their firm's 统一社会信用代码."""
    found = w.uow.tenancies.in_space(space_id, [s for s in STATES if s not in TERMINAL])
    return {t.party.uscc.upper(): t for t in found if t.party is not None}


def _not_importable(
    tenancy: TenancyRow | None, review: ReviewRow | None, period: int, space: str
) -> tuple[str, str] | None:
    """Why a row's figures cannot be submitted (``review``: its ``period`` review, if any)."""
    if tenancy is None:
        return (f"该企业在空间 {space} 无在驻记录", f"no open tenancy of this firm in {space}")
    if review is None:
        return (f"该企业 {period} 年度考核未启动", f"no {period} review is open for this firm")
    if review.status == "decided":
        return (f"该企业 {period} 年度考核已评定", f"the {period} review is decided already")
    if tenancy.state != UNDER_REVIEW:
        zh, en = STATE_LABELS[tenancy.state]
        return (f"当前状态“{zh}”不能报送考核数据", f"figures cannot be submitted in state {en}")
    return None
