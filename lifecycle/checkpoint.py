"""Signed checkpoints of the audit chains, in the manner of Certificate Transparency's signed
tree heads (pure functions: no files, no clock, no database).

A checkpoint lists every tenancy's chain head at one instant: its id, how many events its
chain held (``seq``) and the hash of its last event. A Merkle root over that list (RFC 6962
hashing: a leaf is ``sha256(0x00 || data)``, a node ``sha256(0x01 || left || right)``) is
signed with an Ed25519 key kept outside the database, together with the counts and the time.

What a checkpoint proves later, when every chain is recomputed from the database: the event
at each listed ``seq`` must still carry the listed hash. Each hash covers the one before it,
so every event covered then is still there, unchanged and in the same order; a chain rebuilt
from an edited event, a rewound head or a removed tenancy cannot give the signed hashes back
without the private key.

Version 2 also lists the head of every opportunity-list chain (an entry's, a list's, an
introduction's: ``[subject, id, seq, hash]``) under a second root, so a published list's
content cannot be rewritten with its publish event rehashed either. Version 1 files (tenancy
chains only) are still read and checked for what they cover.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from lifecycle.audit import EventRecord, Problem, canonical_json

VERSION = 2
#: The versions read: 1 covers the tenancies' chains, 2 the opportunity lists' chains too.
VERSIONS = (1, 2)
# Signed bytes start with this, so a checkpoint signature is never valid for anything else.
_CONTEXT = b"innospace audit checkpoint v1\n"
# Problems about the checkpoint file itself (not one tenancy) name this tenancy id.
FILE = 0
# An event committed just after the heads were read may be dated a little before the
# checkpoint (its transaction began earlier): only events older than this are "backdated".
GRACE = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class Head:
    """One chain's head as a checkpoint saw it."""

    tenancy_id: int
    seq: int  # events in the chain then (the tenancy's audit_seq)
    head: str  # hex SHA-256 of the event numbered ``seq`` (GENESIS when there is none)

    def leaf(self) -> bytes:
        return canonical_json([self.tenancy_id, self.seq, self.head])


@dataclass(frozen=True, slots=True)
class ChainHead:
    """One opportunity-list chain's head as a checkpoint saw it (version 2)."""

    subject: str  # entry | list | introduction
    subject_id: int
    seq: int
    head: str

    def leaf(self) -> bytes:
        return canonical_json([self.subject, self.subject_id, self.seq, self.head])


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def merkle_root(leaves: Sequence[bytes]) -> str:
    """RFC 6962's Merkle tree hash of ``leaves`` (their data, in order), as hex."""
    hashes = [leaf_hash(data) for data in leaves]
    if not hashes:
        return hashlib.sha256(b"").hexdigest()
    return _subtree(hashes, 0, len(hashes)).hex()


def _subtree(hashes: list[bytes], start: int, end: int) -> bytes:
    n = end - start
    if n == 1:
        return hashes[start]
    split = 1 << ((n - 1).bit_length() - 1)  # the largest power of two below n
    return node_hash(_subtree(hashes, start, start + split), _subtree(hashes, start + split, end))


def heads_root(heads: Sequence[Head]) -> str:
    return merkle_root([h.leaf() for h in heads])


@dataclass(frozen=True, slots=True)
class Checkpoint:
    version: int
    created_at: str  # ISO 8601 UTC instant
    tenancies: int
    events: int
    root: str  # hex Merkle root over ``heads``
    heads: tuple[Head, ...]
    chains: tuple[ChainHead, ...] = ()  # version 2: the opportunity lists' chains
    chains_root: str = ""  # hex Merkle root over ``chains``

    def tree_head(self) -> dict[str, Any]:
        """What is signed: everything but the lists, which the roots stand for."""
        out: dict[str, Any] = {
            "version": self.version,
            "created_at": self.created_at,
            "tenancies": self.tenancies,
            "events": self.events,
            "root": self.root,
        }
        if self.version >= 2:
            out["opportunity_chains"] = len(self.chains)
            out["opportunity_events"] = sum(h.seq for h in self.chains)
            out["opportunity_root"] = self.chains_root
        return out

    def signed_bytes(self) -> bytes:
        return _CONTEXT + canonical_json(self.tree_head())


def make_checkpoint(
    heads: Sequence[Head], created_at: datetime, chains: Sequence[ChainHead] = ()
) -> Checkpoint:
    """A checkpoint over ``heads`` (sorted by tenancy id) and the opportunity lists' ``chains``
    (sorted by subject and id), taken at ``created_at`` (aware)."""
    ordered = tuple(sorted(heads, key=lambda h: h.tenancy_id))
    others = tuple(sorted(chains, key=lambda h: (h.subject, h.subject_id)))
    return Checkpoint(
        version=VERSION,
        created_at=_utc(created_at),
        tenancies=len(ordered),
        events=sum(h.seq for h in ordered),
        root=heads_root(ordered),
        heads=ordered,
        chains=others,
        chains_root=merkle_root([h.leaf() for h in others]),
    )


