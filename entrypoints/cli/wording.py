"""What the operator reads: states by their Chinese names, triggers by the commands that fire
them, a step's result as one Chinese-first line (issue 14, item 16).

The engine speaks in states and triggers (``evaluating``, ``file_plan``); an operator knows
the commands. A refusal names the tenancy's state in Chinese and the commands that would be
accepted there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, cast

from typer import Context
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from lifecycle.errors import GuardFailed, TransitionNotAllowed, bilingual
from lifecycle.table import STATE_LABELS

#: The command an operator types for each trigger (the table's and the record-only actions).
TRIGGER_COMMANDS: Mapping[str, str] = {
    "apply": "apply",
    "screen_in": "screen",
    "screen_out": "screen",
    "request_info": "request-info",
    "resubmit": "resubmit",
    "score": "score",
    "withdraw": "withdraw",
    "lapse": "tick（逾期失效 / lapse）",
    "approve": "approve",
    "reject": "reject",
    "reject_without_panel": "reject --without-panel",
    "lodge_objection": "object",
    "admit": "end-publicity / tick",
    "uphold_objection": "rule --upheld",
    "sign": "sign",
    "open_review": "review open",
    "submit_review": "review submit",
    "submit_quarterly_report": "quarterly submit",
    "pass_review": "review decide",
    "order_rectification": "review decide",
    "fail_review": "review decide",
    "decide_review": "review decide",
    "file_plan": "rectify plan",
    "extend_rectification": "rectify extend",
    "pass_reinspection": "reinspect --pass",
    "fail_reinspection": "reinspect --fail",
    "report_violation": "violation",
    "cure_violation": "violation cure",
    "record_benefit": "benefit record",
    "serve_exit_notice": "exit notice",
    "confirm_graduation": "exit begin --type graduation",
    "graduate": "tick（毕业公示期满 / graduation notice over）",
    "begin_exit": "exit begin",
    "request_voluntary_exit": "exit request",
    "confirm_exit": "rule --dismissed",
    "escalate_vacating": "tick（逾期未腾退 / overdue vacating）",
    "hand_over": "exit handover",
    "waive_window": "waive",
    "assign_reviewer": "reviewer assign",
    "unassign_reviewer": "reviewer unassign",
    "correct_unit": "unit edit",
    "retire_unit": "unit retire",
    "amend_agreement": "agreement amend",
}


def state_label(state: object) -> str:
    """``专家评审中（evaluating）``; nothing yet is ``新建（new）``."""
    if state is None:
        return "新建（new）"
    zh, _en = STATE_LABELS.get(str(state), (str(state), str(state)))
    return f"{zh}（{state}）"


def code_words(vocabulary: str, code: object) -> str:
    """A code of the engine as a person reads it, ``无（none）``: the words of
    :mod:`workflows.vocabulary` (``CONSEQUENCES``, ``DEADLINES``, ``EXIT_TYPES``…) beside the
    code; nothing is "—", a code without words is shown as it is."""
    if code is None or code == "":
        return "—"
    from workflows import vocabulary as words

    table: Mapping[str, tuple[str, str]] = getattr(words, vocabulary)
    found = table.get(str(code))
    return f"{found[0]}（{code}）" if found else str(code)


def command_of(trigger: str) -> str:
    return TRIGGER_COMMANDS.get(trigger, trigger)


def commands(triggers: Iterable[str]) -> list[str]:
    """The distinct commands for ``triggers``, in a stable order."""
    return sorted(dict.fromkeys(command_of(t) for t in triggers))


def transition_refused(err: TransitionNotAllowed) -> str:
    who = f"入驻记录 {err.tenancy_id} " if err.tenancy_id is not None else "该入驻记录"
    who_en = f"tenancy {err.tenancy_id}" if err.tenancy_id is not None else "the tenancy"
    wanted = command_of(err.trigger)
    allowed = commands(err.allowed)
    here = "、".join(f"`innospace {c}`" for c in allowed) if allowed else "无（已结束）"
    here_en = ", ".join(allowed) if allowed else "none (closed)"
    return (
        f"{who}当前状态为「{state_label(err.state)}」，不能执行 `innospace {wanted}`；"
        f"此状态下可用：{here} / {who_en} is {err.state}: `{wanted}` is not allowed there; "
        f"allowed: {here_en}"
    )


def guard_refused(err: GuardFailed) -> str:
    """A rule's refusal as the operator reads it: the tenancy, the command they typed and the
    rule's whole text, Chinese first (``tenancy 1: 'approve' refused: …`` named the engine's
    trigger)."""
    who = f"入驻记录 {err.tenancy_id} " if err.tenancy_id is not None else "该入驻记录"
    return f"{who}不能执行 `innospace {command_of(err.trigger)}`，规则不允许：{bilingual(err.rule)}"


def step_line(data: Mapping[str, object]) -> str:
    """A step's result: ``入驻记录 2：新建（new） → 已申请（applied）（版本 1） / tenancy 2: new ->
    applied (version 1)``; a record-only step names the command and the unchanged state."""
    tenancy, version = data.get("tenancy_id"), data.get("version")
    frm, to = data.get("from"), data.get("to")
    if frm != to:
        return (
            f"入驻记录 {tenancy}：{state_label(frm)} → {state_label(to)}（版本 {version}）"
            f" / tenancy {tenancy}: {frm or 'new'} -> {to} (version {version})"
        )
    done = command_of(str(data.get("trigger")))
    return (
        f"入驻记录 {tenancy}：已记录 `{done}`，状态仍为{state_label(to)}（版本 {version}）"
        f" / tenancy {tenancy}: {done} recorded ({to}) (version {version})"
    )


def local_time(value: object, *, seconds: bool = False) -> str:
    """An instant as operators read it: Asia/Shanghai wall time, ``2025-01-02 09:00``. A
    value without an offset is UTC (how the database stores instants); nothing is "—"."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    if value is None or value == "":
        return "—"
    if isinstance(value, datetime):
        instant = value
    else:
        try:
            instant = datetime.fromisoformat(str(value))
        except ValueError:
            return str(value)
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    shown = instant.astimezone(ZoneInfo("Asia/Shanghai"))
    return shown.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def valid_through(value: datetime | None) -> str:
    """An expiry as the operator gave it (``token create --expires 2026-12-31``): the last
    valid day, ``2026-12-31（含当日）``. What is stored is the exclusive end, 00:00 of the next
    day in Asia/Shanghai; an instant that is not a local midnight is shown as a time."""
    from datetime import UTC, timedelta
    from zoneinfo import ZoneInfo

    if value is None:
        return "长期有效 / no expiry"
    instant = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    local = instant.astimezone(ZoneInfo("Asia/Shanghai"))
    if (local.hour, local.minute, local.second, local.microsecond) != (0, 0, 0, 0):
        return local_time(instant)
    return f"{(local - timedelta(days=1)).date().isoformat()}（含当日）"


