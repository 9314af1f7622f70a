"""getdeploymentinfo: Core's report of soft-fork deployments (rpc/blockchain.cpp DeploymentInfo).

The buried deployments (bip34, bip66, bip65, csv, segwit) come from the chain params' heights.
The version-bits ones (testdummy, taproot) carry Core's BIP9 parameters per network and their
state is computed from the block headers with Core's state machine (versionbits.cpp), so a node
that follows mainnet reports taproot's real defined/started/locked_in/active history. Our own
networks (devnet, scryptnet) enforce taproot from genesis, which Core spells ALWAYS_ACTIVE.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hashforge.consensus.params import ChainParams
from hashforge.consensus.script_flags import ScriptFlags
from hashforge.consensus.validation import block_script_flags

from ..chain import BlockIndex

ALWAYS_ACTIVE = -1
NEVER_ACTIVE = -2
NO_TIMEOUT = 2**63 - 1
VERSIONBITS_TOP_MASK = 0xE0000000
VERSIONBITS_TOP_BITS = 0x20000000


@dataclass(frozen=True)
class BIP9Deployment:
    bit: int
    start_time: int
    timeout: int
    min_activation_height: int
    threshold: int
    period: int


_TAPROOT_ALWAYS = BIP9Deployment(2, ALWAYS_ACTIVE, NO_TIMEOUT, 0, 1512, 2016)
_TESTDUMMY_NEVER = BIP9Deployment(28, NEVER_ACTIVE, NO_TIMEOUT, 0, 1815, 2016)

# Core's kernel/chainparams.cpp, in Core's order (testdummy, then taproot).
BIP9_DEPLOYMENTS: dict[str, dict[str, BIP9Deployment]] = {
    "mainnet": {
        "testdummy": _TESTDUMMY_NEVER,
        "taproot": BIP9Deployment(2, 1619222400, 1628640000, 709632, 1815, 2016),
    },
    "testnet3": {
        "testdummy": BIP9Deployment(28, NEVER_ACTIVE, NO_TIMEOUT, 0, 1512, 2016),
        "taproot": BIP9Deployment(2, 1619222400, 1628640000, 0, 1512, 2016),
    },
    "testnet4": {"testdummy": BIP9Deployment(28, NEVER_ACTIVE, NO_TIMEOUT, 0, 1512, 2016), "taproot": _TAPROOT_ALWAYS},
    "signet": {"testdummy": BIP9Deployment(28, NEVER_ACTIVE, NO_TIMEOUT, 0, 1815, 2016), "taproot": _TAPROOT_ALWAYS},
    "regtest": {
        "testdummy": BIP9Deployment(28, 0, NO_TIMEOUT, 0, 108, 144),
        "taproot": BIP9Deployment(2, ALWAYS_ACTIVE, NO_TIMEOUT, 0, 108, 144),
    },
}
# Networks of ours (devnet, scryptnet, ...): taproot from genesis, no test deployment.
DEFAULT_BIP9: dict[str, BIP9Deployment] = {"taproot": _TAPROOT_ALWAYS}

DEFINED, STARTED, LOCKED_IN, ACTIVE, FAILED = "defined", "started", "locked_in", "active", "failed"

Ancestor = Callable[[BlockIndex, int], BlockIndex | None]


def bip9_deployments(params: ChainParams) -> dict[str, BIP9Deployment]:
    return BIP9_DEPLOYMENTS.get(params.name, DEFAULT_BIP9)


def buried_heights(params: ChainParams) -> dict[str, int]:
    """Core's DEPLOYMENT_HEIGHTINCB, DERSIG, CLTV, CSV, SEGWIT, named and ordered as Core does."""
    return {
        "bip34": params.bip34_height,
        "bip66": params.bip66_height,
        "bip65": params.bip65_height,
        "csv": params.csv_height,
        "segwit": params.segwit_height,
    }


