"""How far the node has verified, estimated as Bitcoin Core does it (v31, validation.cpp's
ChainstateManager::GuessVerificationProgress): the chain's transaction count up to a block against
the count the whole chain holds by now, extrapolated from the network's ChainTxData.

Transactions, not blocks: early blocks hold almost none, so a height ratio says 90% at a tenth of
the work. The figure feeds `getblockchaininfo.verificationprogress` and the sync log line's
progress and time left.
"""

from __future__ import annotations

from hashforge.consensus.params import ChainTxData

# Core's GuessVerificationProgress trusts a block's own timestamp only when it is more than this far
# from now; nearer the present it counts spacing per block behind the best header instead, so the
# figure reaches exactly 1.0 at the best header whatever time the miner wrote.
RECENT_BLOCK_S = 2 * 60 * 60


def guess_verification_progress(
    data: ChainTxData, chain_tx: int, block_time: int, height: int, best_height: int, spacing: int, now: int
) -> float:
    """Verification progress at a block (0.0 to 1.0): `chain_tx` transactions from genesis up to
    it (0: not known, its data or an ancestor's missing), its header `block_time` and `height`;
    `best_height` the best header's; `spacing` the network's target block spacing; `now` UNIX time."""
    if chain_tx <= 0:
        return 0.0
    if abs(now - block_time) <= RECENT_BLOCK_S and best_height >= height:
        block_time = now - (best_height - height) * spacing
    if chain_tx <= data.tx_count:
        total = data.tx_count + (now - data.time) * data.tx_rate
    else:
        total = chain_tx + (now - block_time) * data.tx_rate
    if total <= 0:  # a clock far behind the network's data; C++ would divide to inf or below 0
        return 1.0
    return min(chain_tx / total, 1.0)


def estimated_tx_left(data: ChainTxData, chain_tx: int, block_time: int, now: int) -> float:
    """Transactions still to verify after a block by the same extrapolation (for a time-left
    estimate): what the chain holds by `now` less `chain_tx`; 0 on a network without data."""
    if chain_tx <= data.tx_count:
        total = data.tx_count + (now - data.time) * data.tx_rate
    else:
        total = chain_tx + (now - block_time) * data.tx_rate
    return max(0.0, total - chain_tx)
