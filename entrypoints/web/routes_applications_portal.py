"""The firm portal's application form: every profile field with its label and rule, the
统一社会信用代码 checked as typed (and again here), a draft kept on the server, the submit
(an ``Apply`` for the account's own firm — never a firm named in the form), and the status
and screening result of the firm's applications."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse, Response
from stdnum.cn import uscc as uscc_check

from entrypoints.web.applications_wording import DEADLINE_LABELS
from entrypoints.web.pages import Page, PageDep, describe
from entrypoints.web.rendering import pick
from lifecycle.errors import AlreadyExists, InvalidInput, NotFound, bilingual
from workflows import commands as c
from workflows import queries_application_form as qa
from workflows.application_drafts import SaveApplicationDraft, SubmitApplication

router = APIRouter(include_in_schema=False)

#: The 统一社会信用代码 as typed: 18 characters of GB 32100's alphabet (no I, O, S, V, Z).
USCC_PATTERN = "[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}"
#: What each kind of field takes, said before the rulebook's requirements of it.
FIELD_HELP = {
    "text": ("18 位，数字与大写字母；输入时即校验", "18 characters, checked as you type"),
    "date": ("日期，年-月-日", "a date, year-month-day"),
    "integer": ("不小于 0 的整数", "a whole number, 0 or more"),
    "number": ("不小于 0 的数值", "a number, 0 or more"),
    "positive": ("大于 0 的数值", "a number greater than 0"),
    "choice": ("请从列表中选择", "choose from the list"),
    "bool": ("请如实选择", "answer truthfully"),
}
#: Profile fields the firm does not type into the application: its registration holds them.
FROM_ACCOUNT = ("uscc", "name")


def _apply_page(
    page: Page,
    *,
    values: Mapping[str, str] | None = None,
    problems: Mapping[str, str] | None = None,
    status: int = 200,
    error: str = "",
    withdrawal: tuple[int, str] | None = None,
) -> HTMLResponse:
    """The application form and the firm's applications; ``withdrawal``: the application
    whose withdrawal was refused, and why (said beside its form)."""
    firm_id = page.firm_id
    draft = page.query(qa.application_draft, firm_id=firm_id)
    chosen = (values or {}).get("space") or page.request.query_params.get("space", "")
    if not chosen and draft is not None:
        chosen = draft["fields"].get("space", "")
    form = page.query(qa.application_form, firm_id=firm_id, space=chosen[:64] or None)
    if values is None:
        values = dict(draft["fields"]) if draft is not None else _defaults(form)
    return page.render(
        "portal/apply.html",
        status=status,
        form=form,
        values=values,
        problems=problems or {},
        draft=draft,
        error=error,
        withdrawal=withdrawal,
        mine=page.query(qa.firm_applications, firm_id=firm_id),
        uscc_pattern=USCC_PATTERN,
        deadline_labels=DEADLINE_LABELS,
        help=FIELD_HELP,
    )


def _defaults(form: Mapping[str, Any]) -> dict[str, str]:
    firm = form["firm"]
    founded = firm.get("founded_on")
    return {
        "uscc": "",
        "industry": firm.get("industry") or "",
        "founded_on": founded.isoformat() if isinstance(founded, date) else "",
        "space": form.get("space") or "",
    }


@router.get("/portal/apply", name="web_portal_apply")
def apply_form(page: PageDep) -> HTMLResponse:
    return _apply_page(page)


def uscc_problem(typed: str, own: str) -> str | None:
    """What is wrong with a typed 统一社会信用代码 (None: it is the firm's own, valid one)."""
    code = typed.strip().upper()
    if not code:
        return "必填 / required"
    if not re.fullmatch(USCC_PATTERN, code):
        return (
            "须为 18 位，由数字和大写字母组成（不含 I、O、S、V、Z） / 18 digits and capital "
            "letters (no I, O, S, V or Z)"
        )
    if not uscc_check.is_valid(code):
        return "校验位不正确，请核对 / the check character is wrong: check the code"
    if code != own.upper():
        return (
            "与本账号所属企业的登记不符：只能为本企业申请 / not the code registered for "
            "your account's firm: you apply for your own firm only"
        )
    return None


def _profile(
    fields: list[dict[str, Any]], values: Mapping[str, str], lang: str
) -> tuple[dict[str, Any], dict[str, str]]:
    """The typed form as a profile (numbers, dates and yes/no as such), and each field's
    problem in the page's language."""
    profile: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for spec in fields:
        code, kind = spec["code"], spec["type"]
        if code in FROM_ACCOUNT:
            continue
        raw = values.get(code, "").strip()
        if raw == "":
            problems[code] = "必填" if lang == "zh" else "required"
            continue
        try:
            if kind == "bool":
                if raw not in ("yes", "no"):
                    raise ValueError
                profile[code] = raw == "yes"
            elif kind == "date":
                profile[code] = date.fromisoformat(raw).isoformat()
            elif kind == "integer":
                if not re.fullmatch(r"\d{1,9}", raw):
                    raise ValueError
                profile[code] = int(raw)
            elif kind == "number":
                amount = Decimal(raw.replace(",", ""))
                if not amount.is_finite() or amount < 0 or amount > Decimal(10) ** 15:
                    raise ValueError
                if spec.get("positive") and amount.quantize(Decimal("0.01")) <= 0:
                    raise ValueError  # an area applied for: 0 m² is no application
                # a whole amount as the whole number it is (as `apply --profile` JSON gives
                # it): a float reached every trace of the application as "3000000.0"
                whole = amount == amount.to_integral_value()
                profile[code] = int(amount) if whole else float(amount)
            elif kind == "choice":
                if raw not in spec["choices"]:
                    raise ValueError
                profile[code] = raw
            else:
                profile[code] = raw
        except (ValueError, InvalidOperation):
            problems[code] = pick(spec["rule_zh"] + " / " + spec["rule_en"], lang)
    return profile, problems


@router.post("/portal/apply", name="web_portal_apply_submit")
def apply_submit(page: PageDep) -> Response:
    firm_id = page.firm_id
    form = page.query(qa.application_form, firm_id=firm_id, space=page.field("space")[:64] or None)
    names = [s["code"] for s in form["fields"] if s["code"] != "name"] + ["space"]
    values = {name: page.field(name)[:2000] for name in names}
    if page.field("intent") == "draft":
        page.act(SaveApplicationDraft(firm_id=firm_id, values=values, actor=page.principal.actor))
        return page.redirect(
            "/portal/apply", ("草稿已保存，可稍后继续填写", "draft saved: carry on later")
        )
    problems: dict[str, str] = {}
    if page.field("space") not in {s["code"] for s in form["spaces"]}:
        problems["space"] = "请选择申请入驻的空间" if page.lang == "zh" else "choose a space"
    wrong = uscc_problem(values.get("uscc", ""), form["firm"]["uscc"])
    if wrong is not None:
        problems["uscc"] = pick(wrong, page.lang)
    profile, more = _profile(form["fields"], values, page.lang)
    problems |= more
    if problems:
        return _apply_page(page, values=values, problems=problems, status=422)
    apply = c.Apply(
        firm=str(firm_id),  # the account's firm: never a firm named in the form
        space=values["space"],
        track=str(profile.get("track", "")),
        requested_area_m2=float(profile.get("requested_area_m2", 0)),
        profile=profile,
        actor=page.principal.actor,
    )
    try:
        result = page.act(SubmitApplication(firm_id=firm_id, application=apply))
    except InvalidInput as err:
        # A field of the profile the engine refused (a founding date after today) is said
        # at that field, as the form's own checks are.
        part = err.field.removeprefix("profile.")
        if part in values and part != "space":
            at_field = {part: pick(bilingual(err.rule), page.lang)}
            return _apply_page(page, values=values, problems=at_field, status=422)
        return _apply_page(page, values=values, status=422, error=describe(err, page.lang))
    except AlreadyExists:
        said = pick(
            "本企业在该空间已有进行中的申请或入驻记录，不能重复申请 / your firm already has an "
            "open application or stay in this space",
            page.lang,
        )
        return _apply_page(page, values=values, status=409, error=said)
    tenancy = result.get("tenancy_id") if isinstance(result, Mapping) else None
    return page.redirect(
        "/portal/apply#mine",
        (f"申请已提交（编号 {tenancy}），请留意审查结果", f"application {tenancy} sent"),
    )


TenancyId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def _own_application(page: Page, tenancy_id: int) -> dict[str, Any]:
    """The firm's own application ``tenancy_id`` (NotFound for any other)."""
    for application in page.query(qa.firm_applications, firm_id=page.firm_id):
        if application["id"] == tenancy_id:
            return dict(application)
    raise NotFound("tenancy", tenancy_id)


def _as_typed(profile: Mapping[str, Any]) -> dict[str, str]:
    """A stored profile as the form's fields hold it: yes/no, whole numbers without ".0"."""
    typed: dict[str, str] = {}
    for code, value in profile.items():
        if isinstance(value, bool):
            typed[code] = "yes" if value else "no"
        elif isinstance(value, float) and value.is_integer():
            typed[code] = str(int(value))
        elif value is not None:
            typed[code] = str(value)
    return typed


def _answer_page(
    page: Page,
    application: Mapping[str, Any],
    *,
    values: Mapping[str, str] | None = None,
    problems: Mapping[str, str] | None = None,
    note: str = "",
    status: int = 200,
    error: str = "",
) -> HTMLResponse:
    form = page.query(qa.application_form, firm_id=page.firm_id, space=application["space"])
    return page.render(
        "portal/apply_answer.html",
        status=status,
        m=application,
        form=form,
        values=_as_typed(application["profile"]) if values is None else values,
        problems=problems or {},
        note=note,
        error=error,
        uscc_pattern=USCC_PATTERN,
        deadline_labels=DEADLINE_LABELS,
        help=FIELD_HELP,
    )


@router.get("/portal/apply/{tenancy_id}/answer", name="web_portal_apply_answer")
def answer_form(page: PageDep, tenancy_id: TenancyId) -> HTMLResponse:
    """What the space asked for, and the application as it stands, to correct and send."""
    return _answer_page(page, _own_application(page, tenancy_id))


@router.post("/portal/apply/{tenancy_id}/resubmit", name="web_portal_apply_resubmit")
def resubmit(page: PageDep, tenancy_id: TenancyId) -> Response:
    """The firm has added what was asked for, correcting its application where it had to:
    the application goes back to screening, on the corrected profile."""
    note = page.field("note").strip()[:20_000]
    changes: dict[str, Any] = {}
    application: dict[str, Any] | None = None
    values: dict[str, str] = {}
    if page.field("with_profile") == "1":
        application = _own_application(page, tenancy_id)
        form = page.query(qa.application_form, firm_id=page.firm_id, space=application["space"])
        codes = [s["code"] for s in form["fields"] if s["code"] not in FROM_ACCOUNT]
        values = {code: page.field(code)[:2000] for code in codes}
        profile, problems = _profile(form["fields"], values, page.lang)
        if problems:
            return _answer_page(
                page, application, values=values, problems=problems, note=note, status=422
            )
        current = application["profile"]
        changes = {code: v for code, v in profile.items() if current.get(code) != v}
    try:
        page.act(
            c.Resubmit(
                tenancy_id=tenancy_id,
                profile=changes,
                actor=page.principal.actor,
                reason=note or None,
            )
        )
    except InvalidInput as err:
        if application is None:
            raise
        said = describe(err, page.lang)
        return _answer_page(page, application, values=values, note=note, status=422, error=said)
    corrected = (
        (f"，更正 {len(changes)} 项", f", {len(changes)} field(s) corrected")
        if changes
        else ("", "")
    )
    return page.redirect(
        "/portal/apply#mine",
        (
            f"已重新提交{corrected[0]}，等待形式审查",
            f"sent again{corrected[1]}: waiting for screening",
        ),
    )


@router.post("/portal/apply/{tenancy_id}/withdraw", name="web_portal_apply_withdraw")
def withdraw(page: PageDep, tenancy_id: TenancyId) -> Response:
    """The firm withdraws its application (asked first: it cannot be undone)."""
    if page.field("confirm") != "1":
        unticked = InvalidInput(
            "confirm", "请勾选确认：撤回后不可恢复 / tick to confirm: a withdrawal is final"
        )
        said = describe(unticked, page.lang, {"confirm": ("撤回确认", "Confirmation")})
        return _apply_page(page, status=422, withdrawal=(tenancy_id, said))
    page.act(c.Withdraw(tenancy_id=tenancy_id, actor=page.principal.actor))
    return page.redirect("/portal/apply#mine", ("申请已撤回", "application withdrawn"))
