"""Every error a person can read is Chinese first (the project's rule: "bad input gets a clear
Chinese-first error naming the field and the rule").

The source is read, not run: every ``raise``-able call of an error class that carries a rule
(``InvalidInput``, ``InvalidTemplate``, ``GuardFailed``) or a message (``Conflict``,
``CalendarError``, ``IntegrityError``, ``SchedulerError``, ``LeaseLost``, ``Forbidden``) with
a text written in the code must say it in Chinese: inline (``"须为数字 / must be a number"``)
or, for a rule, through ``lifecycle.errors.RULE_WORDS``. A new English-only rule fails here.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from lifecycle.errors import (
    RULE_WORDS,
    GuardFailed,
    InvalidInput,
    bilingual,
    rule_words,
)

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("lifecycle", "workflows", "notifications", "db", "entrypoints")
CJK = re.compile(r"[\u3400-\u9fff]")

#: The classes whose text reaches a person, and where the text is among the arguments.
RULE_AT = {"InvalidInput": (1, "rule"), "InvalidTemplate": (1, "rule"), "GuardFailed": (2, "rule")}
MESSAGE_AT = {
    "Conflict": (0, "message"),
    "CalendarError": (0, "message"),
    "IntegrityError": (0, "message"),
    "SchedulerError": (0, "message"),
    "LeaseLost": (0, "message"),
    "Forbidden": (0, "message"),
}
#: What a part that varies (``{x}`` in an f-string) stands for when a rule is looked up.
SAMPLE = "7"


@dataclass(frozen=True)
class Site:
    where: str
    kind: str  # "rule" or "message"
    text: str  # the text with each part that varies as SAMPLE


def _render(node: ast.expr) -> str | None:
    """The text ``node`` writes, each part that varies as :data:`SAMPLE`; None for a text
    the code does not write out (a variable, another error's rule)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(
            v.value if isinstance(v, ast.Constant) else SAMPLE for v in node.values
        )  # FormattedValue → SAMPLE
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _render(node.left), _render(node.right)
        if left is None and right is None:
            return None
        return (left if left is not None else SAMPLE) + (right if right is not None else SAMPLE)
    return None


def _texts(node: ast.expr, names: dict[str, list[ast.expr]]) -> Iterator[str]:
    """Every text the argument ``node`` may be: both sides of ``a or b`` and ``a if c else
    b``, and a name assigned a text in the same module."""
    if isinstance(node, ast.BoolOp):
        for value in node.values:
            yield from _texts(value, names)
    elif isinstance(node, ast.IfExp):
        yield from _texts(node.body, names)
        yield from _texts(node.orelse, names)
    elif isinstance(node, ast.Name) and node.id in names:
        for value in names[node.id]:
            yield from _texts(value, {})
    else:
        text = _render(node)
        if text is not None:
            yield text


