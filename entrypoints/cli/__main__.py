"""``python -m entrypoints.cli``: the ``innospace`` command line without its script (the
bench's fallback; ``python -X importtime -m entrypoints.cli list`` shows what a command loads)."""

from __future__ import annotations

from entrypoints.cli import main

if __name__ == "__main__":
    main()
