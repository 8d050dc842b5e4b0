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

import re
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from functools import cache
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
    "violation": "违规记录",
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


#: Chinese for the rules errors state in English (``InvalidInput.rule``, ``GuardFailed.rule``),
#: so a message reads ``field: 中文 / English (got x)`` while ``rule`` stays the English text
#: other code compares. A key is the rule as written; ``{name}`` stands for a part that
#: varies (any text), and the Chinese repeats it: ``{choices}`` is shown as a Chinese list
#: (``a、b``), ``{rule}`` is a nested rule said in Chinese, and a part already written
#: ``中文 / English`` is shown by its Chinese half. A rule that carries its own Chinese
#: (``"须为数字 / must be a number"``) needs no entry. tests/unit/test_error_words.py fails
#: on a raise whose English rule has neither.
RULE_WORDS: dict[str, str] = {
    # -- a template's rule with where it broke (first: the rule itself may be any other)
    "{rule} [{audience}, {part}]": "{rule}［{audience}，{part}］",
    # -- numbers, dates, choices
    "must not be negative": "不得为负数",
    "must be a number": "须为数字",
    "must be a finite number": "须为有限数值",
    "must be a number, not a yes/no value": "须为数字，不是“是/否”",
    "must be yes/no (true or false)": "须为“是”或“否”",
    "must be between -10^15 and 10^15": "绝对值不得超过 10^15",
    "must be between 0 and {high}": "须在 0 至 {high} 之间",
    "must be a whole number >= 0": "须为不小于 0 的整数",
    "must be at least 1": "须至少为 1",
    "must be >= 1": "须不小于 1",
    "must be 1..12": "须为 1 至 12",
    "must be 1, 2, 3 or 4": "须为 1、2、3 或 4",
    "must be 1..{high} for {name}": "{name} 须为 1 至 {high}",
    "must be 0..{high} for {name}": "{name} 须为 0 至 {high}",
    "must be a year between {low} and {high}": "须为 {low} 至 {high} 之间的年份",
    "must lie between {low} and {high}": "须在 {low} 至 {high} 之间",
    "must be one of {choices}": "须为以下之一：{choices}",
    "must be head or one of {choices}": "须为 head 或以下之一：{choices}",
    "is required": "必填",
    "must not be empty": "不能为空",
    "must be a date (convert instants with local_date first)": (
        "须为日期（时刻须先用 local_date 换算为当地日期）"
    ),
    "must be a timezone-aware datetime": "须为带时区的日期时间",
    "must be an IANA time zone name": "须为 IANA 时区名称，如 Asia/Shanghai",
    "must carry a UTC offset, e.g. 2024-03-04T09:00+08:00": (
        "须带 UTC 时差，如 2024-03-04T09:00+08:00"
    ),
    "must not be in the future": "不得晚于今天",
    "must not be before the term starts ({start})": "不得早于租期开始日（{start}）",
    "value must be true (workday) or false (holiday)": "取值须为 true（工作日）或 false（休息日）",
    "must be a zh-* or en-* locale": "须为 zh-* 或 en-* 语言区域",
    "keys must be calendar years": "键须为公历年份",
    "keys are tenancy ids": "键须为入驻记录编号",
    "must be 1 to {high} characters": "须为 1 至 {high} 个字符",
    "must be at most {high} characters": "最多 {high} 个字符",
    "at most {high} fields": "最多 {high} 个字段",
    # -- fixed choices named in the rule
    "must be open or decide": "须为 open（开启）或 decide（决定）",
    "must be pass, rectify or fail": "须为 pass（通过）、rectify（整改）或 fail（不通过）",
    "must be graduation, term_expiry or voluntary (a forced exit begins with an exit notice "
    "served)": (
        "须为 graduation（毕业）、term_expiry（租期届满）或 voluntary（主动退出）"
        "（强制退出须先送达退出通知）"
    ),
    "must be workday or holiday": "须为 workday（工作日）或 holiday（休息日）",
    "must be wecom or dingtalk": "须为 wecom（企业微信）或 dingtalk（钉钉）",
    "must be plain, starttls or ssl": "须为 plain、starttls 或 ssl",
    "must be DEBUG, INFO, WARNING or ERROR": "须为 DEBUG、INFO、WARNING 或 ERROR",
    "with --staff: manager or operators": "与 --staff 同用时须为 manager 或 operators",
    # -- the rulebook, reviews, terms
    "unknown period; known: {choices}": "未知的期限，可用：{choices}",
    "unknown metric; metrics are {choices}": "未知的指标，指标为：{choices}",
    "unknown veto; vetoes are {choices}": "未知的否决项，否决项为：{choices}",
    "unknown qualification": "未知的资质",
    "is in no grade band": "不在任何等级区间内",
    "a forced exit needs its trigger code": "强制退出须写明退出情形代码",
    "must be after term_start": "须晚于租期开始日（term_start）",
    "must be after the current end": "须晚于当前到期日",
    "extension refused": "续期不符合规则",
    "track {track} allows at most {cap} m²": "入驻类别 {track} 最多可分配 {cap} 平方米",
    "overriding the rulebook's outcome ({outcome}) needs a reason": (
        "改变规则书得出的结论（{outcome}）须写明理由"
    ),
    "names a tenancy without a review to decide in this cycle": (
        "所列入驻记录在本轮没有待决定的考核"
    ),
    "each veto is TENANCY=CODE, e.g. 12=fraud": "每项否决须写作 租户编号=代码，例如 12=fraud",
    # -- applications, admission, exits, windows
    "has no application on record": "没有入驻申请记录",
    "say which information is missing": "请写明缺少哪些材料",
    "an operator's rejection must give its reason": "形式审查不通过须写明理由",
    "must name the reviewer": "须写明评审专家",
    "name the operator who takes this decision (--actor NAME)": (
        "须写明作出此决定的经办人（--actor 姓名）"
    ),
    "a rejection without a valid panel must state its grounds": (
        "未经有效评审小组不予通过须写明依据"
    ),
    "a valid panel has scored: decide with `approve` or `reject`": (
        "有效评审小组已评分，请用 `approve` 或 `reject` 作出决定"
    ),
    "signing needs at least one allocated unit (allocate with --unit)": (
        "签约须至少分配一个单元（用 --unit 分配）"
    ),
    "approval needs a recorded expert score at or above the pass line": (
        "批准须有已记录且不低于合格线的专家评分"
    ),
    "an accepted objection awaits a ruling": "已受理的异议尚待裁决",
    "a unit is listed twice": "同一单元列了两次",
    "unit {code} is {status}, not available (a unit cannot be let twice)": (
        "单元 {code} 状态为 {status}，不可分配（同一单元不能重复出租）"
    ),
    "unit {code} is let to tenancy {other} for an overlapping term": (
        "单元 {code} 在重叠的租期内已出租给入驻记录 {other}"
    ),
    "has no open exit case": "没有进行中的退出案件",
    "record the facts and evidence before serving notice": "送达通知前须先记录事实和证据",
    "record how the notice was served": "须记录通知的送达方式",
    "a defence was lodged: rule on it with `rule --upheld/--dismissed`": (
        "企业已提出陈述申辩，请先用 `rule --upheld/--dismissed` 作出裁决"
    ),
    "a ruling must give its reasons": "裁决须写明理由",
    "the {period} review is decided": "{period} 年度考核已作出决定",
    "an extension is 1 to {high} days": "延期须为 1 至 {high} 天",
    "only one extension is allowed": "只能延期一次",
    "the {window} is already over": "{window}已结束",
    "the {window} is already waived": "{window}已放弃",
    "give the reference of the firm's written waiver": "须写明企业书面放弃声明的文号",
    "the waiver's date must not be in the future": "放弃声明的日期不得晚于今天",
    "no violation of this tenancy is in a cure period": "该入驻记录没有处于限期改正期的违规",
    "several cure periods are open: name one with --violation ID": (
        "有多个限期改正期尚未结束，请用 --violation ID 指定其一"
    ),
    "the rectification plan is already filed": "整改方案已提交",
    # -- operations, files, keys
    "give deadline ids or all_failed, not both or neither": (
        "须给出期限编号或 all_failed，二者选其一"
    ),
    "give deadline ids or --all-failed, not both or neither": (
        "须给出期限编号或 --all-failed，二者选其一"
    ),
    "give outbox ids or all_dead, not both or neither": "须给出发送记录编号或 all_dead，二者选其一",
    "message was already sent": "该通知已发送",
    "no sweep action handles this kind": "没有处理此类期限的自动操作",
    "give --key or set INNOSPACE_AUDIT_KEY": "请给出 --key 或设置 INNOSPACE_AUDIT_KEY",
    "give --public-key or set INNOSPACE_AUDIT_KEY": (
        "请给出 --public-key 或设置 INNOSPACE_AUDIT_KEY"
    ),
    "a checkpoint is verified over every tenancy, not one": (
        "检查点针对全部入驻记录核验，不能只核验一条"
    ),
    "no such file": "文件不存在",
    "not a file name": "不是文件名",
    "cannot read file: {reason}": "无法读取文件：{reason}",
    "cannot create file: {reason}": "无法创建文件：{reason}",
    "cannot read key file: {reason}": "无法读取密钥文件：{reason}",
    "key file must be readable by its owner only (chmod 600), is {mode}": (
        "密钥文件须仅限所有者读取（chmod 600），现为 {mode}"
    ),
    "not an Ed25519 private key in PEM: {detail}": "不是 PEM 格式的 Ed25519 私钥：{detail}",
    "not an Ed25519 key in PEM: {detail}": "不是 PEM 格式的 Ed25519 密钥：{detail}",
    "not a checkpoint: {detail}": "不是检查点文件：{detail}",
    "larger than the limit of {limit} bytes": "超过 {limit} 字节的上限",
    "must contain a JSON object": "须为 JSON 对象",
    "not valid JSON (line {line}, column {column}): {detail}": (
        "不是有效的 JSON（第 {line} 行第 {column} 列）：{detail}"
    ),
    "not valid JSON: {detail}": "不是有效的 JSON：{detail}",
    "nested deeper than {limit} levels": "嵌套超过 {limit} 层",
    "each line is DATE,workday|holiday[,note]": "每行须写作 日期,workday|holiday[,备注]",
    # -- databases, delivery, webhooks
    "only sqlite and postgresql are supported": "仅支持 sqlite 和 postgresql",
    "must be a path or an SQLAlchemy URL": "须为文件路径或 SQLAlchemy URL",
    "inbox delivery supports sqlite and postgresql": "站内信投递仅支持 sqlite 和 postgresql",
    "must contain an email address": "须包含电子邮箱地址",
    "plain sends INNOSPACE_SMTP_USERNAME and INNOSPACE_SMTP_PASSWORD unencrypted: use starttls "
    "or ssl, or set INNOSPACE_SMTP_ALLOW_PLAINTEXT_AUTH=1 for a relay on this host (loopback)": (
        "plain 模式会以明文发送 INNOSPACE_SMTP_USERNAME 和 INNOSPACE_SMTP_PASSWORD：请改用 "
        "starttls 或 ssl，或对本机（loopback）上的中继设置 INNOSPACE_SMTP_ALLOW_PLAINTEXT_AUTH=1"
    ),
    "must be 1–200 characters without spaces": "须为 1–200 个字符，不含空格",
    "a webhook's signing key is generated, not given": "Webhook 的签名密钥由系统生成，不能指定",
    "must not contain spaces or control characters": "不得含空格或控制字符",
    "must name a host": "须写明主机名",
    "must not carry a #fragment": "不得带 #片段",
    "is not a valid URL": "不是有效的 URL",
    "must be message keys (innospace templates list)": "须为通知键（见 innospace templates list）",
    'must be an ETag such as "7"': '须为 ETag，如 "7"',
    # -- notices and their templates
    "give a firm id or USCC, or --staff (not both)": (
        "须给出企业编号或统一社会信用代码，或 --staff（二者选其一）"
    ),
    "only applies with --staff": "仅与 --staff 同用",
    "--file needs --part: which part the file replaces": (
        "--file 须与 --part 同用，指明文件替换哪一部分"
    ),
    "say who edited the template": "须写明模板的修改人",
    "template source is empty": "模板内容为空",
    "template source is {size} characters (limit {limit})": (
        "模板内容有 {size} 个字符（上限 {limit}）"
    ),
    "template nested too deeply to compile": "模板嵌套过深，无法编译",
    "not in the message catalog": "不在通知目录中",
    "context for audience {audience} lacks {choices}": "面向 {audience} 的上下文缺少：{choices}",
    "no copy for audience {audience}; the message goes to {choices}": (
        "没有面向 {audience} 的文案；此通知发给：{choices}"
    ),
    "legal notice lacks section(s) {choices}": "法律文书缺少以下部分：{choices}",
    "rendering stopped: {detail} ({seconds} s, {memory} MiB)": (
        "渲染已中止：{detail}（限时 {seconds} 秒、内存 {memory} MiB）"
    ),
    "{count} problem(s) found": "发现 {count} 个问题",
    "line {line}: {detail}": "第 {line} 行：{detail}",
    # -- periods and settings, as pydantic words their refusal
    "period {text} is not '<amount><wd|d|m>' optionally followed by 'civil' or "
    "'inclusive' (e.g. '5wd', '90d', '6m', '5wd inclusive')": (
        "期限 {text} 须写作“数量+单位”（wd 工作日、d 自然日、m 月），可再加 civil 或 "
        "inclusive，如 '5wd'、'90d'、'6m'、'5wd inclusive'"
    ),
    "an inclusive period needs an amount of at least 1": "含首日计算的期限至少为 1",
    "inclusive counting applies to day periods, not months": (
        "含首日计算只适用于按日计算的期限，不适用于按月计算的期限"
    ),
}
# pydantic's own refusals ("Field required", "Input should be …") are said by their error type
# and limits in lifecycle.validation_words, not by their English here.

