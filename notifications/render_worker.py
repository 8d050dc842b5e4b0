"""A render worker: a child process that renders notices with operator overrides, and that the
parent can stop. This is how a render gets a time budget that no template can escape (see
``notifications.limits``).

Protocol over the child's stdin/stdout: frames of a 4-byte big-endian length and a body. The
parent sends pickled requests ``(templates_dir, limits, message, locale, context, audience,
overrides, html)``; the child answers with JSON: ``{"ok": [subject, text, html]}`` or
``{"error": [label, message]}``. The child writes ``{"ready": true}`` once imported, exits on
end of input, and runs under ``RLIMIT_AS``. The parent (:class:`RenderWorker`) kills it
(SIGKILL) when an answer does not come within the budget and starts a new one for the next
render.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import select
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

from lifecycle.errors import InvalidTemplate
from notifications.limits import RenderLimits

_HEADER = struct.Struct(">I")
_ROOT = str(Path(__file__).resolve().parent.parent)
START_TIMEOUT_S = 60.0  # importing Jinja2 and the catalog; not part of any render's budget


class WorkerFailed(Exception):
    """The worker did not answer in time, or died; it has been stopped."""


class RenderWorker:
    """The parent's handle on one worker process, started on first use; thread-safe."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self.started = 0  # how many processes were started (tests, diagnostics)

    def render(self, request: tuple[Any, ...], seconds: float) -> dict[str, Any]:
        with self._lock:
            proc = self._ensure()
            assert proc.stdin is not None and proc.stdout is not None
            body = pickle.dumps(request, protocol=pickle.HIGHEST_PROTOCOL)
            try:
                proc.stdin.write(_HEADER.pack(len(body)) + body)
                proc.stdin.flush()
                answer = _read_frame(proc.stdout, time.monotonic() + seconds)
            except (OSError, WorkerFailed) as err:
                self._stop()
                raise WorkerFailed(str(err) or type(err).__name__) from err
            result: dict[str, Any] = json.loads(answer)
            return result

    def close(self) -> None:
        with self._lock:
            self._stop()

    def _ensure(self) -> subprocess.Popen[bytes]:
        if self._proc is not None and self._proc.poll() is None:
            return self._proc
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_ROOT, env.get("PYTHONPATH")) if p)
        proc = subprocess.Popen(
            [sys.executable, "-m", "notifications.render_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            close_fds=True,
        )
        self._proc = proc
        self.started += 1
        assert proc.stdout is not None
        try:
            _read_frame(proc.stdout, time.monotonic() + START_TIMEOUT_S)
        except (OSError, WorkerFailed) as err:
            self._stop()
            raise WorkerFailed(f"render worker did not start: {err}") from err
        return proc

    def _stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                stream.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # interpreter shutdown: nothing left to do
            self._stop()


def _read_exactly(stream: IO[bytes], n: int, deadline: float) -> bytes:
    fd = stream.fileno()
    out = bytearray()
    while len(out) < n:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise WorkerFailed("no answer within the time budget")
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            raise WorkerFailed("no answer within the time budget")
        chunk = os.read(fd, n - len(out))
        if not chunk:
            raise WorkerFailed("the render worker died")
        out += chunk
    return bytes(out)


def _read_frame(stream: IO[bytes], deadline: float) -> bytes:
    (size,) = _HEADER.unpack(_read_exactly(stream, _HEADER.size, deadline))
    return _read_exactly(stream, size, deadline)


# ---- the child -------------------------------------------------------------------------------
def _serve() -> None:  # pragma: no cover - runs in the child process
    import resource

    from notifications.render import Renderer

    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    renderers: dict[tuple[str | None, RenderLimits], Renderer] = {}
    limited = False

    def send(obj: dict[str, Any]) -> None:
        body = json.dumps(obj).encode("utf-8")
        stdout.write(_HEADER.pack(len(body)) + body)
        stdout.flush()

    send({"ready": True})
    while True:
        header = stdin.read(_HEADER.size)
        if len(header) < _HEADER.size:
            return
        (size,) = _HEADER.unpack(header)
        request = pickle.loads(stdin.read(size))  # noqa: S301 - from the parent process only
        templates_dir, limits, message, locale, context, audience, overrides, html = request
        if not limited:
            with contextlib.suppress(ValueError, OSError):
                resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
            limited = True
        renderer = renderers.get((templates_dir, limits))
        if renderer is None:
            renderer = Renderer(templates_dir, limits=limits, isolate=False)
            renderers[(templates_dir, limits)] = renderer
        try:
            out = renderer.render(
                message, locale, context, audience=audience, overrides=overrides, html=html
            )
            send({"ok": [out.subject, out.text, out.html]})
        except InvalidTemplate as err:
            send({"error": [err.field, err.rule]})
        except MemoryError:
            send({"error": ["", f"ran out of memory (limit {limits.memory_bytes:,} bytes)"]})


if __name__ == "__main__":  # pragma: no cover
    _serve()
