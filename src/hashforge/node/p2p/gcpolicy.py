"""Keeps Python's cycle collector off the block index during initial sync.

Every header and block adds long-lived objects (the block index, the UTXO cache) that the cycle
collector's full passes walk again and again: at 100,000 headers one pass took ~0.5 s, a stall that
grows with the height and landed in random 1,000-block windows of the sync, halving their rate.
Moving what is alive to the permanent generation (`gc.freeze`) every few thousand blocks keeps the
passes small. Only while far behind the best header: a frozen object that later becomes part of an
unreachable cycle is never collected, so this stops once the node has caught up.
"""

from __future__ import annotations

import gc

FREEZE_EVERY = 2_000  # blocks connected between freezes


class SyncHeapFreezer:
    def __init__(self) -> None:
        self.next_at = FREEZE_EVERY
        self.freezes = 0

    def after_blocks(self, tip_height: int, best_header_height: int) -> bool:
        """Call after connecting blocks; True if it froze the heap now."""
        if tip_height < self.next_at or best_header_height - tip_height < FREEZE_EVERY:
            return False
        gc.collect(1)  # the young generations' garbage first (cheap: they are small)
        gc.freeze()
        self.next_at = tip_height + FREEZE_EVERY
        self.freezes += 1
        return True