_CJK = re.compile(r"[\u3400-\u9fff]")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@cache
def _rule_patterns() -> tuple[tuple[re.Pattern[str], str], ...]:
    """The keys of :data:`RULE_WORDS` with parts that vary, as patterns (in the table's order:
    a specific key before a general one)."""
    patterns = []
    for en, zh in RULE_WORDS.items():
        parts = _PLACEHOLDER.split(en)  # text, name, text, name, …, text
        if len(parts) == 1:
            continue
        regex = "".join(
            re.escape(part) if i % 2 == 0 else f"(?P<{part}>.+?)" for i, part in enumerate(parts)
        )
        patterns.append((re.compile(regex, re.DOTALL), zh))
    return tuple(patterns)


def _zh_part(name: str, value: str) -> str:
    if name == "rule":
        return rule_words(value) or _zh_half(value)
    if name == "choices":
        return "、".join(value.split(", "))
    return _zh_half(value)


def _zh_half(text: str) -> str:
    zh, sep, _en = text.partition(" / ")
    return zh if sep and _CJK.search(zh) else text


def rule_words(rule: str) -> str | None:
    """The Chinese of an English ``rule`` (:data:`RULE_WORDS`), None when it has no entry."""
    found = RULE_WORDS.get(rule)
    if found is not None:
        return found
    for pattern, zh in _rule_patterns():
        match = pattern.fullmatch(rule)
        if match is not None:
            return zh.format_map({k: _zh_part(k, v) for k, v in match.groupdict().items()})
    return None