class VersionBits:
    """Core's AbstractThresholdConditionChecker for one deployment, with its per-period cache
    (keyed by block hash: a block's state depends only on its ancestors, so reorgs never stale it)."""

    def __init__(self, dep: BIP9Deployment, ancestor: Ancestor) -> None:
        self.dep = dep
        self.ancestor = ancestor
        self.cache: dict[bytes | None, str] = {None: DEFINED}

    def condition(self, entry: BlockIndex) -> bool:
        version = entry.header.version & 0xFFFFFFFF
        return (version & VERSIONBITS_TOP_MASK) == VERSIONBITS_TOP_BITS and bool(version & (1 << self.dep.bit))

    def _period_end(self, prev: BlockIndex | None, back: int = 0) -> BlockIndex | None:
        if prev is None:
            return None
        height = prev.height - ((prev.height + 1) % self.dep.period) - back
        return self.ancestor(prev, height) if height >= 0 else None

    def state_for(self, prev: BlockIndex | None) -> str:
        """GetStateFor: the state of the block after `prev`."""
        dep = self.dep
        if dep.start_time == ALWAYS_ACTIVE:
            return ACTIVE
        if dep.start_time == NEVER_ACTIVE:
            return FAILED
        prev = self._period_end(prev)
        to_compute: list[BlockIndex] = []
        while (prev.hash if prev is not None else None) not in self.cache:
            assert prev is not None  # None (the genesis block's parent) is always cached
            if prev.median_time_past() < dep.start_time:
                self.cache[prev.hash] = DEFINED
                break
            to_compute.append(prev)
            prev = self._period_end(prev, dep.period)
        state = self.cache[prev.hash if prev is not None else None]
        while to_compute:
            prev = to_compute.pop()
            nxt = state
            if state == DEFINED:
                if prev.median_time_past() >= dep.start_time:
                    nxt = STARTED
            elif state == STARTED:
                count = 0
                node: BlockIndex | None = prev
                for _ in range(dep.period):
                    assert node is not None
                    count += self.condition(node)
                    node = node.prev
                if count >= dep.threshold:
                    nxt = LOCKED_IN
                elif prev.median_time_past() >= dep.timeout:
                    nxt = FAILED
            elif state == LOCKED_IN and prev.height + 1 >= dep.min_activation_height:
                nxt = ACTIVE
            self.cache[prev.hash] = state = nxt
        return state

    def since_for(self, prev: BlockIndex | None) -> int:
        """GetStateSinceHeightFor: the height of the first block with the state the one after `prev` has."""
        if self.dep.start_time in (ALWAYS_ACTIVE, NEVER_ACTIVE):
            return 0
        initial = self.state_for(prev)
        if initial == DEFINED:
            return 0
        prev = self._period_end(prev)
        assert prev is not None
        parent = self._period_end(prev, self.dep.period)
        while parent is not None and self.state_for(parent) == initial:
            prev = parent
            parent = self._period_end(prev, self.dep.period)
        return prev.height + 1

    def statistics(self, entry: BlockIndex) -> tuple[dict[str, Any], str]:
        """GetStateStatisticsFor(entry): the current period's signalling so far, and its #/- string."""
        period, threshold = self.dep.period, self.dep.threshold
        in_period = 1 + entry.height % period
        signalling = [False] * in_period
        count = elapsed = 0
        node: BlockIndex | None = entry
        while in_period > 0:
            assert node is not None
            elapsed += 1
            in_period -= 1
            if self.condition(node):
                count += 1
                signalling[in_period] = True
            node = node.prev
        stats = {"period": period, "threshold": threshold, "elapsed": elapsed, "count": count,
                 "possible": (period - threshold) >= (elapsed - count)}
        return stats, "".join("#" if s else "-" for s in signalling)

    def info(self, entry: BlockIndex) -> dict[str, Any]:
        """Core's SoftForkDescPushBack for a BIP9 deployment, at block `entry`."""
        dep = self.dep
        current, nxt = self.state_for(entry.prev), self.state_for(entry)
        since = self.since_for(entry.prev)
        bip9: dict[str, Any] = {}
        has_signal = current in (STARTED, LOCKED_IN)
        if has_signal:
            bip9["bit"] = dep.bit
        bip9.update(start_time=dep.start_time, timeout=dep.timeout, min_activation_height=dep.min_activation_height,
                    status=current, since=since, status_next=nxt)
        if has_signal:
            stats, signalling = self.statistics(entry)
            if current == LOCKED_IN:
                stats["threshold"], stats["possible"] = 0, False
            shown = {"period": stats["period"], "elapsed": stats["elapsed"], "count": stats["count"]}
            if stats["threshold"] > 0 or stats["possible"]:
                shown.update(threshold=stats["threshold"], possible=stats["possible"])
            bip9["statistics"] = shown
            bip9["signalling"] = signalling
        out: dict[str, Any] = {"type": "bip9"}
        active_since = since if current == ACTIVE else entry.height + 1 if nxt == ACTIVE else None
        if active_since is not None:
            out["height"] = active_since
        out["active"] = active_since is not None and active_since <= entry.height + 1
        out["bip9"] = bip9
        return out


def script_flag_names(flags: ScriptFlags) -> list[str]:
    """Core's GetScriptFlagNames: the set flags' names in name order."""
    return sorted(f.name for f in ScriptFlags if f.value and flags & f and f.name is not None)


class Deployments:
    """Everything getdeploymentinfo needs for one network; keeps the version-bits caches."""

    def __init__(self, params: ChainParams, ancestor: Ancestor) -> None:
        self.params = params
        self.bip9 = {name: VersionBits(dep, ancestor) for name, dep in bip9_deployments(params).items()
                     if dep.start_time != NEVER_ACTIVE}

    def info(self, entry: BlockIndex) -> dict[str, Any]:
        deployments: dict[str, Any] = {}
        for name, height in buried_heights(self.params).items():
            # reported active from one block below the activation height (the next block enforces it)
            deployments[name] = {"type": "buried", "active": entry.height + 1 >= height, "height": height}
        for name, vb in self.bip9.items():
            deployments[name] = vb.info(entry)
        return {
            "hash": entry.header.hash_hex,
            "height": entry.height,
            "script_flags": script_flag_names(block_script_flags(entry.hash, entry.height, self.params)),
            "deployments": deployments,
        }
