"""Spaces, units, firms, rulebooks and calendar overrides: the reference data."""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import date
from typing import Any

from stdnum.cn import uscc as uscc_check
from stdnum.exceptions import ValidationError as StdnumError

from db.effects import Rows
from lifecycle.clock import EARLIEST_DATE, LATEST_DATE
from lifecycle.errors import AlreadyExists, InvalidInput
from workflows import calendar_years, inputs, rules
from workflows.commands import (
    AddUnit,
    CreateSpace,
    ImportCalendar,
    LoadRulebook,
    RegisterFirm,
    SetCalendarDay,
)
from workflows.core import Work

UNIT_KINDS = ("office", "lab", "wet_lab", "production", "desk")
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def validate_uscc(value: str) -> str:
    """Normalise and check a 统一社会信用代码 (GB 32100-2015 check character)."""
    try:
        return str(uscc_check.validate(value))
    except StdnumError as err:
        raise InvalidInput(
            "uscc",
            f"统一社会信用代码无效 / invalid unified social credit code: {_why(err, value)}",
            value,
        ) from err


def _why(err: StdnumError, value: str) -> str:
    """stdnum's reason, in Chinese first (its own message is English only)."""
    from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidFormat, InvalidLength

    if isinstance(err, InvalidLength):
        return "应为 18 位 / must be 18 characters"
    if isinstance(err, InvalidChecksum):
        code = uscc_check.compact(value)
        try:
            should = uscc_check.calc_check_digit(code[:17])
        except (KeyError, ValueError):
            return "校验码不符 / the check character does not match"
        return f"第 18 位校验码应为 {should} / the check character (18th) should be {should}"
    if isinstance(err, InvalidComponent):
        return "登记管理部门或机构类别代码无效 / the registering body or kind code is invalid"
    if isinstance(err, InvalidFormat):
        return (
            "只能由数字和大写字母组成（不含 I、O、S、V、Z） / digits and capital letters only "
            "(no I, O, S, V, Z)"
        )
    return "不符合 GB 32100-2015 / not a valid GB 32100-2015 code"


_CODE_RULE = (
    "只能由字母、数字、'-'、'_' 或 '.' 组成，最多 64 个字符 / "
    "letters, digits, '-', '_' or '.', at most 64"
)


def create_space(w: Work, cmd: CreateSpace) -> dict[str, Any]:
    if not _CODE.match(cmd.code):
        raise InvalidInput("code", _CODE_RULE, cmd.code)
    name = inputs.check_name("name", cmd.name)
    if w.uow.registry.space(cmd.code) is not None:
        raise AlreadyExists("space", cmd.code)
    text = cmd.rulebook_text if cmd.rulebook_text is not None else rules.default_rulebook_text()
    rows = Rows()
    rulebook = rules.store(w, text, cmd.rulebook_source, rows)
    space = rows.insert(
        "spaces",
        code=cmd.code,
        name=name,
        timezone=cmd.timezone,
        rulebook_version=rulebook.version,
        created_at=w.now,
    )
    w.apply_rows(rows)
    return {"space": cmd.code, "id": space.id, "rulebook_version": rulebook.version}


def add_unit(w: Work, cmd: AddUnit) -> dict[str, Any]:
    space = w.space_row(cmd.space)
    if not _CODE.match(cmd.code):
        raise InvalidInput("code", _CODE_RULE, cmd.code)
    if cmd.kind not in UNIT_KINDS:
        kinds = ", ".join(UNIT_KINDS)
        raise InvalidInput("kind", f"须为以下之一：{kinds} / must be one of {kinds}", cmd.kind)
    area = inputs.check_area("area_m2", cmd.area_m2)
    if w.uow.registry.unit(space.id, cmd.code) is not None:
        raise AlreadyExists("unit", f"{cmd.space}/{cmd.code}")
    rows = Rows()
    unit = rows.insert(
        "units", space_id=space.id, code=cmd.code, kind=cmd.kind, area_m2=area, status="available"
    )
    w.apply_rows(rows)
    return {"unit": cmd.code, "id": unit.id, "space": space.code}