def last_valid_day(value: datetime | None) -> str | None:
    """The last valid day of an expiry stored as its exclusive end (ISO date; None: never,
    or not a local midnight)."""
    shown = valid_through(value)
    return shown.removesuffix("（含当日）") if shown.endswith("（含当日）") else None


#: Chinese-first help for parameters that many commands share or that were declared without
#: one: (command path, parameter) first, then the parameter alone. Applied by
#: :func:`complete_help` to every parameter whose help has no Chinese, before any output;
#: the parameter's own English help (a choice list) is kept after the Chinese.
PARAM_HELP: Mapping[str, str] = {
    "tenancy": "入驻记录编号 / tenancy id",
    "as_json": "以 JSON 输出 / print JSON",
    "space": "空间代码 / space code",
    "limit": "最多显示条数 / at most this many rows",
    "locale": "语言 / locale",
    "audience": "收件对象 / audience",
    "part": "模板部分 / template part",
    "status": "状态 / status",
    "track": "入驻通道 / admission track",
    "set_": "逐项填写申请信息 / set one field",
    "score": "评分项=分数，可重复 / criterion=points",
    "seed": "随机种子（结果可复现） / random seed (same seed, same demo)",
    "revision": "迁移版本 / Alembic revision",
    "exit_type": "退出类型 / exit type",
    "check": "交接检查项，可重复 / handover check",
    "outcome": "考核结论（覆盖规则，须附 --reason） / review outcome",
    "kind": "类型 / kind",
    "note": "备注 / note",
    "day": "日期 YYYY-MM-DD / date",
    "n": "工作日数 / number of working days",
    "file": "文件 / file",
    "name": "名称 / name",
    "code": "代码 / code",
}
PATH_PARAM_HELP: Mapping[tuple[str, str], str] = {
    ("space create", "code"): "空间代码（字母、数字、-_.） / space code",
    ("space create", "name"): "空间名称 / space name",
    ("unit add", "code"): "单元编号 / unit code",
    ("unit add", "kind"): "单元类型 / unit kind",
    ("calendar set", "kind"): "上班或休息 / workday or holiday",
    ("calendar set", "day"): "日期 YYYY-MM-DD / the day",
    ("calendar add-workdays", "day"): "起始日期 YYYY-MM-DD / start date",
    ("benefit record", "kind"): "优惠类型 / benefit kind",
    ("rules check", "file"): "规则文件（TOML） / rulebook file",
    ("rules load", "file"): "规则文件（TOML） / rulebook file",
    ("rules simulate", "file"): "拟用规则文件（TOML） / the rulebook to try",
    ("templates preview", "name"): "消息名称（templates list） / message name",
    ("templates set", "name"): "消息名称（templates list） / message name",
    ("templates history", "name"): "消息名称（templates list） / message name",
    ("review submit", "set_"): "逐项填写考核数据 / set one figure",
    ("resubmit", "set_"): "逐项修改申请信息 / set one field",
    ("list", "status"): "状态 / state",
}


