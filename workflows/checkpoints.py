"""Signed audit checkpoints: keys on disk, taking one from the database, verifying the
database against one, and the scheduler's daily checkpoint (the I/O around
:mod:`lifecycle.checkpoint`)."""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlmodel import col, select

from db.engine import redact_passwords
from db.tables import AuditEvent, Tenancy
from lifecycle import checkpoint as cp
from lifecycle.audit import Problem
from lifecycle.errors import AlreadyExists, IntegrityError, InvalidInput
from workflows import audit
from workflows.core import Work
from workflows.cycles import digest_queued, queue_operator_digest
from workflows.service import Service

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEFAULT_KEY = "innospace-audit.key"


# ---- keys -----------------------------------------------------------------------------------
def public_path(key_path: str | Path) -> Path:
    """Where ``keygen`` puts the public half: the key file's name with ``.pub`` added."""
    path = Path(key_path)
    return path.with_name(path.name + ".pub")


def keygen(key_path: str | Path) -> dict[str, str]:
    """Make an Ed25519 key: the private key as PEM in a new file (mode 0600; an existing file
    is never overwritten) and its public half next to it (``.pub``, 0644)."""
    path, pub = Path(key_path), public_path(key_path)
    for target in (path, pub):
        try:
            taken = target.exists()
        except OSError as err:  # a name too long, a component that is not a folder, ...
            raise InvalidInput(
                "out", f"无法使用该路径 / cannot use this path: {err.strerror}", _shown(target)
            ) from None
        if taken:
            raise AlreadyExists("key file", _shown(target))
    key = cp.new_private_key()
    _write_new(path, cp.private_key_pem(key), 0o600, "out")
    _write_new(pub, cp.public_key_pem(key.public_key()), 0o644, "out")
    return {"key": str(path), "public_key": str(pub), "key_id": cp.key_id(key.public_key())}


_CREDENTIALS = re.compile(r"(\w[\w+.-]{0,31}:/+[^:/@\s]{0,256}:)[^@\s]*(@)")


def _shown(path: Path) -> str:
    """A path as a message may show it: anything that looks like a URL's password hidden
    (a path folds a URL's ``//`` into ``/``, so the URL-aware redaction alone misses it)."""
    return _CREDENTIALS.sub(r"\1***\2", redact_passwords(str(path)))


