"""Merged mining without daemons: the aux merkle tree (several chains, Namecoin/Dogecoin slots),
the commitment in the job's coinbase and AuxPoWs that pass consensus' CAuxPow::check, which aux
chains a share serves, and the --aux-chain configuration's one-line errors.
(tests/integration/test_merged_mining.py runs it against litecoind + dogecoind.)"""

from __future__ import annotations

import dataclasses
import hashlib
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hashforge.consensus.address import AddressType, Destination, encode_address
from hashforge.consensus.auxpow import MERGED_MINING_HEADER, AuxPowError, expected_chain_index
from hashforge.consensus.params import DOGECOIN_REGTEST
from hashforge.pool.errors import ConfigError
from hashforge.pool.merged import AuxBundle, AuxChainConfig, AuxWork, parse_aux_chains
from hashforge.pool.template import Template, make_job

DOGE_ADDRESS = encode_address(Destination(AddressType.P2PKH, bytes(range(20))), DOGECOIN_REGTEST)
EXTRANONCE1 = bytes.fromhex("01000002")
EXTRANONCE2 = bytes(range(8))


def _h(tag: str) -> bytes:
    return hashlib.sha256(tag.encode()).digest()


def _work(chain_id: int, tag: str, target: int = (1 << 255)) -> AuxWork:
    return AuxWork(f"chain{chain_id}", chain_id, _h(tag), target, 20)


def _gbt() -> dict[str, Any]:
    tx = "01000000" "01" + "11" * 32 + "00000000" "00" "ffffffff" "01" + "00e1f50500000000" "0151" "00000000"
    return {"height": 100, "version": 0x20000000, "previousblockhash": "22" * 32, "bits": "207fffff",
            "curtime": 1_700_000_000, "coinbasevalue": 50 * 10**8, "rules": ["csv", "!segwit"],
            "transactions": [{"data": tx, "txid": _h("tx").hex(), "hash": _h("tx").hex()}]}


def _share(bundle: AuxBundle) -> tuple[bytes, bytes, tuple[bytes, ...]]:
    """(coinbase, header, coinbase branch) of a share of a job whose template carries `bundle`."""
    t = dataclasses.replace(Template.from_gbt(_gbt()), aux=bundle)
    pj = make_job(t, 1, "1", [(b"\x51", t.coinbase_value)], b"/t/", 8, clean=True)
    coinbase = pj.job.coinbase(EXTRANONCE1, EXTRANONCE2)
    header = pj.job.header(EXTRANONCE1, EXTRANONCE2, t.curtime, 12345)
    return coinbase, header, pj.job.merkle_branch


def test_one_chain_commitment_is_fabe6d6d_hash_size_nonce() -> None:
    work = _work(0x62, "doge")
    bundle = AuxBundle.build((work,))
    assert bundle.tree_height == 0 and bundle.slots == (0,) and bundle.branches == ((),)
    assert bundle.commitment == MERGED_MINING_HEADER + work.block_hash[::-1] + b"\x01\x00\x00\x00" + bytes(4)
    coinbase, header, branch = _share(bundle)
    assert bundle.commitment in coinbase  # in the scriptSig, before the extranonce
    assert coinbase.index(bundle.commitment) < coinbase.index(EXTRANONCE1 + EXTRANONCE2)
    bundle.auxpow(0, coinbase, branch, header).check(work.block_hash, 0x62, True)


def test_several_chains_each_in_its_expected_slot() -> None:
    works = (_work(0x62, "doge"), _work(1, "nmc"), _work(7, "other"), _work(0x10, "fourth"))
    bundle = AuxBundle.build(works, nonce=5)
    assert bundle.tree_height >= 2 and len(set(bundle.slots)) == 4
    assert bundle.slots == tuple(expected_chain_index(5, w.chain_id, bundle.tree_height) for w in works)
    coinbase, header, branch = _share(bundle)
    for i, w in enumerate(works):
        auxpow = bundle.auxpow(i, coinbase, branch, header)
        auxpow.check(w.block_hash, w.chain_id, True)
        # another chain's slot or block does not verify
        with pytest.raises(AuxPowError):
            dataclasses.replace(auxpow, chain_index=bundle.slots[i - 1]).check(w.block_hash, w.chain_id, True)
        with pytest.raises(AuxPowError):
            auxpow.check(works[i - 1].block_hash, w.chain_id, True)