def sites_in(source: str, where: str) -> list[Site]:
    tree = ast.parse(source)
    names: dict[str, list[ast.expr]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                names.setdefault(target.id, []).append(node.value)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        at = RULE_AT.get(str(name)) or MESSAGE_AT.get(str(name))
        if at is None:
            continue
        index, keyword = at
        arg = node.args[index] if len(node.args) > index else None
        if isinstance(arg, ast.Starred):
            continue  # InvalidInput(*problem): checked in test_a_problem_tuple_is_chinese
        arg = arg or next((k.value for k in node.keywords if k.arg == keyword), None)
        if arg is None:
            continue
        kind = "rule" if str(name) in RULE_AT else "message"
        for text in _texts(arg, names):
            found.append(Site(f"{where}:{node.lineno}", kind, text))
    return found


def all_sites() -> list[Site]:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            where = str(path.relative_to(ROOT))
            found.extend(sites_in(path.read_text(encoding="utf-8"), where))
    return found


def english_only(sites: list[Site]) -> list[str]:
    """The sites a Chinese operator would read in English."""
    bad = []
    for site in sites:
        if CJK.search(site.text):
            continue  # written Chinese first at the raise site
        if site.kind == "rule" and rule_words(site.text) is not None:
            continue  # said in Chinese by RULE_WORDS
        bad.append(f"{site.where}: {site.text!r}")
    return bad


def test_every_rule_and_message_written_in_the_code_has_its_chinese() -> None:
    sites = all_sites()
    assert len(sites) > 300, "the scan found too few raise sites: is it still looking?"
    assert english_only(sites) == [], (
        "English-only error texts: add the Chinese inline ('中文 / English') or to "
        "lifecycle.errors.RULE_WORDS"
    )


def test_the_scan_flags_an_english_only_rule_and_message() -> None:
    source = (
        "def f(x):\n"
        "    raise InvalidInput('colour', 'must be purple', x)\n"
        "def g(t):\n"
        "    raise GuardFailed(t, 'sign', f'the moon is {t} days old')\n"
        "def h():\n"
        "    raise Conflict('endpoint 3 is disabled')\n"
        "def i(x):\n"
        "    rule = 'must be square'\n"
        "    raise InvalidInput('shape', rule, x)\n"
        "def j(d):\n"
        "    raise InvalidInput('x', d.reason or 'refused for no reason')\n"
        "def ok(x):\n"
        "    raise InvalidInput('n', 'must not be negative', x)\n"
        "    raise InvalidInput('n', f'须为紫色 / must be {x}')\n"
        "    raise Conflict(f'推送地址 {x} 已停用 / endpoint {x} is disabled')\n"
    )
    assert [line.split(":")[1] for line in english_only(sites_in(source, "m"))] == [
        "2",
        "4",
        "6",
        "9",
        "11",
    ]


def test_rules_built_elsewhere_have_their_chinese() -> None:
    """Rules the scan cannot read at the raise site: the machine's guards and the SMTP check's
    (field, rule) pair."""
    from lifecycle.machine import GUARDS
    from notifications.channels import plaintext_auth_problem

    for guard in GUARDS.values():
        assert rule_words(guard.rule), guard.rule
    problem = plaintext_auth_problem("plain", "user", False)
    assert problem is not None and rule_words(problem[1]), problem


def test_each_entry_of_the_catalog_is_chinese_and_names_only_its_own_parts() -> None:
    placeholder = re.compile(r"\{(\w+)\}")
    for en, zh in RULE_WORDS.items():
        assert CJK.search(zh) or zh.startswith("{rule}"), en
        assert set(placeholder.findall(zh)) <= set(placeholder.findall(en)), en
        assert not CJK.search(en), en


@pytest.mark.parametrize(
    ("rule", "zh"),
    [
        ("must be a year between 2000 and 2026", "须为 2000 至 2026 之间的年份"),
        ("must not be negative", "不得为负数"),
        ("must be one of applied, screening", "须为以下之一：applied、screening"),
        ("each veto is TENANCY=CODE, e.g. 12=fraud", "每项否决须写作 租户编号=代码，例如 12=fraud"),
        # a part already written "中文 / English" lends its Chinese half
        ("the 限期改正期 / cure period is already over", "限期改正期已结束"),
        # a template's nested rule is said in Chinese too
        ("must be one of a, b [firm, subject]", "须为以下之一：a、b［firm，subject］"),
    ],
)
def test_rule_words_of_a_rule_with_parameters(rule: str, zh: str) -> None:
    assert rule_words(rule) == zh
    assert bilingual(rule) == f"{zh} / {rule}"


def test_a_rule_with_its_own_chinese_or_without_an_entry_is_left_as_it_is() -> None:
    assert rule_words("须为数字 / must be a number") is None
    assert bilingual("须为数字 / must be a number") == "须为数字 / must be a number"
    assert bilingual("no such rule anywhere") == "no such rule anywhere"


def test_the_message_is_chinese_first_while_the_rule_stays_english() -> None:
    err = InvalidInput("period", "must be a year between 2000 and 2026", 1999)
    assert err.message == (
        "period: 须为 2000 至 2026 之间的年份 / must be a year between 2000 and 2026 (got 1999)"
    )
    assert (err.field, err.rule, err.code, err.got) == (
        "period",
        "must be a year between 2000 and 2026",
        "invalid_input",
        " (got 1999)",
    )
    bilingual_rule = InvalidInput("n", "须为数字 / must be a number", "x")
    assert bilingual_rule.message == "n: 须为数字 / must be a number (got 'x')"


def test_a_guard_says_the_tenancy_the_trigger_and_the_rule_in_chinese_first() -> None:
    rule = "signing needs at least one allocated unit (allocate with --unit)"
    err = GuardFailed(4, "sign", rule)
    assert err.message == (
        "入驻记录 4 不能执行 sign：签约须至少分配一个单元（用 --unit 分配） / "
        f"tenancy 4: 'sign' refused: {rule}"
    )
    assert err.rule == rule
    own = GuardFailed(4, "decide", "已有结论 / decided already")
    assert own.message == "入驻记录 4 不能执行 decide：已有结论 / decided already"


def test_a_refused_yes_no_is_quoted_as_json_writes_it() -> None:
    """A figure of ``true`` where a number is asked for: ``(got true)``, never Python's
    ``True``."""
    err = InvalidInput("figures.revenue_yuan", "must be a number, not a yes/no value", True)
    assert err.got == " (got true)"
    assert "True" not in err.message
