"""The initial-sync heap freezer: freezes every FREEZE_EVERY blocks while far behind, never near the tip."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from hashforge.node.p2p.gcpolicy import FREEZE_EVERY, SyncHeapFreezer


@pytest.fixture(autouse=True)
def unfrozen() -> Iterator[None]:
    yield
    gc.unfreeze()  # leave the test process's collector as it was


def test_freezes_only_while_far_behind() -> None:
    f = SyncHeapFreezer()
    before = gc.get_freeze_count()
    assert not f.after_blocks(FREEZE_EVERY - 1, 100_000)  # not yet FREEZE_EVERY blocks
    assert not f.after_blocks(FREEZE_EVERY, FREEZE_EVERY + 10)  # near the best header: never
    keep = [[i] for i in range(1000)]  # live objects to freeze
    assert f.after_blocks(FREEZE_EVERY, 100_000)
    assert gc.get_freeze_count() >= before + len(keep)
    assert not f.after_blocks(FREEZE_EVERY + 1, 100_000)  # the next one FREEZE_EVERY blocks later
    assert f.after_blocks(2 * FREEZE_EVERY, 100_000)
    assert f.freezes == 2
