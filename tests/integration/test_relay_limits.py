"""No input can halt the outbox: runaway overrides fail their own rows, and ``templates set``
refuses them (issue 15, section 1).

Overrides that recurse, loop for one firm only, or build a 10-million-character string are
stored directly (as a revision saved before these checks existed would be); a relay pass must
return, mark exactly those rows dead with the reason and deliver every other row. Then the
same sources, and loops that only long names or missing optional fields trigger, are refused by
``save_override`` and by ``innospace templates set`` (exit 2, no traceback, nothing stored).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, SQLModel, select
from test_relay_smtp import SmtpServer, World, free_port

from db.engine import make_engine
from db.tables import MessageTemplate
from lifecycle.errors import InvalidTemplate
from notifications.limits import RenderLimits
from notifications.overrides import save_override
from notifications.render import Renderer

LIMITS = RenderLimits(seconds=1.0)
LOOP = "{% set r = range(100000)|list %}{% for a in r %}{% for b in r %}{% endfor %}{% endfor %}"
RECURSIVE = "{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}"
HUGE = '{{ "a"*10**7 }}'
LOOP_FIRM = "无限循环科技有限公司"


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    eng = make_engine(f"sqlite:///{tmp_path}/t.db")
    SQLModel.metadata.create_all(eng)
    yield World(eng)
    eng.dispose()


@pytest.fixture
def server() -> Iterator[SmtpServer]:
    srv = SmtpServer(free_port())
    srv.start()
    yield srv
    srv.stop()


def store(world: World, name: str, part: str, source: str) -> None:
    with Session(world.engine) as s:
        s.add(
            MessageTemplate(
                name=name,
                locale="zh-CN",
                part=part,
                revision=1,
                source=source,
                author="old",
                created_at=world.clock.now(),
            )
        )
        s.commit()


def test_runaway_overrides_fail_only_their_rows(world: World, server: SmtpServer) -> None:
    world.firm(LOOP_FIRM, "loop@a.example")
    for i in range(4):
        world.firm(f"企业{i}", f"c{i}@b.example")
    # admitted loops for one firm only; the other firms' admitted notices must go out.
    store(
        world,
        "admitted",
        "subject",
        f'{{% if firm.name == "{LOOP_FIRM}" %}}{LOOP}{{% endif %}}准予入驻：{{{{ firm.name }}}}',
    )
    store(world, "review_opened", "text", RECURSIVE)
    store(world, "application_received", "text", HUGE)
    looping = world.add(LOOP_FIRM, "admitted")
    recursive = world.add("企业0", "review_opened")
    huge = world.add("企业1", "application_received")
    fine = [world.add(f"企业{i}", "admitted") for i in range(4)]
    fine += [world.add(f"企业{i}", "exit_notice") for i in range(4)]
    fine.append(world.add(LOOP_FIRM, "exit_notice"))

    started = time.monotonic()
    report = world.relay(server.port, renderer=Renderer(limits=LIMITS)).run_once()
    elapsed = time.monotonic() - started

    assert elapsed < 30
    assert (report.claimed, report.delivered, report.dead) == (12, 9, 3)
    reasons = {i: world.row(i).last_error or "" for i in (looping, recursive, huge)}
    assert all(world.row(i).status == "dead" for i in reasons)
    assert "rendering stopped" in reasons[looping] and "1 s" in reasons[looping]
    assert "RecursionError" in reasons[recursive]
    assert "'*' would build 10,000,000" in reasons[huge]
    assert all(world.row(i).status == "sent" for i in fine)
    assert len(server.handler.messages) == 9
    subjects = {m["Subject"] for _, m in server.handler.messages}
    assert {f"准予入驻：企业{i}" for i in range(4)} <= subjects
    assert len(world.inbox()) == 9  # dead rows have no inbox item


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (RECURSIVE, "RecursionError"),
        (HUGE, "'*' would build"),
        ('{{ "x".center(10**9) }}', "str method call"),
        ("{% for i in range(100000) %}" + "x" * 40 + "{% endfor %}", "passed 262,144 characters"),
        (LOOP, "rendering stopped"),
        # Only the adversarial contexts meet these conditions.
        ("{% if firm.name|length > 150 %}" + LOOP + "{% endif %}ok", "long names"),
        ("{% if firm.contact_name is none %}" + RECURSIVE + "{% endif %}ok", "fields missing"),
        ("{{ " + "(" * 3000 + "1" + ")" * 3000 + " }}", "nested too deeply"),
    ],
    ids=["recursion", "multiply", "center", "output", "loop", "long-name", "sparse", "nesting"],
)
def test_save_override_refuses_runaway_templates(world: World, source: str, expected: str) -> None:
    renderer = Renderer(limits=LIMITS)
    try:
        with Session(world.engine) as s, pytest.raises(InvalidTemplate) as err:
            save_override(
                s, "admitted", "zh-CN", "text", source, "op", world.clock.now(), renderer=renderer
            )
    finally:
        renderer.close()
    assert expected in str(err.value)
    with Session(world.engine) as s:
        assert s.exec(select(MessageTemplate)).all() == []


def test_a_plain_override_still_passes(world: World) -> None:
    with Session(world.engine) as s:
        revision = save_override(
            s, "admitted", "zh-CN", "subject", "准予入驻：{{ firm.name }}", "op", world.clock.now()
        )
        s.commit()
    assert revision == 1


@pytest.mark.parametrize("source", [RECURSIVE, HUGE], ids=["recursion", "multiply"])
def test_templates_set_exits_2_without_a_traceback(tmp_path: Path, source: str) -> None:
    db = f"sqlite:///{tmp_path}/cli.db"
    env = {**os.environ, "INNOSPACE_DATABASE_URL": db}
    cli = [str(Path(sys.executable).parent / "innospace")]
    subprocess.run([*cli, "init"], env=env, check=True, capture_output=True, timeout=120)
    path = tmp_path / "t.j2"
    path.write_text(source, encoding="utf-8")
    done = subprocess.run(
        [*cli, "templates", "set", "admitted", "--locale", "zh-CN", "--part", "text"]
        + ["--file", str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert "override" in done.stderr + done.stdout
    history = subprocess.run(
        [*cli, "templates", "history", "admitted", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert history.stdout.strip() in ("[]", "")
