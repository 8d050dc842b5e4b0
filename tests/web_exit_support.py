"""What the exit pages' tests share: the world's own tenancy made resident through every
real step, an exit notice served on it, and files to attach."""

from __future__ import annotations

import struct
import zlib
from datetime import date, timedelta

from api_support import World

from entrypoints.demo_data import scores
from lifecycle.clock import FixedClock
from workflows import commands as c
from workflows.sweeps import sweep_deadlines

#: A minimal valid PDF and PNG, and an executable named like a PDF.
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 200


def png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\x00"))
        + chunk(b"IEND", b"")
    )


def clock_of(world: World) -> FixedClock:
    clock = world.app.clock
    assert isinstance(clock, FixedClock)
    return clock


def make_resident(world: World, tenancy_id: int | None = None) -> int:
    """The tenancy (the world's own by default) screened, scored, approved, through its 公示
    (the clock moves two weeks) and signed for unit U0 with a 20,000 元 deposit."""
    tid = tenancy_id or world.own_tenancy
    world.do(c.Screen(tenancy_id=tid))
    for reviewer in ("张", "李", "王"):
        world.do(c.ScoreApplication(tenancy_id=tid, reviewer=reviewer, scores=scores(0.8)))
    world.do(c.Approve(tenancy_id=tid))
    clock = clock_of(world)
    clock.advance(timedelta(days=14))
    sweep_deadlines(world.app.service)  # 公示 ends -> admitted
    today = clock.now().date()
    world.do(
        c.Sign(
            tenancy_id=tid,
            units=("U0",),
            term_start=today,
            term_end=date(today.year + 3, today.month, 1),
            deposit_yuan=20000,
        )
    )
    return tid


def serve_notice(world: World, tenancy_id: int | None = None) -> int:
    """An exit notice served on a resident tenancy (sublet); the relay delivers it."""
    tid = tenancy_id or world.own_tenancy
    world.do(
        c.ServeExitNotice(
            tenancy_id=tid,
            grounds="sublet",
            facts="2024 年 3 月巡查发现 B 座 201 室被转租给第三方",
            proof_of_service="EMS 1234567890，企业法定代表人签收",
            actor="operator",
        )
    )
    world.app.relay().run_once()
    return tid