#: The placeholder of each parameter's value in the help (Typer shows the bare type, ``<str>``,
#: ``<int>``, ``<list[str]>``, which tells an operator nothing): (command path, parameter)
#: first, then the parameter alone. A yes/no flag takes no value and shows none. Applied by
#: :func:`complete_help`; a test walks every command's help for a bare type left.
PARAM_METAVAR: Mapping[str, str] = {
    # what names a record: its number (``innospace list``, ``show``)
    "tenancy": "ID",
    "entry": "ID",
    "need": "ID",
    "supply": "ID",
    "introduction": "ID",
    "endpoint": "ID",
    "token_id": "ID",
    "violation": "ID",
    "ids": "ID...",
    "entry_ids": "ID...",
    "number": "N",
    "firm": "ID|USCC",
    "uscc": "USCC",
    "space": "CODE",
    "code": "CODE",
    "parcel": "CODE",
    "unit": "CODE",
    "industry": "CODE",
    "field": "CODE",
    "veto": "CODE",
    "user": "USERNAME",
    "username": "USERNAME",
    # people
    "actor": "NAME",
    "author": "NAME",
    "by": "NAME",
    "reviewer": "NAME",
    "manager": "NAME",
    "contact": "NAME",
    "contact_name": "NAME",
    "display_name": "NAME",
    "name": "NAME",
    "email": "EMAIL",
    "phone": "PHONE",
    "contact_phone": "PHONE",
    # days, years and instants
    "period": "YEAR",
    "year": "YEAR",
    "to_year": "YEAR",
    "quarter": "1-4",
    "day": "YYYY-MM-DD",
    "start": "YYYY-MM-DD",
    "end": "YYYY-MM-DD",
    "founded": "YYYY-MM-DD",
    "granted": "YYYY-MM-DD",
    "valid_until": "YYYY-MM-DD",
    "leave_on": "YYYY-MM-DD",
    "on": "YYYY-MM-DD",
    "expires": "YYYY-MM-DD",
    "until": "DATETIME",
    "due_before": "DATETIME",
    # amounts in 元 and areas in m²
    "amount": "YUAN",
    "arrears": "YUAN",
    "damage": "YUAN",
    "deposit": "YUAN",
    "area": "M2",
    "land_area": "M2",
    "floor_area": "M2",
    "plot_ratio": "RATIO",
    # counts
    "n": "DAYS",
    "days": "DAYS",
    "commitment_months": "MONTHS",
    "limit": "N",
    "firms": "N",
    "chunk": "N",
    "sample": "N",
    "seed": "SEED",
    "workers": "N",
    "port": "PORT",
    "host": "ADDRESS",
    "forwarded_allow_ips": "ADDRESS,...",
    "version": "VERSION",
    # files and addresses
    "file": "FILE",
    "files": "FILE...",
    "out": "FILE",
    "figures": "FILE",
    "profile": "FILE",
    "rulebook": "FILE",
    "key": "FILE",
    "checkpoint": "FILE",
    "public_key": "FILE",
    "password_file": "FILE",
    "db": "URL|FILE",
    "url": "URL",
    "secret": "SECRET",
    # one of a list (the help names them)
    "kind": "KIND",
    "track": "TRACK",
    "exit_type": "TYPE",
    "outcome": "OUTCOME",
    "status": "STATUS",
    "state": "STATE",
    "audience": "AUDIENCE",
    "locale": "LOCALE",
    "part": "PART",
    "fmt": "FORMAT",
    "role": "ROLE",
    "result": "RESULT",
    "use": "LAND_USE",
    "window": "WINDOW",
    "log_level": "LEVEL",
    "revision": "REVISION",
    "events": "MESSAGE",
    # key=value items
    "set_": "KEY=VALUE",
    "score": "CRITERION=POINTS",
    "check": "ITEM",
    # words
    "reason": "REASON",
    "grounds": "GROUNDS",
    "facts": "FACTS",
    "evidence": "EVIDENCE",
    "plan": "PLAN",
    "items": "ITEMS",
    "note": "NOTE",
    "description": "DESCRIPTION",
    "title": "TITLE",
    "sought": "WHAT",
    "label": "LABEL",
    "proof": "PROOF",
    "document": "REFERENCE",
}
PATH_PARAM_METAVAR: Mapping[tuple[str, str], str] = {
    ("exit notice", "grounds"): "CODE",  # the rulebook's exit trigger
    ("review decide-cycle", "veto"): "TENANCY=CODE",
    ("review submit", "set_"): "METRIC=VALUE",
    ("calendar import", "file"): "CSV",
    ("templates preview", "name"): "MESSAGE",
    ("templates set", "name"): "MESSAGE",
    ("templates history", "name"): "MESSAGE",
    ("space create", "code"): "CODE",
    ("demo", "db"): "FILE",
    # a text that may be read from a file (@FILE) or standard input (-)
    ("exit notice", "facts"): "FACTS|@FILE|-",
    ("object", "evidence"): "EVIDENCE|@FILE|-",
    ("object", "grounds"): "GROUNDS|@FILE|-",
    ("rectify plan", "plan"): "PLAN|@FILE|-",
    ("violation", "evidence"): "EVIDENCE|@FILE|-",
    ("violation", "facts"): "FACTS|@FILE|-",
}
#: The help option's own words (Click's are English only).
HELP_OPTION_HELP = "显示此帮助并退出 / show this message and exit."