def bilingual(rule: str) -> str:
    """``rule`` as a person reads it, ``中文 / English``: the catalog's Chinese before an
    English rule; a rule that says it in Chinese itself (or has no entry) as it is."""
    zh = rule_words(rule)
    return f"{zh} / {rule}" if zh is not None else rule


class NotFound(InnospaceError):
    code = "not_found"

    def __init__(self, kind: str, key: object, *, zh: str | None = None) -> None:
        """``zh``: the whole Chinese sentence, where the key is more than a name or a number
        (``未找到入驻记录 34 的 2017 年度考核`` for the key ``2017 of tenancy 34``)."""
        en = f"{kind} {key!s} not found"
        if zh is None and (words := KIND_WORDS.get(kind)):
            zh = f"未找到{words} {key!s}"
        message = f"{zh} / {en}" if zh else en
        super().__init__(message, kind=kind, key=str(key))
        self.kind = kind
        self.key = key


def review_not_found(
    period: int, *, tenancy_id: int | None = None, space: str | None = None
) -> NotFound:
    """No review of ``period`` for a tenancy (or in a space), said whole in Chinese first."""
    if tenancy_id is not None:
        return NotFound(
            "review",
            f"{period} of tenancy {tenancy_id}",
            zh=f"未找到入驻记录 {tenancy_id} 的 {period} 年度考核",
        )
    return NotFound(
        "review", f"{period} in space {space}", zh=f"未找到空间 {space} 的 {period} 年度考核"
    )


