"""Fee estimation from what blocks actually confirmed, after Core's CBlockPolicyEstimator.

The mempool tells the estimator when a transaction enters (at which tip height, at which fee
rate), when a block confirms it, and when it leaves unconfirmed. Confirmations are recorded in
exponentially spaced fee-rate buckets (x1.05 from 100 sat/kvB) over three decaying horizons
(12 blocks, 48 blocks, 1008 blocks), as Core does. An estimate for `n` blocks is the median fee
rate of the cheapest bucket range where enough transactions confirmed within `n` blocks; with
too little data there is no answer (None), which the RPC reports as Core's "Insufficient data or
no feerate found". Estimates are kept in memory only (Core also saves them to disk).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

MIN_BUCKET_FEERATE = 100.0
MAX_BUCKET_FEERATE = 1e7
FEE_SPACING = 1.05
INF_FEERATE = 1e99
HALF_SUCCESS_PCT = 0.6
SUCCESS_PCT = 0.85
DOUBLE_SUCCESS_PCT = 0.95
SUFFICIENT_FEETXS = 0.1
SUFFICIENT_TXS_SHORT = 0.5
SHORT_BLOCK_PERIODS, SHORT_SCALE, SHORT_DECAY = 12, 1, 0.962
MED_BLOCK_PERIODS, MED_SCALE, MED_DECAY = 24, 2, 0.9952
LONG_BLOCK_PERIODS, LONG_SCALE, LONG_DECAY = 42, 24, 0.99931


def _bucket_bounds() -> list[float]:
    bounds = []
    b = MIN_BUCKET_FEERATE
    while b <= MAX_BUCKET_FEERATE:
        bounds.append(b)
        b *= FEE_SPACING
    bounds.append(INF_FEERATE)
    return bounds


BUCKETS = _bucket_bounds()


def bucket_index(feerate: float) -> int:
    """The first bucket whose upper bound is >= feerate (sat/kvB)."""
    return min(bisect.bisect_left(BUCKETS, feerate), len(BUCKETS) - 1)


class TxConfirmStats:
    """Decaying counts, per bucket, of how many periods transactions took to confirm (or fail)."""

    def __init__(self, periods: int, scale: int, decay: float) -> None:
        n = len(BUCKETS)
        self.periods, self.scale, self.decay = periods, scale, decay
        self.conf_avg = [[0.0] * n for _ in range(periods)]
        self.fail_avg = [[0.0] * n for _ in range(periods)]
        self.tx_ct_avg = [0.0] * n
        self.feerate_avg = [0.0] * n
        # Nothing recorded yet: decaying zeros is a no-op, and skipping it keeps initial sync from
        # spending half its time here (tens of thousands of multiplications per block).
        self._all_zero = True

    @property
    def max_confirms(self) -> int:
        return self.periods * self.scale

    def record(self, blocks_to_confirm: int, feerate: float) -> None:
        if blocks_to_confirm < 1:
            return
        periods_to_confirm = (blocks_to_confirm + self.scale - 1) // self.scale
        b = bucket_index(feerate)
        self._all_zero = False
        for i in range(periods_to_confirm - 1, self.periods):
            self.conf_avg[i][b] += 1
        self.tx_ct_avg[b] += 1
        self.feerate_avg[b] += feerate

    def record_failure(self, blocks_ago: int, feerate: float) -> None:
        """A transaction left the mempool unconfirmed after waiting `blocks_ago` blocks."""
        if blocks_ago < self.scale:
            return
        b = bucket_index(feerate)
        self._all_zero = False
        for i in range(min(blocks_ago // self.scale, self.periods)):
            self.fail_avg[i][b] += 1

    def update_moving_averages(self) -> None:
        if self._all_zero:
            return
        d = self.decay
        for rows in (self.conf_avg, self.fail_avg):
            for row in rows:
                row[:] = [x * d for x in row]
        self.tx_ct_avg[:] = [x * d for x in self.tx_ct_avg]
        self.feerate_avg[:] = [x * d for x in self.feerate_avg]

    def estimate_median(
        self, conf_target: int, sufficient: float, success_break_point: float, unconfirmed: list[int]
    ) -> float:
        """Core's EstimateMedianVal; -1 when no bucket range passes. `unconfirmed[b]` counts
        transactions in bucket b that have waited at least `conf_target` blocks in the mempool."""
        period = (conf_target + self.scale - 1) // self.scale - 1
        top = len(BUCKETS) - 1
        n_conf = total = fail = extra = partial = 0.0
        cur_near = best_near = cur_far = best_far = top
        found, new_range = False, True
        for b in range(top, -1, -1):
            if new_range:
                cur_near, new_range = b, False
            cur_far = b
            n_conf += self.conf_avg[period][b]
            partial += self.tx_ct_avg[b]
            total += self.tx_ct_avg[b]
            fail += self.fail_avg[period][b]
            extra += unconfirmed[b]
            if partial < sufficient / (1 - self.decay):
                continue
            partial = 0
            if n_conf / (total + fail + extra) < success_break_point:
                continue
            found = True
            n_conf = total = fail = extra = 0
            best_near, best_far, new_range = cur_near, cur_far, True
        lo, hi = min(best_near, best_far), max(best_near, best_far)
        tx_sum = sum(self.tx_ct_avg[lo : hi + 1])
        if not found or tx_sum == 0:
            return -1
        tx_sum /= 2
        for j in range(lo, hi + 1):
            if self.tx_ct_avg[j] < tx_sum:
                tx_sum -= self.tx_ct_avg[j]
            else:
                return self.feerate_avg[j] / self.tx_ct_avg[j]
        return -1


@dataclass(frozen=True)
class FeeEstimate:
    """estimatesmartfee's answer: a fee rate in sat/kvB (None: not enough data) and the target used."""

    sat_per_kvb: int | None
    blocks: int
    errors: tuple[str, ...] = ()