class _Argument(TyperArgument):
    """An argument whose help shows its placeholder (``ID``) where Typer shows its type
    (an argument's metavar would replace its name; an option's metavar is its placeholder)."""

    placeholder: str | None = None

    def display_type_rich(self, ctx: Any) -> str | None:
        if self.placeholder is not None:
            return self.placeholder
        return super().display_type_rich(ctx)


def _placeholder(path: str, param: object) -> str | None:
    """``param``'s placeholder: nothing for a flag, else the tables' (None: not listed)."""
    if getattr(param, "is_flag", False):
        return ""
    name = str(getattr(param, "name", ""))
    return PATH_PARAM_METAVAR.get((path, name)) or PARAM_METAVAR.get(name)


def _give_placeholder(path: str, param: object) -> None:
    shown = _placeholder(path, param)
    if shown is None:
        return
    if isinstance(param, TyperArgument):
        param.__class__ = _Argument
        cast(_Argument, param).placeholder = shown
    elif isinstance(param, TyperOption) and param.metavar is None:
        param.metavar = shown


#: English help texts that say nothing the Chinese one does not: replaced, not kept.
_GENERIC = frozenset({"json output", "show this message and exit."})


def _chinese(text: str | None) -> bool:
    return bool(text) and any("\u4e00" <= ch <= "\u9fff" for ch in text or "")