def none_open(kind: str, tenancy_id: int) -> NotFound:
    """The tenancy has no open ``kind`` (an exit case, a rectification)."""
    words = KIND_WORDS.get(kind, kind)
    return NotFound(
        kind, f"open one of tenancy {tenancy_id}", zh=f"入驻记录 {tenancy_id} 没有进行中的{words}"
    )


class InvalidInput(InnospaceError):
    code = "invalid_input"

    #: The refused value as the message quotes it, `` (got 'x')``; "" when none was given.
    got = ""

    def __init__(self, field: str, rule: str, value: object = None) -> None:
        shown = "" if value is None else f" (got {_quoted(value)})"
        super().__init__(f"{field}: {bilingual(rule)}{shown}", field=field, rule=rule)
        self.field = field
        self.rule = rule
        self.got = shown


#: How much of a refused value a message quotes (a 50 MB line is named, not repeated).
QUOTED_MAX = 200


def _quoted(value: object) -> str:
    """The refused value as a person reads it: a number or a date as written (``200``,
    ``2024-03-31``, not ``Decimal('200')``), a yes/no as JSON writes it (``true``, not
    ``True``), anything else quoted."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, Decimal | int | float):
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
        en = f"tenancy {tenancy_id}: '{trigger}' refused: {rule}"
        zh_who = f"入驻记录 {tenancy_id} " if tenancy_id is not None else "该入驻记录"
        zh = rule_words(rule)
        if zh is not None:
            message = f"{zh_who}不能执行 {trigger}：{zh} / {en}"
        elif _CJK.search(rule):  # the rule says it in both languages itself
            message = f"{zh_who}不能执行 {trigger}：{rule}"
        else:
            message = en
        super().__init__(
            message,
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

    def __init__(self, kind: str, key: object, *, zh: str | None = None) -> None:
        """``zh``: the whole Chinese sentence, where the key is more than a name or a number
        (``入驻记录 34 的 2023 年度考核已存在`` for the key ``2023 of tenancy 34``)."""
        en = f"{kind} {key!s} already exists"
        if zh is None and (words := KIND_WORDS.get(kind)):
            zh = f"{words} {key!s} 已存在"
        message = f"{zh} / {en}" if zh else en
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