def _write_new(path: Path, content: bytes, mode: int, field: str) -> None:
    """Create ``path`` with ``mode`` (not widened by the umask's absence: set explicitly)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        raise AlreadyExists("file", _shown(path)) from None
    except OSError as err:
        raise InvalidInput(field, f"cannot create file: {err.strerror}", _shown(path)) from None
    try:
        os.fchmod(fd, mode)
        os.write(fd, content)
        os.fsync(fd)
    finally:
        os.close(fd)


def load_private_key(key_path: str | Path, field: str = "key") -> Ed25519PrivateKey:
    """The signing key; refused if the file can be read by group or others."""
    path = Path(key_path)
    try:
        mode = path.stat().st_mode
        pem = path.read_bytes()
    except OSError as err:
        raise InvalidInput(field, f"cannot read key file: {err.strerror}", str(path)) from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise InvalidInput(
            field, f"key file must be readable by its owner only (chmod 600), is {mode & 0o777:o}"
        )
    try:
        return cp.load_private_key(pem)
    except ValueError as err:
        raise InvalidInput(field, f"not an Ed25519 private key in PEM: {err}", str(path)) from None


def load_public_key(path: str | Path, field: str = "public-key") -> Ed25519PublicKey:
    try:
        pem = Path(path).read_bytes()
    except OSError as err:
        raise InvalidInput(field, f"cannot read key file: {err.strerror}", str(path)) from None
    try:
        return cp.load_public_key(pem)
    except ValueError as err:
        raise InvalidInput(field, f"not an Ed25519 key in PEM: {err}", str(path)) from None


# ---- taking a checkpoint --------------------------------------------------------------------
def take(service: Service, key: Ed25519PrivateKey) -> cp.SignedCheckpoint:
    """Sign the heads of every chain as they are now.

    The heads are read in one statement (one consistent view); then every chain is verified
    and must still hold the head just read. A chain that does not verify is never signed:
    the checkpoint is refused (IntegrityError) with the problems.
    """
    created_at = service.clock.now()

    def read(w: Work) -> tuple[list[cp.Head], list[cp.ChainHead]]:
        rows = w.session.exec(
            select(Tenancy.id, Tenancy.audit_seq, Tenancy.audit_head).order_by(col(Tenancy.id))
        ).all()
        heads = {int(i or 0): cp.Head(int(i or 0), int(seq), str(h)) for i, seq, h in rows}

        def covered(tid: int, chain: Sequence[AuditEvent], audit_seq: int) -> list[Problem]:
            head = heads.get(tid)
            return [] if head is None else cp.check_covered(head, chain, audit_seq=audit_seq)

        report = audit.verify(w.session, check=covered)
        if not report.ok:
            problems = [
                *report.problems,
                *(report.opportunities or audit.OpportunityReport()).problems,
            ]
            shown = "; ".join(str(p) for p in problems[:5])
            raise IntegrityError(
                f"未签署检查点：审计发现 {len(problems)} 处问题：{shown} / "
                f"no checkpoint signed: {len(problems)} audit problem(s): {shown}"
            )
        chains = audit.opportunity_chains(w.session.connection())
        return list(heads.values()), [
            cp.ChainHead(subject, subject_id, len(events), str(events[-1]["hash"]))
            for (subject, subject_id), events in chains.items()
        ]

    heads, chains = service.read(read)
    return cp.sign(cp.make_checkpoint(heads, created_at, chains), key)


def write(path: str | Path, signed: cp.SignedCheckpoint) -> Path:
    """Write the signed checkpoint as JSON to a new file (an existing one is never replaced)."""
    target = Path(path)
    body = json.dumps(signed.to_dict(), ensure_ascii=False, separators=(",", ":")) + "\n"
    _write_new(target, body.encode(), 0o644, "out")
    return target


def default_name(signed: cp.SignedCheckpoint) -> str:
    at = cp.instant(signed.checkpoint.created_at)
    return f"checkpoint-{at.strftime('%Y%m%dT%H%M%S')}Z.json"


def read(path: str | Path, field: str = "checkpoint") -> cp.SignedCheckpoint:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except OSError as err:
        raise InvalidInput(field, f"cannot read file: {err.strerror}", str(path)) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InvalidInput(field, f"not valid JSON: {err}", str(path)) from None
    if not isinstance(data, dict):
        raise InvalidInput(field, "must contain a JSON object", str(path))
    try:
        return cp.from_dict(data)
    except ValueError as err:
        raise InvalidInput(field, f"not a checkpoint: {err}", str(path)) from None


# ---- verifying against a checkpoint ---------------------------------------------------------
def verify(
    service: Service, signed: cp.SignedCheckpoint, key: Ed25519PublicKey
) -> audit.VerifyReport:
    """Everything ``audit verify`` checks, and what the checkpoint proves: its signature and
    root hold; every tenancy it lists is still there; the event at each listed ``seq`` still
    has the signed hash (so every event up to it is unchanged and in order) and the tenancy's
    counter was not wound back; no event after the covered ones (nor of a tenancy it did not
    list) is dated well before the checkpoint; and (version 2) every opportunity-list chain it
    lists still holds its signed head."""
    checkpoint = signed.checkpoint
    file_problems = cp.check_file(signed, key)
    heads = {h.tenancy_id: h for h in checkpoint.heads}
    created_at = cp.instant(checkpoint.created_at)
    seen: set[int] = set()

    def check(tid: int, chain: Sequence[AuditEvent], audit_seq: int) -> list[Problem]:
        seen.add(tid)
        head = heads.get(tid)
        if head is None:
            return cp.check_new_tenancy(tid, chain, created_at)
        return [
            *cp.check_covered(head, chain, audit_seq=audit_seq),
            *cp.check_uncovered(head, chain, created_at),
        ]

    def verified(w: Work) -> audit.VerifyReport:
        report = audit.verify(w.session, check=check)
        chains = audit.opportunity_chains(w.session.connection())
        assert report.opportunities is not None  # the whole database was verified
        report.opportunities.problems += [
            problem
            for head in checkpoint.chains
            for problem in cp.check_chain_covered(head, chains.get((head.subject, head.subject_id)))
        ]
        return report

    report: audit.VerifyReport = service.read(verified)
    removed = [
        p
        for h in checkpoint.heads
        if h.tenancy_id not in seen
        for p in cp.check_covered(h, None, audit_seq=None)
    ]
    report.problems = [*file_problems, *report.problems, *removed]
    return report


# ---- the scheduler's daily checkpoint -------------------------------------------------------
def digest_key(day: str) -> str:
    return f"audit_checkpoint:operators:{day}"


def daily(
    service: Service,
    *,
    key_path: str | None,
    directory: str | None,
    locale: str = "zh-CN",
) -> dict[str, Any] | None:
    """Once a day (Asia/Shanghai): sign a checkpoint, write it to ``directory`` as
    ``checkpoint-YYYY-MM-DD.json`` and queue its signed tree head to the operators in the
    digest's form (so a copy lives in their mailboxes too). None when not configured (no key)
    or already done today."""
    if not key_path:
        return None
    folder = Path(directory or ".")
    day = service.clock.now().astimezone(SHANGHAI).date().isoformat()
    path = folder / f"checkpoint-{day}.json"
    if path.exists():
        return None
    signed = take(service, load_private_key(key_path, "INNOSPACE_AUDIT_KEY"))
    try:
        write(path, signed)
    except AlreadyExists:  # another scheduler wrote today's first
        return None
    queue_digest(service, signed, day=day, file=str(path), locale=locale)
    return {"file": str(path), **signed.summary()}


def queue_digest(
    service: Service, signed: cp.SignedCheckpoint, *, day: str, file: str, locale: str
) -> bool:
    """Queue the signed tree head to the operators, in the operators' digest's form (one
    item; the full list of heads stays in the file). False if today's is queued already."""
    head = signed.summary()
    title = (
        f"审计检查点 / audit checkpoint {head['created_at']}: "
        f"{head['tenancies']} tenancies, {head['events']} events, root {head['root']}, "
        f"key {head['key_id']}, signature {head['signature']} (file {file})"
    )

    def queue(w: Work) -> bool:
        key = digest_key(day)
        if digest_queued(w, key):
            return False
        context = {"sent_on": day, "counts": {}, "items": [{"title": title}]}
        queue_operator_digest(w, key, locale, context)
        return True

    try:
        return bool(service.run(queue))
    except AlreadyExists:
        return False
