"""The one rooted exception hierarchy of innospace.

Every error names what it is about (tenancy, trigger, state, field, rule) and carries a
machine-readable ``code``. Entry points map the classes below to exit codes and HTTP statuses
in exactly one place (``entrypoints.errors``); nothing else catches them to translate.

    InnospaceError
    ├── NotFound                 unknown tenancy, firm, space, unit, review, ...
    ├── InvalidInput             a field breaks a rule (names the field and the rule)
    │   ├── InvalidRulebook      a rulebook file or value does not validate
    │   └── InvalidTemplate      a message template does not compile or render
    ├── Conflict                 the request contradicts stored state
    │   ├── TransitionNotAllowed the trigger is not allowed in the current state
    │   ├── GuardFailed          the trigger is allowed here, but a rule forbids it now
    │   ├── StaleTenancy         someone else changed the tenancy first
    │   └── AlreadyExists        a unique thing exists already (firm, unit, space, ...)
    ├── CalendarError            a date cannot be computed safely
    │   └── ScheduleNotPublished the official holiday schedule for that year is unknown
    ├── IntegrityError           stored data fails verification (audit chain, fold)
    ├── SchedulerError           the scheduler cannot run (lock held, bad configuration)
    ├── Unauthorized             not logged in, bad credentials, expired session or token
    │   └── TooManyAttempts      login throttled or the account locked (``retry_after``)
    └── Forbidden                logged in, but the role or scope does not allow it
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from lifecycle.table import STATE_LABELS


class InnospaceError(Exception):
    """Root of every error innospace raises on purpose."""

    code = "error"

    def __init__(self, message: str, **context: Any) -> None:
        super().__init__(message)
        self.message = message
        self.context = context

    def to_dict(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message, **_jsonable(self.context)}


def _jsonable(context: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in context.items():
        if isinstance(value, (str, int, float, bool)) or value is None:
            out[key] = value
        elif isinstance(value, (list, tuple, set, frozenset)):
            out[key] = (
                sorted(str(v) for v in value)
                if isinstance(value, (set, frozenset))
                else [str(v) for v in value]
            )
        else:
            out[key] = str(value)
    return out


#: What a person calls the records an error names (by the error's ``kind``); a kind not
#: listed is said in English only.
KIND_WORDS: dict[str, str] = {
    "tenancy": "入驻记录",
    "firm": "企业",
    "space": "空间",
    "unit": "单元",
    "review": "考核",
    "user": "账户",
    "token": "令牌",
    "rulebook": "规则书",
    "application": "入驻申请",
    "score": "评分",
    "exit_case": "退出案件",
    "exit case": "退出案件",
    "rectification": "整改",
    "reviewer assignment": "评审专家分配",
    "opportunity_entry": "机会清单条目",
    "opportunity_list": "机会清单",
    "introduction": "对接记录",
    "land_parcel": "地块",
    "attachment": "附件",
    "file": "文件",
    "key file": "密钥文件",
    "message": "通知模板",
    "notice": "通知",
    "outbox message": "通知发送记录",
    "webhook": "Webhook",
}


class NotFound(InnospaceError):
    code = "not_found"

    def __init__(self, kind: str, key: object) -> None:
        en = f"{kind} {key!s} not found"
        zh = KIND_WORDS.get(kind)
        message = f"未找到{zh} {key!s} / {en}" if zh else en
        super().__init__(message, kind=kind, key=str(key))
        self.kind = kind
        self.key = key


class InvalidInput(InnospaceError):
    code = "invalid_input"

    def __init__(self, field: str, rule: str, value: object = None) -> None:
        shown = "" if value is None else f" (got {_quoted(value)})"
        super().__init__(f"{field}: {rule}{shown}", field=field, rule=rule)
        self.field = field
        self.rule = rule


#: How much of a refused value a message quotes (a 50 MB line is named, not repeated).
QUOTED_MAX = 200


def _quoted(value: object) -> str:
    """The refused value as a person reads it: a number or a date as written (``200``,
    ``2024-03-31``, not ``Decimal('200')``), anything else quoted."""
    if isinstance(value, Decimal | int | float) and not isinstance(value, bool):
        text = str(value)
    elif isinstance(value, date):
        text = value.isoformat()
    else:
        text = repr(value)
    if len(text) <= QUOTED_MAX:
        return text
    return f"{text[:QUOTED_MAX]}… ({len(text):,} characters)"


class InvalidRulebook(InvalidInput):
    code = "invalid_rulebook"

    def __init__(self, source: str, problems: Iterable[tuple[str, str]]) -> None:
        self.problems = list(problems)
        lines = "; ".join(f"{path}: {msg}" for path, msg in self.problems)
        InnospaceError.__init__(
            self,
            f"{source}: {lines}",
            source=source,
            problems=[f"{p}: {m}" for p, m in self.problems],
        )
        self.field = self.problems[0][0] if self.problems else source
        self.rule = self.problems[0][1] if self.problems else "invalid"
        self.source = source


class InvalidTemplate(InvalidInput):
    code = "invalid_template"


class Conflict(InnospaceError):
    code = "conflict"


class TransitionNotAllowed(Conflict):
    code = "transition_not_allowed"

    def __init__(
        self, tenancy_id: int | None, trigger: str, state: str, allowed: Iterable[str]
    ) -> None:
        allowed_list = sorted(allowed)
        shown = ", ".join(allowed_list) if allowed_list else "none (terminal state)"
        who = f"tenancy {tenancy_id}" if tenancy_id is not None else "tenancy"
        zh_state = STATE_LABELS.get(state, (state, state))[0]
        zh_who = f"入驻记录 {tenancy_id} " if tenancy_id is not None else "该入驻记录"
        zh_allowed = "、".join(allowed_list) if allowed_list else "无（已结束）"
        super().__init__(
            f"{zh_who}当前状态为「{zh_state}」，不允许 {trigger}；可用：{zh_allowed} / "
            f"{who}: '{trigger}' is not allowed in state '{state}'; allowed: {shown}",
            tenancy_id=tenancy_id,
            trigger=trigger,
            state=state,
            allowed=allowed_list,
        )
        self.tenancy_id = tenancy_id
        self.trigger = trigger
        self.state = state
        self.allowed = allowed_list


class GuardFailed(Conflict):
    code = "guard_failed"

    def __init__(self, tenancy_id: int | None, trigger: str, rule: str) -> None:
        super().__init__(
            f"tenancy {tenancy_id}: '{trigger}' refused: {rule}",
            tenancy_id=tenancy_id,
            trigger=trigger,
            rule=rule,
        )
        self.tenancy_id = tenancy_id
        self.trigger = trigger
        self.rule = rule


class StaleTenancy(Conflict):
    code = "stale_tenancy"

    def __init__(self, tenancy_id: int, expected: int | None, actual: int | None) -> None:
        now = f", it is now {actual}" if actual is not None else ""
        zh_now = f"，当前为版本 {actual}" if actual is not None else ""
        super().__init__(
            f"入驻记录 {tenancy_id} 已被他人修改（您持有版本 {expected}{zh_now}），请刷新后重试 / "
            f"tenancy {tenancy_id} was changed by someone else "
            f"(you had version {expected}{now}); reload and retry",
            tenancy_id=tenancy_id,
            expected=expected,
            actual=actual,
        )
        self.tenancy_id = tenancy_id


class AlreadyExists(Conflict):
    code = "already_exists"

    def __init__(self, kind: str, key: object) -> None:
        en = f"{kind} {key!s} already exists"
        zh = KIND_WORDS.get(kind)
        message = f"{zh} {key!s} 已存在 / {en}" if zh else en
        super().__init__(message, kind=kind, key=str(key))


class CalendarError(InnospaceError):
    code = "calendar_error"


class ScheduleNotPublished(CalendarError):
    code = "schedule_not_published"

    def __init__(self, year: int) -> None:
        super().__init__(
            f"{year} 年放假调休安排尚未公布 / the official working-day schedule for {year} is "
            f"not published yet: enter it with `innospace calendar import FILE --complete`, or "
            f"day by day with `innospace calendar set DATE workday|holiday` and then "
            f"`innospace calendar publish {year}`",
            year=year,
        )
        self.year = year


class IntegrityError(InnospaceError):
    code = "integrity_error"


class SchedulerError(InnospaceError):
    code = "scheduler_error"


class Unauthorized(InnospaceError):
    """Not logged in, bad credentials, an expired or revoked session or token, a disabled
    account. The message never says which part was wrong (user name or password)."""

    code = "unauthorized"

    def __init__(self, message: str = "", **context: Any) -> None:
        super().__init__(
            message or "未登录或凭据无效 / not logged in, or the credentials are not valid",
            **context,
        )


class TooManyAttempts(Unauthorized):
    """Login refused for a while: too many failures for the account (locked) or from the
    address (throttled). ``retry_after``: seconds until a new attempt may succeed."""

    code = "too_many_attempts"

    def __init__(self, retry_after: int) -> None:
        seconds = max(1, int(retry_after))
        super().__init__(
            f"登录尝试过多，请 {seconds} 秒后再试 / too many login attempts; "
            f"try again in {seconds} seconds",
            retry_after=seconds,
        )
        self.retry_after = seconds


class Forbidden(InnospaceError):
    """Logged in, but the account's role or scope does not allow the action."""

    code = "forbidden"

    def __init__(self, message: str = "", **context: Any) -> None:
        super().__init__(message or "无权执行此操作 / this account may not do that", **context)