def _utc(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("a checkpoint's time must be timezone-aware")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def instant(value: str) -> datetime:
    """A checkpoint's ``created_at`` back as an aware datetime."""
    return datetime.fromisoformat(value)


# ---- keys and signatures --------------------------------------------------------------------
def new_private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def private_key_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def public_key_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_private_key(pem: bytes) -> Ed25519PrivateKey:
    """An Ed25519 private key from PEM; ValueError if it is not one."""
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("not an Ed25519 private key")
    return key


def load_public_key(pem: bytes) -> Ed25519PublicKey:
    """An Ed25519 public key from PEM (or the public half of a private key's PEM)."""
    if b"PRIVATE KEY" in pem:
        return load_private_key(pem).public_key()
    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


def key_id(key: Ed25519PublicKey) -> str:
    """A short name for a public key: the SHA-256 of its raw bytes, first 16 hex digits."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class SignedCheckpoint:
    checkpoint: Checkpoint
    key_id: str
    signature: str  # hex Ed25519 signature of ``checkpoint.signed_bytes()``

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.checkpoint.tree_head(),
            "key_id": self.key_id,
            "signature": self.signature,
            "heads": [[h.tenancy_id, h.seq, h.head] for h in self.checkpoint.heads],
            **(
                {
                    "opportunity_heads": [
                        [h.subject, h.subject_id, h.seq, h.head] for h in self.checkpoint.chains
                    ]
                }
                if self.checkpoint.version >= 2
                else {}
            ),
        }

    def summary(self) -> dict[str, Any]:
        """The signed tree head without the list (what the operators' digest carries)."""
        return {**self.checkpoint.tree_head(), "key_id": self.key_id, "signature": self.signature}


def sign(checkpoint: Checkpoint, key: Ed25519PrivateKey) -> SignedCheckpoint:
    signature = key.sign(checkpoint.signed_bytes())
    return SignedCheckpoint(checkpoint, key_id(key.public_key()), signature.hex())


def from_dict(data: Mapping[str, Any]) -> SignedCheckpoint:
    """Read a signed checkpoint back (ValueError naming what is wrong). Nothing is trusted
    yet: :func:`check_file` says whether its signature and root hold."""
    try:
        heads = tuple(_head(item) for item in data["heads"])
        version = _int(data["version"])
        chains: tuple[ChainHead, ...] = ()
        if version >= 2:
            chains = tuple(_chain_head(item) for item in data["opportunity_heads"])
            if (data["opportunity_chains"], data["opportunity_events"]) != (
                len(chains),
                sum(h.seq for h in chains),
            ):
                raise ValueError("the opportunity counts are not those of the list")
        checkpoint = Checkpoint(
            version=version,
            created_at=str(data["created_at"]),
            tenancies=_int(data["tenancies"]),
            events=_int(data["events"]),
            root=str(data["root"]),
            heads=heads,
            chains=chains,
            chains_root=str(data["opportunity_root"]) if version >= 2 else "",
        )
        instant(checkpoint.created_at)
        return SignedCheckpoint(checkpoint, str(data["key_id"]), str(data["signature"]))
    except KeyError as err:
        raise ValueError(f"missing field {err.args[0]!r}") from None
    except TypeError as err:
        raise ValueError(str(err)) from None


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected an integer, found {value!r}")
    return value


def _head(item: Any) -> Head:
    if not isinstance(item, list | tuple) or len(item) != 3:
        raise ValueError(f"a head must be [tenancy_id, seq, hash], found {item!r}")
    tenancy_id, seq, head = item
    if not isinstance(head, str):
        raise ValueError(f"a head's hash must be text, found {head!r}")
    return Head(_int(tenancy_id), _int(seq), head)


def _chain_head(item: Any) -> ChainHead:
    if not isinstance(item, list | tuple) or len(item) != 4:
        raise ValueError(f"an opportunity head must be [subject, id, seq, hash], found {item!r}")
    subject, subject_id, seq, head = item
    if not isinstance(subject, str) or not isinstance(head, str):
        raise ValueError(f"an opportunity head's subject and hash must be text, found {item!r}")
    return ChainHead(subject, _int(subject_id), _int(seq), head)


def check_file(signed: SignedCheckpoint, key: Ed25519PublicKey) -> list[Problem]:
    """The checkpoint's own integrity: a valid signature by ``key``, a root that is the Merkle
    root of its list, counts that are the list's."""
    problems: list[Problem] = []
    cp = signed.checkpoint
    if cp.version not in VERSIONS:
        problems.append(
            Problem(
                FILE,
                None,
                "checkpoint_version",
                f"version {cp.version} is not one of {', '.join(map(str, VERSIONS))}",
            )
        )
    try:
        key.verify(bytes.fromhex(signed.signature), cp.signed_bytes())
    except (InvalidSignature, ValueError):
        problems.append(
            Problem(
                FILE,
                None,
                "checkpoint_signature",
                f"the signature is not valid for key {key_id(key)} "
                f"(the checkpoint names key {signed.key_id})",
            )
        )
    if heads_root(cp.heads) != cp.root:
        problems.append(
            Problem(FILE, None, "checkpoint_root", "the list of heads does not give the root")
        )
    if cp.version >= 2 and merkle_root([h.leaf() for h in cp.chains]) != cp.chains_root:
        problems.append(
            Problem(
                FILE,
                None,
                "checkpoint_root",
                "the list of opportunity-chain heads does not give the opportunity root",
            )
        )
    ids = [h.tenancy_id for h in cp.heads]
    if cp.tenancies != len(cp.heads) or cp.events != sum(h.seq for h in cp.heads):
        problems.append(
            Problem(FILE, None, "checkpoint_counts", "the counts are not those of the list")
        )
    if len(set(ids)) != len(ids):
        problems.append(
            Problem(FILE, None, "checkpoint_counts", "a tenancy is listed more than once")
        )
    return problems


def check_covered(
    head: Head, chain: Sequence[EventRecord] | None, *, audit_seq: int | None
) -> list[Problem]:
    """Whether a chain read now (in storage order) still holds what ``head`` covered.

    ``chain`` None means the tenancy is gone. The chain's own links and hashes are checked by
    :func:`lifecycle.audit.verify_chain`; here: the event numbered ``head.seq`` is still at
    that place with that hash (which covers every event before it), and the tenancy's counter
    was not wound back below it.
    """
    tid = head.tenancy_id
    if chain is None:
        return [
            Problem(
                tid,
                None,
                "checkpoint_removed",
                f"the tenancy is gone; the checkpoint covered {head.seq} event(s) of it",
            )
        ]
    problems: list[Problem] = []
    if audit_seq is not None and audit_seq < head.seq:
        problems.append(
            Problem(
                tid,
                None,
                "checkpoint_rewound",
                f"the tenancy counts {audit_seq} event(s), the checkpoint covered {head.seq}",
            )
        )
    if head.seq == 0:
        return problems
    if len(chain) < head.seq:
        problems.append(
            Problem(
                tid,
                head.seq,
                "checkpoint_missing",
                f"{len(chain)} event(s) left, the checkpoint covered {head.seq}",
            )
        )
        return problems
    event = chain[head.seq - 1]
    if event.seq != head.seq or event.hash != head.head:
        problems.append(
            Problem(
                tid,
                head.seq,
                "checkpoint_mismatch",
                "the event the checkpoint covered last is not the one it signed "
                "(an event up to it was edited, removed, reordered or rehashed)",
            )
        )
    return problems


def check_chain_covered(head: ChainHead, chain: Sequence[Mapping[str, Any]] | None) -> list[str]:
    """Whether an opportunity-list chain read now (events in ``seq`` order, as dicts) still
    holds what ``head`` covered: the event numbered ``head.seq`` is still there with the
    signed hash (which covers every event before it, a list's publish event and the content
    hash it recorded included)."""
    name = f"{head.subject} {head.subject_id}"
    if head.seq == 0:
        return []
    if chain is None or len(chain) < head.seq:
        left = 0 if chain is None else len(chain)
        return [
            f"{name}：检查点覆盖的 {head.seq} 个事件只剩 {left} 个 / {left} event(s) left, "
            f"the checkpoint covered {head.seq}"
        ]
    event = chain[head.seq - 1]
    if event["seq"] != head.seq or event["hash"] != head.head:
        return [
            f"{name}：检查点签名的事件已被修改、删除或重新计算哈希 / the event the checkpoint "
            "covered last is not the one it signed (an event up to it was edited, removed, "
            "reordered or rehashed)"
        ]
    return []


def check_uncovered(
    head: Head, chain: Sequence[EventRecord], created_at: datetime
) -> list[Problem]:
    """Events after the covered ones must be dated after the checkpoint (less ``GRACE``): one
    dated well before it was not there when it was taken (an event slipped into the past)."""
    limit = _naive_utc(created_at - GRACE)
    return [
        Problem(
            head.tenancy_id,
            event.seq,
            "checkpoint_backdated",
            f"dated {event.occurred_at.isoformat()}, before the checkpoint of {created_at}, "
            "but not covered by it",
        )
        for event in chain[head.seq :]
        if _naive_utc(event.occurred_at) < limit
    ]


def check_new_tenancy(
    tenancy_id: int, chain: Sequence[EventRecord], created_at: datetime
) -> list[Problem]:
    """A tenancy the checkpoint did not list: none of its events may predate it."""
    return check_uncovered(Head(tenancy_id, 0, ""), chain, created_at)


def _naive_utc(value: datetime) -> datetime:
    # Stored instants come back naive (SQLite) or aware (PostgreSQL); both are UTC.
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