class FeeEstimator:
    def __init__(self, best_height: int) -> None:
        self.short = TxConfirmStats(SHORT_BLOCK_PERIODS, SHORT_SCALE, SHORT_DECAY)
        self.med = TxConfirmStats(MED_BLOCK_PERIODS, MED_SCALE, MED_DECAY)
        self.long = TxConfirmStats(LONG_BLOCK_PERIODS, LONG_SCALE, LONG_DECAY)
        self.best_height = best_height
        self.first_recorded_height = 0
        self.tracked: dict[bytes, tuple[int, float]] = {}  # txid -> (entry height, sat/kvB)

    @property
    def _all(self) -> tuple[TxConfirmStats, ...]:
        return (self.short, self.med, self.long)

    def track(self, txid: bytes, height: int, feerate: float) -> None:
        """A transaction entered the mempool while the tip was at `height`."""
        if height == self.best_height and txid not in self.tracked:
            self.tracked[txid] = (height, feerate)

    def remove(self, txid: bytes) -> None:
        """A tracked transaction left the mempool without confirming."""
        item = self.tracked.pop(txid, None)
        if item is None:
            return
        for stats in self._all:
            stats.record_failure(self.best_height - item[0], item[1])

    def process_block(self, height: int, confirmed: list[bytes]) -> None:
        """A block at `height` confirmed `confirmed` (txids that were in the mempool)."""
        if height <= self.best_height:
            for txid in confirmed:
                self.tracked.pop(txid, None)
            return  # a reorg's replacement block: the data would be skewed
        self.best_height = height
        for stats in self._all:
            stats.update_moving_averages()
        counted = 0
        for txid in confirmed:
            item = self.tracked.pop(txid, None)
            if item is None or height - item[0] <= 0:
                continue
            counted += 1
            for stats in self._all:
                stats.record(height - item[0], item[1])
        if self.first_recorded_height == 0 and counted:
            self.first_recorded_height = height

    # --- estimates ---------------------------------------------------------------------------

    def _unconfirmed(self, conf_target: int) -> list[int]:
        counts = [0] * len(BUCKETS)
        for entry_height, feerate in self.tracked.values():
            if self.best_height - entry_height >= conf_target:
                counts[bucket_index(feerate)] += 1
        return counts

    def _median(self, stats: TxConfirmStats, target: int, sufficient: float, success: float) -> float:
        return stats.estimate_median(target, sufficient, success, self._unconfirmed(target))

    def _combined(self, target: int, success: float, check_shorter: bool) -> float:
        if not 1 <= target <= self.long.max_confirms:
            return -1
        if target <= self.short.max_confirms:
            est = self._median(self.short, target, SUFFICIENT_TXS_SHORT, success)
        elif target <= self.med.max_confirms:
            est = self._median(self.med, target, SUFFICIENT_FEETXS, success)
        else:
            est = self._median(self.long, target, SUFFICIENT_FEETXS, success)
        if check_shorter:
            if target > self.med.max_confirms:
                m = self._median(self.med, self.med.max_confirms, SUFFICIENT_FEETXS, success)
                if m > 0 and (est == -1 or m < est):
                    est = m
            if target > self.short.max_confirms:
                s = self._median(self.short, self.short.max_confirms, SUFFICIENT_TXS_SHORT, success)
                if s > 0 and (est == -1 or s < est):
                    est = s
        return est

    def _conservative(self, double_target: int) -> float:
        est = -1.0
        if double_target <= self.short.max_confirms:
            est = self._median(self.med, double_target, SUFFICIENT_FEETXS, DOUBLE_SUCCESS_PCT)
        if double_target <= self.med.max_confirms:
            est = max(est, self._median(self.long, double_target, SUFFICIENT_FEETXS, DOUBLE_SUCCESS_PCT))
        return est

    @property
    def max_usable_target(self) -> int:
        span = self.best_height - self.first_recorded_height if self.first_recorded_height else 0
        return min(self.long.max_confirms, span // 2)

    def estimate_smart_fee(self, conf_target: int, conservative: bool = False) -> FeeEstimate:
        """Core's estimateSmartFee; raises ValueError for a target outside 1..1008."""
        if not 1 <= conf_target <= self.long.max_confirms:
            raise ValueError(f"Invalid conf_target, must be between 1 and {self.long.max_confirms}")
        target = max(conf_target, 2)
        target = min(target, self.max_usable_target)
        if target <= 1:
            return FeeEstimate(None, max(target, 0), ("Insufficient data or no feerate found",))
        median = self._combined(target // 2, HALF_SUCCESS_PCT, True)
        median = max(median, self._combined(target, SUCCESS_PCT, True))
        median = max(median, self._combined(2 * target, DOUBLE_SUCCESS_PCT, not conservative))
        if conservative or median == -1:
            median = max(median, self._conservative(2 * target))
        if median < 0:
            return FeeEstimate(None, target, ("Insufficient data or no feerate found",))
        return FeeEstimate(round(median), target)