def complete_help(root: object) -> None:
    """Give every parameter of every command under ``root`` (a click group) a Chinese-first
    help text, from :data:`PATH_PARAM_HELP` / :data:`PARAM_HELP`, unless it has one, and a
    placeholder for its value (:data:`PARAM_METAVAR`) instead of its bare type."""
    pending: list[tuple[object, str]] = [(root, "")]
    while pending:
        cmd, path = pending.pop()
        for name, sub in (getattr(cmd, "commands", None) or {}).items():
            pending.append((sub, f"{path} {name}".strip()))
        # Its --help, made now to be said Chinese first.
        if isinstance(cmd, TyperCommand | TyperGroup):
            found = cmd.get_help_option(Context(cmd, info_name=path or "innospace"))
            if found is not None:
                found.help, found.metavar = HELP_OPTION_HELP, ""
        for param in getattr(cmd, "params", ()):
            _give_placeholder(path, param)
            current = getattr(param, "help", None)
            if param.name is None or _chinese(current):
                continue
            zh = PATH_PARAM_HELP.get((path, param.name)) or PARAM_HELP.get(param.name)
            if zh is not None:
                generic = current is None or current.strip().lower() in _GENERIC
                param.help = zh if generic else f"{zh}: {current}"


def readable(value: object) -> str:
    """A value of a trace, a timeline or a result as a person reads it: no ``None``,
    ``True``/``False``, ``Decimal('99')`` or braces — nothing is "—", a flag is 是/否, a
    mapping is ``key=value`` pairs, a list is its items."""
    from decimal import Decimal

    if value is None:
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, Mapping):
        if not value:
            return "—"
        return ", ".join(f"{k}={_nested(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else value
        return "、".join(readable(v) for v in items) if items else "—"
    return str(value)


def _nested(value: object) -> str:
    text = readable(value)
    return f"({text})" if isinstance(value, (Mapping, list, tuple)) and value else text


#: A check's result in a trace, as a person reads it.
TRACE_RESULTS = {"pass": "通过（pass）", "fail": "未通过（fail）"}


def trace_line(step: Mapping[str, object]) -> str:
    """One step of a decision's trace: rule, label, result, the figures and the threshold."""
    rule = step.get("rule_id") or step.get("rule") or ""
    label = step.get("label_zh") or ""
    result = step.get("result")
    if result in TRACE_RESULTS:
        said = TRACE_RESULTS[str(result)]
    elif rule == "review.consequence":
        said = code_words("CONSEQUENCES", result)
    else:
        said = readable(result)
    return (
        f"{rule} {label}: {said}（数据 / figures: "
        f"{readable(step.get('figures'))}；标准 / threshold: {readable(step.get('threshold'))}）"
    )


def choice_refused(field: str, rule: str, got: str) -> str | None:
    """``must be one of a, b`` said Chinese first, each state with its Chinese name; None
    when ``rule`` is not a choice list."""
    prefix = "must be one of "
    start = rule.find(prefix)
    if start < 0:
        return None
    choices = [c.strip() for c in rule[start + len(prefix) :].split(",") if c.strip()]
    shown = [f"{c}（{STATE_LABELS[c][0]}）" if c in STATE_LABELS else c for c in choices]
    return f"{field}: 须为以下之一 / must be one of: {'、'.join(shown)}{got}"
