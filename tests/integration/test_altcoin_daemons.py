"""Our Litecoin and Dogecoin consensus against the real daemons on regtest: the genesis they start
from, the headers they mine (AuxPoW ones included) and the addresses they accept.

litecoind and dogecoind come from ../shared/bin or PATH (skipped with a message otherwise).
"""

from __future__ import annotations

import dataclasses
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hashforge.consensus.address import (
    AddressType,
    Destination,
    decode_address,
    encode_address,
    encode_wif,
)
from hashforge.consensus.auxpow import AuxPowHeader, chain_id
from hashforge.consensus.headerchain import HeaderChainError, verify_headers
from hashforge.consensus.params import DOGECOIN_REGTEST, LITECOIN_REGTEST, ChainParams
from hashforge.rpcclient import RPCClient, RPCClientError, RPCTransportError
from tests.helpers.nodeproc import free_port
from tests.helpers.peers import find_peer, requires_peer

H20 = bytes(range(20))
H32 = bytes(range(32))


class Daemon:
    """A wallet-less litecoind/dogecoind on regtest in `datadir`, answering RPC once started."""

    def __init__(self, program: str, datadir: Path, password: str = "hf-pass") -> None:
        self.program = program
        self.datadir = datadir
        self.port = free_port()
        self.password = password
        self.log = datadir / "stdout.log"
        self.rpc = RPCClient(f"http://127.0.0.1:{self.port}/", user="hf", password=password, timeout=120)
        self.proc: subprocess.Popen[bytes] | None = None
        self.extra_args: list[str] = []  # after the defaults, so they win (e.g. -listen=1 for a peer)

    def start(self, timeout: float = 60) -> Daemon:
        self.datadir.mkdir(parents=True, exist_ok=True)
        args = [self.program, "-regtest", f"-datadir={self.datadir}", "-server=1", "-listen=0",
                "-rpcbind=127.0.0.1", "-rpcallowip=127.0.0.1", f"-rpcport={self.port}",
                "-rpcuser=hf", f"-rpcpassword={self.password}", "-printtoconsole=1", *self.extra_args]
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.program} exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                self.rpc.call("getblockcount")
                return self
            except (RPCTransportError, RPCClientError):  # not listening yet, or warming up
                if time.monotonic() > deadline:
                    self.stop()
                    raise TimeoutError(f"{self.program} did not answer:\n{self.tail()}") from None
                time.sleep(0.2)

    def call(self, method: str, *params: Any) -> Any:
        return self.rpc.call(method, *params)

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            self.rpc.call("stop")
            self.proc.wait(60)
        except (RPCTransportError, RPCClientError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None


def _daemon(name: str, tmp_path: Path) -> Iterator[Daemon]:
    program = find_peer(name)
    assert program is not None
    daemon = Daemon(program, tmp_path / name).start()
    try:
        yield daemon
    finally:
        daemon.stop()


@pytest.fixture
def dogecoind(tmp_path: Path) -> Iterator[Daemon]:
    yield from _daemon("dogecoind", tmp_path)


@pytest.fixture
def litecoind(tmp_path: Path) -> Iterator[Daemon]:
    yield from _daemon("litecoind", tmp_path)


def _headers(daemon: Daemon, count: int) -> list[AuxPowHeader]:
    """Headers 0..count-1 as the daemon serializes them (Dogecoin's with their AuxPoW)."""
    out = []
    for height in range(count):
        raw = bytes.fromhex(daemon.call("getblockheader", daemon.call("getblockhash", height), False))
        out.append(AuxPowHeader.from_bytes(raw))
    return out


def _check_addresses(daemon: Daemon, params: ChainParams, kinds: list[Destination]) -> None:
    for dest in kinds:
        address = encode_address(dest, params)
        info = daemon.call("validateaddress", address)
        assert info["isvalid"], (address, info)
        assert info["scriptPubKey"] == dest.script_pubkey.hex(), address
        assert decode_address(address, params).script_pubkey == dest.script_pubkey


@requires_peer("dogecoind", "the Dogecoin Core regtest cross-checks")
def test_dogecoind_regtest_genesis_auxpow_headers_and_addresses(dogecoind: Daemon) -> None:
    params = DOGECOIN_REGTEST
    assert dogecoind.call("getblockhash", 0) == params.genesis.hash_hex
    p2pkh = Destination(AddressType.P2PKH, H20)
    _check_addresses(dogecoind, params, [p2pkh, Destination(AddressType.P2SH, H20)])
    address = encode_address(p2pkh, params)
    # Legacy blocks up to height 19; from 20 (AuxPoW start) dogecoind builds an AuxPoW itself
    # when generatetoaddress is told to (its fourth argument).
    dogecoind.call("generatetoaddress", 19, address)
    dogecoind.call("generatetoaddress", 6, address, 1000, 1)
    headers = _headers(dogecoind, 26)
    assert [h.auxpow is not None for h in headers] == [False] * 20 + [True] * 6
    assert {chain_id(h.header.version) for h in headers[1:]} == {0x62}
    summary = verify_headers(headers, params, 0)
    assert (summary.count, summary.checked_auxpow, summary.checked_bits) == (26, 6, 25)
    assert summary.tip_hash_hex == dogecoind.call("getbestblockhash")

    # A tampered AuxPoW (parent coinbase no longer commits to the block) fails at its height.
    aux = headers[22].auxpow
    assert aux is not None
    script = bytearray(aux.coinbase_tx.vin[0].script_sig)
    script[5] ^= 1
    vin0 = dataclasses.replace(aux.coinbase_tx.vin[0], script_sig=bytes(script))
    coinbase = dataclasses.replace(aux.coinbase_tx, vin=(vin0, *aux.coinbase_tx.vin[1:]))
    bad = dataclasses.replace(headers[22], auxpow=dataclasses.replace(aux, coinbase_tx=coinbase))
    with pytest.raises(HeaderChainError) as info:
        verify_headers([*headers[:22], bad, *headers[23:]], params, 0)
    assert info.value.height == 22 and "AUX POW" in str(info.value).upper()

    # An AuxPoW header below the AuxPoW start (dogecoind's own "early-auxpow-block").
    with pytest.raises(HeaderChainError, match="height 19: early-auxpow-block"):
        verify_headers([*headers[:19], headers[20]], params, 0)


@requires_peer("litecoind", "the Litecoin Core regtest cross-checks")
def test_litecoind_regtest_genesis_headers_and_addresses(litecoind: Daemon) -> None:
    params = LITECOIN_REGTEST
    assert litecoind.call("getblockhash", 0) == params.genesis.hash_hex
    kinds = [
        Destination(AddressType.P2PKH, H20),
        Destination(AddressType.P2SH, H20),
        Destination(AddressType.P2WPKH, H20, 0),
        Destination(AddressType.P2WSH, H32, 0),
    ]
    _check_addresses(litecoind, params, kinds)
    # Litecoin still accepts the old P2SH prefix ('2' on test networks) and decodes it alike.
    assert params.base58_script_prefix_legacy is not None
    legacy = dataclasses.replace(params, base58_script_prefix=params.base58_script_prefix_legacy)
    old_p2sh = encode_address(Destination(AddressType.P2SH, H20), legacy)
    assert litecoind.call("validateaddress", old_p2sh)["isvalid"]
    assert decode_address(old_p2sh, params).type is AddressType.P2SH
    wif = encode_wif(bytes(31) + b"\x01", params)
    assert litecoind.call("getdescriptorinfo", f"pkh({wif})")["isrange"] is False

    litecoind.call("generatetoaddress", 30, encode_address(kinds[2], params))
    headers = _headers(litecoind, 31)
    summary = verify_headers(headers, params, 0)
    assert (summary.count, summary.checked_pow, summary.checked_bits) == (31, 31, 30)
    assert summary.tip_hash_hex == litecoind.call("getbestblockhash")
