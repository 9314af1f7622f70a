"""Work sources: Stratum v1 pools, solo mining on a node (getblocktemplate), the benchmark."""

from .base import PoolStatus, WorkSource
from .benchmark import BenchmarkSource
from .solo import SoloSource, Template, assemble_block, coinbase_parts
from .stratum import StratumSource

__all__ = [
    "BenchmarkSource",
    "PoolStatus",
    "SoloSource",
    "StratumSource",
    "Template",
    "WorkSource",
    "assemble_block",
    "coinbase_parts",
]