def test_a_share_serves_each_aux_chain_whose_target_it_meets() -> None:
    easy, hard = _work(0x62, "easy", target=1 << 250), _work(1, "hard", target=1 << 200)
    bundle = AuxBundle.build((easy, hard))
    between = (1 << 220).to_bytes(32, "little")
    assert bundle.met_by(between) == [0]  # the easy chain only, whatever the parent's target
    assert bundle.met_by((1 << 100).to_bytes(32, "little")) == [0, 1]
    assert bundle.met_by((1 << 251).to_bytes(32, "little")) == []


def test_aux_chain_specs(tmp_path: Path) -> None:
    spec = f"dogecoin-regtest,http://u:p@127.0.0.1:18444/,{DOGE_ADDRESS}"
    (c,) = parse_aux_chains([spec], "litecoin-regtest")
    assert (c.network, c.node_url, c.node_user, c.node_password, c.address, c.node_cookie) == (
        "dogecoin-regtest", "http://127.0.0.1:18444/", "u", "p", DOGE_ADDRESS, None)
    cookie = tmp_path / "doge.cookie"
    cookie.write_text("u:p\n")
    (c,) = parse_aux_chains([f"dogecoin-regtest,http://127.0.0.1:18444/,{DOGE_ADDRESS},{cookie}"], "litecoin-regtest")
    assert (c.node_url, c.node_user, c.node_password, c.node_cookie) == ("http://127.0.0.1:18444/", None, None, cookie)
    bad = {
        f"dogecoin-regtest,http://x/,{DOGE_ADDRESS},{tmp_path / 'missing'}": "no such file",
        f"dogecoin-regtest,http://x/,{DOGE_ADDRESS},{cookie},extra": "NETWORK,RPC_URL,ADDRESS",
        "dogecoin-regtest,http://x/": "NETWORK,RPC_URL,ADDRESS",
        "nocoin,http://x/,a": "unknown network",
        "litecoin-regtest,http://x/,a": "not a merge-mined",
        "dogecoin-regtest,http://x/,rltc1qqqqq": "not a dogecoin-regtest address",
    }
    for s, message in bad.items():
        with pytest.raises(ConfigError, match=message):
            AuxChainConfig.parse(s)
    with pytest.raises(ConfigError, match="scrypt parent"):
        parse_aux_chains([spec], "regtest")
    with pytest.raises(ConfigError, match="same chain ID"):
        parse_aux_chains([spec, spec], "litecoin-regtest")


@pytest.mark.parametrize(("network", "spec", "message"), [
    ("litecoin-regtest", "dogecoin-regtest,http://x/", "NETWORK,RPC_URL,ADDRESS"),
    ("regtest", f"dogecoin-regtest,http://u:p@127.0.0.1:1/,{DOGE_ADDRESS}", "scrypt parent"),
])
def test_pool_cli_refuses_bad_aux_chain_in_one_line(tmp_path: Any, network: str, spec: str, message: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "hashforge", "pool", "--network", network, "--node-rpc", "http://u:p@127.0.0.1:1/",
         "--scheme", "solo", "--datadir", str(tmp_path), "--aux-chain", spec],
        capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], proc.stderr


