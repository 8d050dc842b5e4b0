"""A rulebook without a forced-exit trigger the workflows name in code is refused when it is
loaded (``parse_rulebook``, ``innospace rules check``), with the key path of what is missing,
not later when a decision first needs the trigger."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from entrypoints.cli import main
from lifecycle.errors import InvalidRulebook
from lifecycle.rulebook import REQUIRED_TRIGGER_CODES, parse_rulebook

ROOT = Path(__file__).resolve().parents[2]
TEXT = (ROOT / "workflows" / "default_rulebook.toml").read_text("utf-8")


def without_trigger(text: str, code: str) -> str:
    """``text`` with the ``[[exit.triggers]]`` table of ``code`` cut out."""
    block = re.compile(
        r'\[\[exit\.triggers\]\]\ncode = "' + re.escape(code) + r'"\n.*?(?=\n\[)', re.S
    )
    cut, count = block.subn("", text)
    assert count == 1, code
    return cut


def test_the_shipped_rulebook_has_every_required_trigger() -> None:
    rb = parse_rulebook(TEXT, "default_rulebook.toml")
    assert set(REQUIRED_TRIGGER_CODES) <= set(rb.triggers)


def test_the_required_codes_are_the_ones_the_workflows_name() -> None:
    """Every trigger code written as a literal in the workflows (``grounds="…"``,
    ``exit_trigger(rb, "…")``) is in :data:`REQUIRED_TRIGGER_CODES`: a new literal cannot be
    added without requiring it of every rulebook."""
    literal = re.compile(
        r'(?:grounds\s*=\s*(?:sql\.const\()?|"grounds":\s*|exit_trigger\(\s*rb\s*,\s*)'
        r'"([a-z_]+)"'
    )
    used: set[str] = set()
    for path in [*(ROOT / "workflows").rglob("*.py"), *(ROOT / "lifecycle").rglob("*.py")]:
        used |= set(literal.findall(path.read_text("utf-8")))
    assert used <= set(REQUIRED_TRIGGER_CODES), used - set(REQUIRED_TRIGGER_CODES)


@pytest.mark.parametrize("code", REQUIRED_TRIGGER_CODES)
def test_a_rulebook_without_a_required_trigger_is_refused_at_load(code: str) -> None:
    with pytest.raises(InvalidRulebook) as info:
        parse_rulebook(without_trigger(TEXT, code), "space.toml")
    paths = dict(info.value.problems)
    assert f"exit.triggers.{code}" in paths
    assert "required trigger missing" in paths[f"exit.triggers.{code}"]
    assert f"exit.triggers.{code}" in info.value.message


def test_only_the_missing_trigger_is_reported() -> None:
    """consecutive_d is referred to by nothing else in the file: its absence is the only
    problem (failed_rectification is also rectification.failure_trigger)."""
    with pytest.raises(InvalidRulebook) as info:
        parse_rulebook(without_trigger(TEXT, "consecutive_d"), "space.toml")
    assert [path for path, _ in info.value.problems] == ["exit.triggers.consecutive_d"]


def test_rules_check_exits_2_naming_the_key_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "no_consecutive_d.toml"
    path.write_text(without_trigger(TEXT, "consecutive_d"), "utf-8")
    with pytest.raises(SystemExit) as exit_:
        main(["--db", f"sqlite:///{tmp_path / 'x.db'}", "rules", "check", str(path)])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "exit.triggers.consecutive_d" in err and str(path) in err

    good = tmp_path / "good.toml"
    good.write_text(TEXT, "utf-8")
    capsys.readouterr()
    try:
        main(["--db", f"sqlite:///{tmp_path / 'x.db'}", "rules", "check", str(good)])
    except SystemExit as ok:
        assert not ok.code
    assert "OK" in capsys.readouterr().out
