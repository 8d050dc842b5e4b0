"""The collector is paused over a batch's chunk and always given back as it was found."""

from __future__ import annotations

import gc

import pytest

from db.collection import collector_paused


def test_paused_inside_and_enabled_after() -> None:
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_enabled_again_when_the_chunk_fails() -> None:
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("chunk rolled back")
    assert gc.isenabled()


def test_left_off_when_it_was_off_before() -> None:
    # The command line turns the collector off while it starts; a batch inside must not
    # turn it back on early.
    gc.disable()
    try:
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