def test_share_difficulty_ceiling_is_the_easiest_chain() -> None:
    from hashforge.consensus.pow import DIFF1_TARGET

    t = Template.from_gbt({**_gbt(), "bits": "1b0404cb"})  # parent difficulty 16307.42
    assert t.ceiling_difficulty == t.network_difficulty
    easier = _work(0x62, "doge", target=DIFF1_TARGET // 1000)  # an aux chain at difficulty ~1000
    with_aux = dataclasses.replace(t, aux=AuxBundle.build((easier,)))
    assert with_aux.ceiling_difficulty == pytest.approx(1000, rel=1e-6)
    harder = _work(0x62, "doge", target=DIFF1_TARGET // 10**6)
    assert dataclasses.replace(t, aux=AuxBundle.build((harder,))).ceiling_difficulty == t.network_difficulty


def test_an_unreachable_aux_node_leaves_the_parent_mining() -> None:
    """No aux work while the aux node is away: jobs carry no commitment, nothing is raised."""
    import asyncio
    import socket

    from hashforge.pool.merged import MergedMining

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (cfg,) = parse_aux_chains([f"dogecoin-regtest,http://u:p@127.0.0.1:{port}/,{DOGE_ADDRESS}"], "litecoin-regtest")

    async def run() -> None:
        merged = MergedMining([cfg])
        try:
            assert await merged.poll_once() is False
            assert merged.bundle is None
            assert merged.live() == [{"network": "dogecoin-regtest", "coin": "DOGE", "height": None,
                                      "difficulty": None, "blocks_accepted": 0, "blocks_rejected": 0}]
        finally:
            await merged.stop()

    asyncio.run(run())


def test_each_share_is_recorded_with_the_aux_chains_it_served(tmp_path: Path) -> None:
    """A real stratifier, recorder and SQLite: a share names DOGE when its job committed to the block
    dogecoind works on, and not once DOGE moved to another block, nor once dogecoind stopped
    answering (its chain then leaves the jobs), nor on a job without DOGE work."""
    import asyncio
    import socket

    from hashforge.pool.merged import MergedMining
    from tests.pool.harness import MINER_ADDR, Client, grind, running_pool, submit_params, template

    with socket.socket() as s:  # the aux node's port: nobody listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (cfg,) = parse_aux_chains([f"dogecoin-regtest,http://u:p@127.0.0.1:{port}/,{DOGE_ADDRESS}"], "litecoin-regtest")
    tip = AuxWork("dogecoin-regtest", 0x62, _h("doge 20"), 1, 20, 500_000 * 10**8)  # the block it last gave
    bundle = AuxBundle.build((tip,))

    async def run() -> list[str]:
        merged = MergedMining([cfg])
        (chain,) = merged.chains
        chain.work, merged.bundle = tip, bundle
        try:
            async with running_pool(tmp_path, tmpl=dataclasses.replace(template(), aux=bundle)) as pool:
                pool.stratifier.aux_chains_of = merged.current
                c = await Client.connect(pool.port)
                await c.login()

                async def share(n: int) -> None:
                    assert c.job is not None
                    en2 = n.to_bytes(c.en2_size, "big")
                    ntime, nonce = grind(c.job, c.en1, en2, c.difficulty)
                    r = await c.call("mining.submit", submit_params(MINER_ADDR + ".rig1", c.job, en2, ntime, nonce))
                    assert r["result"] is True, r

                await share(1)  # DOGE's current block
                chain.work = dataclasses.replace(tip, block_hash=_h("doge 21"), height=21)
                await share(2)  # DOGE moved on; this job still commits to block 20
                chain.work = tip
                assert await merged.poll_once() is True and merged.bundle is None  # dogecoind away
                await share(3)
                pool.stratifier.set_template(template(prev=b"\x22" * 32))  # a job without DOGE work
                await c.wait_note("mining.notify")
                await share(4)
                c.close()
                with pool.engine.connect() as conn:
                    return [r[0] for r in conn.exec_driver_sql("SELECT aux_chains FROM shares ORDER BY id")]
        finally:
            await merged.stop()

    assert asyncio.run(run()) == [",dogecoin-regtest,", "", "", ""]
