"""The README's examples run as printed (issue 14, item 17).

Every ```sh block preceded by ``<!-- runnable -->`` is run, in the README's order, by bash
(``-e``: the first failing command fails the test) in an empty directory holding a copy of
``examples/`` and ``.venv`` (this interpreter's environment), after the Quick start's
``innospace demo``. Blocks without the mark are illustrations (placeholders, SMTP settings,
another machine) and are skipped.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from stdnum.cn import uscc

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
BIN = Path(sys.executable).parent
MARK = "<!-- runnable -->"
BLOCK = re.compile(r"^" + re.escape(MARK) + r"\n```sh\n(.*?)^```", re.MULTILINE | re.DOTALL)
TIMEOUT_S = 120


def runnable_blocks(text: str) -> list[str]:
    return [m.group(1) for m in BLOCK.finditer(text)]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INNOSPACE_")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def test_every_mark_precedes_a_sh_block() -> None:
    text = README.read_text(encoding="utf-8")
    assert text.count(MARK) == len(runnable_blocks(text)) >= 4


def test_the_readme_examples_run_in_order_on_a_fresh_training_database(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    (tmp_path / ".venv").symlink_to(BIN.parent, target_is_directory=True)
    env = _env()
    demo = subprocess.run(
        [str(BIN / "innospace"), "demo"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    assert demo.returncode == 0, demo.stderr[-2000:]
    text = README.read_text(encoding="utf-8")
    # what the demo tells the operator to try is what the README shows
    for line in demo.stdout.splitlines():
        tried = re.search(r"innospace (--db \S+ .+)$", line)
        if tried:
            assert f"innospace {tried.group(1)}" in text, line
    for number, block in enumerate(runnable_blocks(text), 1):
        done = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-x", "-c", block],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            check=False,
        )
        assert done.returncode == 0, (
            f"README runnable block {number} failed (exit {done.returncode}):\n"
            f"{block}\n--- stderr (end) ---\n{done.stderr[-3000:]}"
        )


def test_every_uscc_in_the_readme_passes_its_checksum() -> None:
    text = README.read_text(encoding="utf-8")
    codes = set(re.findall(r"\b9[0-9A-Z]{17}\b", text))
    assert codes, "the README shows no USCC"
    assert [c for c in sorted(codes) if not uscc.is_valid(c)] == []


def test_the_readme_lists_every_trigger_code_and_rules_show_prints_them() -> None:
    done = subprocess.run(
        [str(BIN / "innospace"), "rules", "show", "--triggers"],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=True,
    )
    codes = re.findall(r"^  ([a-z_]+) ", done.stdout, re.MULTILINE)
    assert "arrears" in codes and "major_accident" in codes and len(codes) >= 10
    text = README.read_text(encoding="utf-8")
    assert [c for c in codes if f"`{c}`" not in text] == []
