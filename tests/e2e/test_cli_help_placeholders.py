"""Every command's ``--help`` shows what to type, not a bare type: ``--period YEAR``,
``--from YYYY-MM-DD``, ``tenancy ID``, never ``<str>``, ``<int>`` or ``<list[str]>`` (Typer's
placeholders) nor Click's ``TEXT`` / ``INTEGER``; and every option's help, ``--help``'s
own included, is said Chinese first."""

from __future__ import annotations

import re

import pytest

from entrypoints.cli import command, main

#: Typer's placeholder for a value's type (``<str>``, ``<int range>``, ``<list[Path]>``…) and
#: Click's (``TEXT``, ``INTEGER`` …), as they stand in the help's type column.
BARE = re.compile(
    r"<(?:str|int|float|bool|Path|datetime|uuid|int range|float range|list\[[^\]]*\])>"
    r"|(?<![A-Z_=|-])(?:TEXT|INTEGER|FLOAT|BOOLEAN|PATH|FILENAME|UUID)(?![A-Z_=|-])"
)
CJK = re.compile(r"[\u4e00-\u9fff]")


def _paths() -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = [()]
    pending = [((), command())]
    while pending:
        path, cmd = pending.pop()
        for name, sub in (getattr(cmd, "commands", None) or {}).items():
            found.append((*path, name))
            pending.append(((*path, name), sub))
    return sorted(found)


def test_the_pattern_finds_typer_s_own_placeholders() -> None:
    for shown in ("--db <str> 数据库", "<list[str]>", "--port <int range>", "TEXT", "INTEGER"):
        assert BARE.search(shown), shown
    for shown in ("YEAR", "ID|USCC", "KEY=VALUE", "FACTS|@FILE|-", "cli:<os user> NAME"):
        assert not BARE.search(shown), shown


def test_no_command_s_help_shows_a_bare_type_placeholder(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # one line a parameter: a placeholder is not cut
    paths = _paths()
    assert len(paths) > 100 and ("review", "submit") in paths and ("exit",) in paths
    left: dict[str, list[str]] = {}
    for path in paths:
        capsys.readouterr()
        with pytest.raises(SystemExit) as done:
            main([*path, "--help"])
        assert done.value.code == 0, path
        out = capsys.readouterr().out
        assert "Usage: innospace" in out, path
        bare = [line.strip() for line in out.splitlines() if BARE.search(line)]
        if bare:
            left[" ".join(path) or "innospace"] = bare
    assert left == {}


def test_every_option_s_help_is_said_chinese_first() -> None:
    from typer import Context

    english: list[str] = []
    pending = [("innospace", command())]
    while pending:
        path, cmd = pending.pop()
        for name, sub in (getattr(cmd, "commands", None) or {}).items():
            pending.append((f"{path} {name}", sub))
        for param in cmd.get_params(Context(cmd, info_name=path)):
            first = (getattr(param, "help", None) or "").split(" / ")[0]
            if not CJK.search(first):
                english.append(f"{path} {param.name}: {param.help!r}")
    assert english == []
