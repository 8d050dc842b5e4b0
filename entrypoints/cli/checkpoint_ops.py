"""Audit checkpoints: ``audit keygen``, ``audit checkpoint`` and what ``audit verify
--checkpoint`` runs (see docs/operations-checkpoints.md)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from entrypoints.cli.common import Json, emit, get_app
from entrypoints.cli.reads import audit_app
from entrypoints.lazy import lazy
from lifecycle.errors import InvalidInput

if TYPE_CHECKING:
    from workflows import checkpoints
    from workflows.audit import VerifyReport
else:
    checkpoints = lazy("workflows.checkpoints")


def _settings_key() -> str | None:
    from entrypoints.bootstrap import load_settings

    return load_settings().audit_key


@audit_app.command("keygen")
def audit_keygen(
    out: Annotated[
        str | None,
        typer.Option(
            "--out",
            help="私钥文件 / private key file to create (0600; default INNOSPACE_AUDIT_KEY or "
            "innospace-audit.key, workflows.checkpoints.DEFAULT_KEY); the public key goes "
            "next to it as FILE.pub",
        ),
    ] = None,
    as_json: Json = False,
) -> None:
    """生成检查点签名密钥 / make the Ed25519 key that signs audit checkpoints.

    An existing file is never overwritten (exit 6). Keep the private key outside the database
    host's backups of the database; give auditors the .pub file.
    """
    made = checkpoints.keygen(out or _settings_key() or checkpoints.DEFAULT_KEY)
    emit(
        made,
        as_json,
        f"私钥 / private key: {made['key']} (0600)\n"
        f"公钥 / public key: {made['public_key']}\nkey id: {made['key_id']}",
    )


@audit_app.command("checkpoint")
def audit_checkpoint(
    key: Annotated[
        str | None,
        typer.Option("--key", help="私钥文件 / private key file (default INNOSPACE_AUDIT_KEY)"),
    ] = None,
    out: Annotated[
        str | None,
        typer.Option(
            "--out",
            help="检查点文件 / file to write (new; default checkpoint-<UTC time>Z.json here)",
        ),
    ] = None,
    as_json: Json = False,
) -> None:
    """签署审计检查点 / sign the heads of all audit chains and write them to a file.

    Every chain is verified first; a database whose chains do not verify is not signed
    (exit 8).
    """
    a = get_app()
    key_path = key or a.settings.audit_key
    if not key_path:
        raise InvalidInput("key", "give --key or set INNOSPACE_AUDIT_KEY")
    signed = checkpoints.take(a.service, checkpoints.load_private_key(key_path))
    path = checkpoints.write(out or checkpoints.default_name(signed), signed)
    summary = {"file": str(path), **signed.summary()}
    emit(
        summary,
        as_json,
        f"检查点 / checkpoint {path}: {summary['tenancies']} tenancies, "
        f"{summary['events']} events\n  root {summary['root']}\n  key {summary['key_id']}",
    )


def verify_against(checkpoint: str, public_key: str | None, tenancy: int | None) -> VerifyReport:
    """``audit verify --checkpoint FILE``: the public key from ``--public-key``, else the
    public half of INNOSPACE_AUDIT_KEY (never a key named in the checkpoint itself)."""
    if tenancy is not None:
        raise InvalidInput("tenancy", "a checkpoint is verified over every tenancy, not one")
    a = get_app()
    if public_key:
        key = checkpoints.load_public_key(public_key)
    elif a.settings.audit_key:
        key = checkpoints.load_private_key(a.settings.audit_key).public_key()
    else:
        raise InvalidInput("public-key", "give --public-key or set INNOSPACE_AUDIT_KEY")
    if not Path(checkpoint).is_file():
        raise InvalidInput("checkpoint", "no such file", checkpoint)
    return checkpoints.verify(a.service, checkpoints.read(checkpoint), key)
