"""Helpers for P2P tests: nodes with fast P2P timers, connecting/partitioning them, waiting."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hashforge.consensus.address import script_to_address
from hashforge.consensus.block import Block
from hashforge.consensus.params import REGTEST
from tests.helpers.nodeproc import NodeProcess
from tests.helpers.txbuilder import Key, Utxo, outputs_of

MINER = Key.from_int(0xB10C)
MINER_ADDRESS = script_to_address(MINER.p2wpkh, REGTEST)
assert MINER_ADDRESS is not None

# Short timers so tests run in seconds (the defaults are Core's: trickle 2-5 s, handshake 60 s...).
FAST_P2P = {
    "p2p_inbound_inv_interval": 0.1,
    "p2p_outbound_inv_interval": 0.05,
    "p2p_addnode_retry": 0.5,
    "p2p_handshake_timeout": 3.0,
    "p2p_message_timeout": 2.0,
    "p2p_ping_interval": 30.0,
}


def start_node(datadir: Path, args: list[str] | None = None, extra: dict[str, Any] | None = None) -> NodeProcess:
    datadir.parent.mkdir(parents=True, exist_ok=True)
    cfg = datadir.parent / f"{datadir.name}.toml"
    settings = {**FAST_P2P, **(extra or {})}
    cfg.write_text("[node.extra]\n" + "".join(f"{k} = {v!r}\n" for k, v in settings.items()))
    return NodeProcess(datadir, extra_args=["--config", str(cfg), *(args or [])]).start()


def wait_until(pred: Callable[[], bool], timeout: float = 20.0, what: str = "condition") -> float:
    """Polls `pred`; returns the seconds it took."""
    t0 = time.monotonic()
    while not pred():
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)
    return time.monotonic() - t0


def handshaken(a: NodeProcess, b: NodeProcess) -> bool:
    """`a` has a fully connected outbound peer at `b`'s P2P address."""
    return any(p["addr"] == b.p2p_addr and p["version"] > 0 for p in a.call("getpeerinfo"))


def connect(a: NodeProcess, b: NodeProcess) -> None:
    """A one-off connection from a to b (not re-established after disconnectnode)."""
    # A loaded machine can miss the nodes' short (3 s) handshake timeout: a onetry is not retried, so
    # try again a few times before calling it a failure.
    for attempt in range(3):
        a.call("addnode", b.p2p_addr, "onetry")
        try:
            wait_until(lambda: handshaken(a, b), 10, f"{a.datadir.name} -> {b.datadir.name} handshake")
            break
        except AssertionError:
            if attempt == 2:
                raise
    n_b = len(b.call("getpeerinfo"))
    wait_until(lambda: all(p["version"] > 0 for p in b.call("getpeerinfo")) and n_b > 0, 10, "inbound handshake")


def disconnect(a: NodeProcess, b: NodeProcess) -> None:
    """Drops the connections between a and b (in whichever direction they were made)."""
    for x, y in ((a, b), (b, a)):
        for p in x.call("getpeerinfo"):
            if p["addr"] == y.p2p_addr:
                x.call("disconnectnode", "", p["id"])
    wait_until(lambda: not handshaken(a, b) and not handshaken(b, a), 10, "disconnect")
    time.sleep(0.2)  # let the other side notice


def mine(node: NodeProcess, n: int = 1) -> list[str]:
    hashes: list[str] = node.call("generatetoaddress", n, MINER_ADDRESS)
    return hashes


def same_tip(nodes: list[NodeProcess]) -> bool:
    tips = {n.call("getbestblockhash") for n in nodes}
    return len(tips) == 1


def coinbase_utxo(node: NodeProcess, height: int) -> Utxo:
    raw = node.call("getblock", node.call("getblockhash", height), 0)
    block = Block.from_bytes(bytes.fromhex(raw))
    return outputs_of(block.vtx[0], MINER)[0]
