"""``innospace serve``: the HTTP API (uvicorn), with the scheduler in the same process.

    innospace serve [--host 127.0.0.1] [--port 8000] [--workers N] [--no-scheduler] [--demo]
                    [--forwarded-allow-ips 10.0.0.5]

Behind a reverse proxy on another host, ``--forwarded-allow-ips`` names it (uvicorn's
setting; unset: ``FORWARDED_ALLOW_IPS``, else 127.0.0.1 and ::1): only a trusted proxy's
``X-Forwarded-For`` gives the client's address, which login throttling counts by.

uvicorn and FastAPI are imported inside the command: the rest of the CLI starts fast.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from entrypoints.cli.common import STATE, app, get_app
from lifecycle.errors import InvalidInput

if TYPE_CHECKING:
    from entrypoints.bootstrap import App

DEMO_DB = "innospace-demo.db"
ROLES = ("admin", "operator", "reviewer", "firm", "viewer")


@app.command("serve")
def serve_cmd(
    host: Annotated[str, typer.Option(help="监听地址 / address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="端口 / port", min=1, max=65535)] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            help="工作进程数（SQLite 仅 1） / worker processes (1 on SQLite; PostgreSQL: several)",
            min=1,
            max=64,
        ),
    ] = 1,
    no_scheduler: Annotated[
        bool,
        typer.Option("--no-scheduler", help="不在本进程运行调度器 / do not run the scheduler here"),
    ] = False,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo",
            help=f"生成演示培训库 {DEMO_DB} 并为每个角色创建账号（按演示时钟运行调度器） / "
            f"build the demo training database {DEMO_DB} and one account per role (the "
            "scheduler runs on the demo's clock)",
        ),
    ] = False,
    forwarded_allow_ips: Annotated[
        str | None,
        typer.Option(
            "--forwarded-allow-ips",
            help="信任其 X-Forwarded-For 的反向代理地址（逗号分隔；未设：FORWARDED_ALLOW_IPS，"
            "否则 127.0.0.1,::1） / addresses of the reverse proxies whose X-Forwarded-For is "
            "trusted (comma-separated; unset: FORWARDED_ALLOW_IPS, else 127.0.0.1,::1)",
        ),
    ] = None,
) -> None:
    """运行 HTTP API / serve the HTTP API (OpenAPI at /api/openapi.json, docs at /api/docs).

    Session cookies are signed with INNOSPACE_SECRET_KEY; unset, on SQLite a key is kept in
    <database>.secret (0600), on PostgreSQL serve refuses to start.
    """
    import uvicorn

    from entrypoints.http import create_app
    from entrypoints.http.serving import SECRET_ENV, SchedulerThread, secret_key

    if demo:
        # The scheduler runs on the demo's clock (from the morning after its last simulated
        # day), as a real server would: the notices the demo's steps queue reach the firms'
        # inboxes, and deadlines fall due as the demo's time passes.
        _build_demo(host, port)
    a = get_app()
    backend = a.engine.url.get_backend_name()
    if workers > 1 and backend == "sqlite":
        raise InvalidInput(
            "workers",
            "SQLite 只能用 1 个工作进程；多进程请用 PostgreSQL / SQLite serves with one "
            "worker; use PostgreSQL for several",
            workers,
        )
    key = secret_key(a)
    scheduler = None if no_scheduler else SchedulerThread(a)
    if scheduler is not None:
        scheduler.start()
    typer.echo(
        f"innospace API: http://{host}:{port}/api/docs  (OpenAPI /api/openapi.json; "
        f"{workers} worker(s), scheduler {'off' if scheduler is None else 'on'})"
    )
    try:
        if workers == 1:
            uvicorn.run(
                create_app(a, secret_key=key),
                host=host,
                port=port,
                forwarded_allow_ips=forwarded_allow_ips,
                log_level="info",
            )
        else:
            os.environ["INNOSPACE_DATABASE_URL"] = a.engine.url.render_as_string(
                hide_password=False
            )
            os.environ[SECRET_ENV] = key
            uvicorn.run(
                "entrypoints.http.serving:app_from_env",
                factory=True,
                host=host,
                port=port,
                workers=workers,
                forwarded_allow_ips=forwarded_allow_ips,
                log_level="info",
            )
    finally:
        if scheduler is not None:
            scheduler.stop()


#: Where ``serve --demo`` starts its clock: the morning after the demo's last simulated day.
DEMO_NOW = "2024-12-31T10:00:00+08:00"


def _build_demo(host: str, port: int) -> None:
    from datetime import datetime

    from entrypoints.bootstrap import ShiftedClock, bootstrap
    from entrypoints.demo import run_demo

    run_demo(Path(DEMO_DB))
    STATE.db = f"sqlite:///{Path(DEMO_DB).resolve()}"
    # The demo database is a training one (run_demo marks it so); its time is the demo's.
    STATE.app = bootstrap(
        database_url=STATE.db, clock=ShiftedClock(datetime.fromisoformat(DEMO_NOW)), create=False
    )
    logins = demo_accounts(STATE.app)
    typer.echo("\n演示账号（每个角色一个，密码随机） / demo logins, one per role:")
    for role, (username, password) in logins.items():
        typer.echo(f"  {role:<9} {username:<14} {password}")
    base = f"http://{host}:{port}"
    typer.echo(
        f"\n控制台 / console: {base}/login  （企业用户进入门户 / firm users land in the portal）"
    )
    typer.echo(f"演示时钟 / demo clock: {DEMO_NOW} 起 / onwards (training database)")
    typer.echo("API — 试试（密码见上） / try it (the password above):")
    typer.echo(
        "  curl -s -c operator.jar -H 'Content-Type: application/json' "
        f'-d \'{{"username":"demo-operator","password":"…"}}\' {base}/api/session'
    )
    typer.echo(f"  curl -s -b operator.jar '{base}/api/tenancies?space=MC3&state=active&limit=20'")
    typer.echo("  更多 / more: README.md「The HTTP API」, docs/http-api.md")


def demo_accounts(a: App) -> dict[str, tuple[str, str]]:
    """One account per role on the demo database, each with a random password; the reviewer
    is assigned the applications still being scored — the demo decides all of its own by
    2024, so one new application (a firm of its own, in MC3) is filed for the reviewer and
    the operator to act on."""
    from lifecycle.table import ACTIVE
    from workflows import identity as i
    from workflows import queries, queries_core
    from workflows.accounts import ASSIGNABLE

    spaces = tuple(s["code"] for s in a.service.query(queries.spaces))
    # The firm login belongs to a resident firm (one with notices to answer and figures to
    # report), not to one that has already left.
    resident = a.service.query_core(queries_core.list_tenancies, state=ACTIVE, limit=1)
    firm = resident[0]["uscc"] if resident else a.service.query(queries.firms)[0]["uscc"]
    scored = [
        row
        for state in ASSIGNABLE
        for row in a.service.query_core(queries_core.list_tenancies, state=state, limit=3)
    ][:3] or [{"id": _new_application(a, "MC3" if "MC3" in spaces else spaces[0])}]
    out: dict[str, tuple[str, str]] = {}
    for role in ROLES:
        username, password = f"demo-{role}", secrets.token_urlsafe(12)
        a.service.handle(
            i.AddUser(
                username=username,
                display_name=f"演示{_ROLE_ZH[role]}",
                role=role,
                password=password,
                space_codes=spaces if role in ("operator", "viewer") else (),
                firm_uscc=firm if role == "firm" else None,
                actor="serve --demo",
            )
        )
        out[role] = (username, password)
    for row in scored:
        a.service.handle(
            i.AssignReviewer(tenancy_id=row["id"], username="demo-reviewer", actor="serve --demo")
        )
    return out


def _new_application(a: App, space: str) -> int:
    """A new firm's application in ``space``, filed today (it awaits screening)."""
    import random
    from zoneinfo import ZoneInfo

    from entrypoints.demo_data import good_profile, make_uscc
    from workflows import commands as c

    uscc = make_uscc(random.Random(2025))
    a.service.handle(
        c.RegisterFirm(
            name="演示申请科技有限公司", uscc=uscc, industry="pharma", actor="serve --demo"
        )
    )
    profile = good_profile(a.service.clock.now().astimezone(ZoneInfo("Asia/Shanghai")).date())
    step = a.service.handle(
        c.Apply(
            firm=uscc, space=space, requested_area_m2=120, profile=profile, actor="serve --demo"
        )
    )
    return int(step.tenancy_id)


_ROLE_ZH: dict[str, Any] = {
    "admin": "管理员",
    "operator": "运营",
    "reviewer": "评审专家",
    "firm": "企业",
    "viewer": "只读",
}
