"""Accounting: payout schemes (pure arithmetic, coin-agnostic) apart from coin logic (maturity,
is a block still in the chain), and the block lifecycle that joins them with the ledger."""

from .coin import ChainView, NodeChainView
from .lifecycle import Accountant
from .schemes import split_proportional

__all__ = ["Accountant", "ChainView", "NodeChainView", "split_proportional"]
