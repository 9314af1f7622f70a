"""Our per-network defaults taken from Bitcoin Core are what the real bitcoind says they are
(`bitcoind -help-debug` of ../shared/bin's build): `-assumevalid` and `-minimumchainwork`."""

from __future__ import annotations

import re
import subprocess

import pytest

from hashforge.node.chain import DEFAULT_ASSUME_VALID, DEFAULT_MINIMUM_CHAIN_WORK
from tests.helpers.bitcoind import BITCOIND, requires_bitcoind

pytestmark = requires_bitcoind("the Bitcoin Core defaults test")


def core_defaults(option: str) -> dict[str, str]:
    """{network: value} from the help text of `-option` ("default:" is mainnet's)."""
    assert BITCOIND is not None
    text = subprocess.run([BITCOIND, "-help-debug"], capture_output=True, text=True, timeout=60, check=True).stdout
    block = re.search(rf"^  -{option}=<hex>\n(.*?)(?=^  -)", text, re.S | re.M)
    assert block is not None, f"-{option} not in bitcoind -help-debug"
    pairs = re.findall(r"(default|testnet3|testnet4|signet):\s*([0-9a-f]{64})", block.group(1))
    return {("mainnet" if name == "default" else name): value for name, value in pairs}


@pytest.mark.parametrize(("option", "ours"), [
    ("assumevalid", DEFAULT_ASSUME_VALID),
    ("minimumchainwork", DEFAULT_MINIMUM_CHAIN_WORK),
])
def test_network_defaults_match_core(option: str, ours: dict[str, str]) -> None:
    core = core_defaults(option)
    assert set(core) == {"mainnet", "testnet3", "testnet4", "signet"}, core
    assert ours == core
