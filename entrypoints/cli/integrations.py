"""Outbound integrations: signed webhooks and WeCom / DingTalk group robots per space.

    innospace webhook add SPACE URL [--events KEY ...]     # the secret is shown once
    innospace webhook list [--space SPACE] [--json]
    innospace webhook disable ID
    innospace webhook rotate ID                            # a new secret, shown once
    innospace robot add SPACE --kind wecom|dingtalk URL [--secret S] [--events KEY ...]
    innospace robot list [--space SPACE] [--json]
    innospace robot disable ID

Deliveries go out through the outbox relay (``innospace outbox relay``, ``tick``, the
scheduler) with its retries and dead letters. No output shows a secret after creation, nor a
URL's query string (a robot's key).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from entrypoints.cli.common import Json, app, emit, get_app
from entrypoints.cli.wording import local_time
from entrypoints.lazy import lazy

if TYPE_CHECKING:
    from workflows import integrations
else:
    integrations = lazy("workflows.integrations")

webhook_app = typer.Typer(
    help="Webhook 推送 / signed webhooks: a space's events to another system",
    no_args_is_help=True,
)
robot_app = typer.Typer(
    help="群机器人 / WeCom (企业微信) and DingTalk (钉钉) group robots for operators' notices",
    no_args_is_help=True,
)
app.add_typer(webhook_app, name="webhook")
app.add_typer(robot_app, name="robot")

SpaceArg = Annotated[str, typer.Argument(help="空间代码 / space code")]
UrlArg = Annotated[
    str,
    typer.Argument(help="接收地址 / URL (http or https; production: https)", show_default=False),
]
IdArg = Annotated[int, typer.Argument(help="端点编号 / endpoint id")]
Events = Annotated[
    list[str] | None,
    typer.Option(
        "--events",
        help="只推送这些消息（可重复或逗号分隔，缺省为全部） / only these message keys "
        "(repeat or comma-separate; default: all; innospace templates list)",
    ),
]
SpaceOpt = Annotated[str | None, typer.Option("--space", help="空间代码 / only this space")]

SHOWN_ONCE = (
    "密钥只显示这一次，请立即妥善保存 / the signing key is shown this once: store it now "
    "(innospace webhook rotate ID makes a new one)"
)
PLAIN_HTTP = (
    "注意：http 明文传输，生产环境请使用 https / warning: plain http sends the body and its "
    "signature in clear text; production should use https"
)


def _line(e: dict[str, Any]) -> str:
    state = (
        f"已停用 disabled {local_time(e['disabled_at'])}" if e["disabled_at"] else "启用 enabled"
    )
    events = "、".join(e["events"]) if e["events"] else "全部 / all"
    signed = " 加签 signed" if e["signed"] and e["kind"] != "webhook" else ""
    return (
        f"#{e['id']:<4} [{e['space']}] {e['kind']:<8} {e['url']}{signed}  {state}  events: {events}"
    )


def _added(e: dict[str, Any], what: str) -> str:
    lines = [f"已添加{what} / added: {_line(e)}"]
    if e.get("signing_key"):
        lines += [f"签名密钥 / signing key: {e['signing_key']}", SHOWN_ONCE]
    if e["plain_http"]:
        lines.append(PLAIN_HTTP)
    return "\n".join(lines)


def _listing(space: str | None, robots: bool, as_json: bool, none: str) -> None:
    rows = get_app().service.query(integrations.endpoints, space=space, robots=robots)
    emit(rows, as_json, "\n".join(_line(e) for e in rows) if rows else none)


def _disable(endpoint: int, kind: str, as_json: bool) -> None:
    done = get_app().service.handle(integrations.DisableEndpoint(endpoint_id=endpoint, kind=kind))
    emit(done, as_json, f"已停用 / disabled: {_line(done)}")


# ---- webhooks -------------------------------------------------------------------------------
@webhook_app.command("add")
def webhook_add(space: SpaceArg, url: UrlArg, events: Events = None, as_json: Json = False) -> None:
    """添加 Webhook / register a webhook: every event of the space's tenancies, HMAC-signed."""
    added = get_app().service.handle(
        integrations.AddEndpoint(space=space, kind="webhook", url=url, events=tuple(events or ()))
    )
    emit(added, as_json, _added(added, " Webhook"))


@webhook_app.command("list")
def webhook_list(space: SpaceOpt = None, as_json: Json = False) -> None:
    """列出 Webhook / list webhooks (URLs without their query, never the secret)."""
    _listing(space, False, as_json, "(没有 Webhook / no webhooks)")


@webhook_app.command("disable")
def webhook_disable(endpoint: IdArg, as_json: Json = False) -> None:
    """停用 Webhook / disable a webhook: nothing more is queued or sent to it."""
    _disable(endpoint, "webhook", as_json)


@webhook_app.command("rotate")
def webhook_rotate(endpoint: IdArg, as_json: Json = False) -> None:
    """更换签名密钥 / a new signing secret (the old one stops at once; shown this once)."""
    done = get_app().service.handle(integrations.RotateSecret(endpoint_id=endpoint))
    emit(
        done,
        as_json,
        f"已更换密钥 / rotated: {_line(done)}\n签名密钥 / signing key: {done['signing_key']}\n"
        + SHOWN_ONCE,
    )


# ---- robots ---------------------------------------------------------------------------------
@robot_app.command("add")
def robot_add(
    space: SpaceArg,
    url: UrlArg,
    kind: Annotated[
        str, typer.Option("--kind", help="机器人类型 / wecom (企业微信) | dingtalk (钉钉)")
    ],
    secret: Annotated[
        str | None,
        typer.Option(
            "--secret",
            envvar="INNOSPACE_ROBOT_SECRET",
            show_envvar=True,
            help="钉钉加签密钥（SEC 开头） / DingTalk signing secret (加签); never shown again",
        ),
    ] = None,
    events: Events = None,
    as_json: Json = False,
) -> None:
    """添加群机器人 / register a group robot for the space's operators' notices."""
    if kind not in ("wecom", "dingtalk"):
        from lifecycle.errors import InvalidInput

        raise InvalidInput("kind", "must be wecom or dingtalk", kind)
    added = get_app().service.handle(
        integrations.AddEndpoint(
            space=space, kind=kind, url=url, secret=secret, events=tuple(events or ())
        )
    )
    emit(added, as_json, _added(added, "群机器人"))


@robot_app.command("list")
def robot_list(space: SpaceOpt = None, as_json: Json = False) -> None:
    """列出群机器人 / list robots (URLs without their key, never the secret)."""
    _listing(space, True, as_json, "(没有群机器人 / no robots)")


@robot_app.command("disable")
def robot_disable(endpoint: IdArg, as_json: Json = False) -> None:
    """停用群机器人 / disable a robot: nothing more is queued or sent to it."""
    _disable(endpoint, "robot", as_json)