def register_firm(w: Work, cmd: RegisterFirm) -> dict[str, Any]:
    code = validate_uscc(cmd.uscc)
    name = inputs.check_name("name", cmd.name)
    industry = inputs.check_name("industry", cmd.industry, limit=64)
    contact = inputs.check_optional_name("contact_name", cmd.contact_name)
    manager = inputs.check_optional_name("account_manager", cmd.account_manager)
    if cmd.contact_email is not None and not _EMAIL.match(cmd.contact_email):
        raise InvalidInput(
            "contact_email", "须为电子邮件地址 / must be an e-mail address", cmd.contact_email
        )
    if cmd.locale not in ("zh-CN", "en"):
        raise InvalidInput("locale", "须为 zh-CN 或 en / must be zh-CN or en", cmd.locale)
    if cmd.founded_on is not None and cmd.founded_on > w.today:
        raise InvalidInput(
            "founded_on", "不得晚于今天 / must not be in the future", cmd.founded_on.isoformat()
        )
    if w.uow.registry.firm(uscc=code) is not None:
        raise AlreadyExists("firm", code)
    # The firm's row holds what the command gives, its code and names normalised.
    given = replace(
        cmd, name=name, uscc=code, industry=industry, contact_name=contact, account_manager=manager
    )
    rows = Rows()
    firm = rows.insert("firms", **given.fields(), created_at=w.now)
    w.apply_rows(rows)
    return {"firm": firm.id, "uscc": code, "name": name}


def load_rulebook(w: Work, cmd: LoadRulebook) -> dict[str, Any]:
    rows = Rows()
    rulebook = rules.store(w, cmd.text, cmd.source, rows)
    activated = None
    if cmd.space is not None:
        space = w.space_row(cmd.space)
        rows.update("spaces", space.id, rulebook_version=rulebook.version)
        activated = space.code
    w.apply_rows(rows)
    return {"rulebook_version": rulebook.version, "activated_for": activated}


def import_calendar(w: Work, cmd: ImportCalendar) -> dict[str, Any]:
    if not cmd.days:
        raise InvalidInput("days", "文件中没有任何日期 / the file lists no day")
    rows = calendar_days(cmd.days, w.uow.registry.overridden_days([d.day for d in cmd.days]))
    years = sorted({d.day.year for d in cmd.days})
    if cmd.complete:
        calendar_years.publish(
            rows,
            years,
            w.uow.registry.marked_years(years),
            source="import",
            actor=cmd.actor,
            now=w.now,
        )
    w.apply_rows(rows)
    return {
        "days": len(cmd.days),
        "years": years,
        "workdays": sum(d.workday for d in cmd.days),
        "holidays": sum(not d.workday for d in cmd.days),
    }


def set_calendar_day(w: Work, cmd: SetCalendarDay) -> dict[str, Any]:
    w.apply_rows(calendar_days([cmd], w.uow.registry.overridden_days([cmd.day])))
    return {"day": cmd.day.isoformat(), "workday": cmd.workday}


def calendar_days(days: Sequence[SetCalendarDay], overridden: Collection[date]) -> Rows:
    """The calendar overrides of ``days`` (the last word on a day listed twice): a day
    already ``overridden`` is updated, any other inserted."""
    rows = Rows()
    for day, d in {d.day: d for d in days}.items():
        if not EARLIEST_DATE <= day <= LATEST_DATE:
            raise InvalidInput(
                "day",
                f"须在 {EARLIEST_DATE} 至 {LATEST_DATE} 之间 / must lie between "
                f"{EARLIEST_DATE} and {LATEST_DATE}",
                day.isoformat(),
            )
        if day in overridden:
            rows.update("calendar_overrides", day, workday=d.workday, note=d.note)
        else:
            rows.insert("calendar_overrides", day=day, workday=d.workday, note=d.note)
    return rows
