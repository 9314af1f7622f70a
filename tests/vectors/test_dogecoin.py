"""Dogecoin on real data (tests/data/dogecoin/README.md cites each file): parameters against Dogecoin
Core 1.14's chainparams.cpp, real mainnet/testnet headers across retargets, DigiShield and the AuxPoW
start, real AuxPoW headers that verify and tampered ones that do not, the reward schedule."""

from __future__ import annotations

import dataclasses
import json
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest

from hashforge.consensus.address import AddressType, Destination, decode_address, encode_address
from hashforge.consensus.auxpow import (
    MERGED_MINING_HEADER,
    AuxPow,
    AuxPowError,
    AuxPowHeader,
    chain_id,
    expected_chain_index,
    merged_mining_script,
    read_headers,
)
from hashforge.consensus.block import BlockHeader, merkle_root
from hashforge.consensus.hashes import hash256
from hashforge.consensus.headerchain import HeaderChainError, verify_headers
from hashforge.consensus.params import DOGECOIN, DOGECOIN_REGTEST, DOGECOIN_TESTNET, get_params
from hashforge.consensus.pow import (
    HeaderInfo,
    block_subsidy,
    dogecoin_calculate_next_work,
    get_compact,
    get_next_work_required,
)
from hashforge.consensus.serialize import deser_compact_size
from hashforge.consensus.subsidy import boost_uniform_int, mt19937_outputs
from hashforge.consensus.tx import OutPoint, Transaction, TxIn, TxOut
from tests.vectorfiles import VECTORS, load_json

DATA = VECTORS / "dogecoin"
COIN = 100_000_000


def _vectors() -> dict[tuple[str, int], dict[str, Any]]:
    return {(v["network"], v["height"]): v for v in load_json("dogecoin/header_vectors.json")["headers"]}


VECTORS_BY_HEIGHT = _vectors()


def _header(network: str, height: int) -> AuxPowHeader:
    return AuxPowHeader.from_bytes(bytes.fromhex(VECTORS_BY_HEIGHT[(network, height)]["hex"]))


def _block(name: str) -> tuple[AuxPowHeader, list[Transaction]]:
    raw = (DATA / f"{name}.bin").read_bytes()
    f = BytesIO(raw)
    header = AuxPowHeader.deserialize(f)
    txs = [Transaction.deserialize(f) for _ in range(deser_compact_size(f))]
    assert f.tell() == len(raw)
    return header, txs


# --- parameters (Dogecoin Core 1.14 chainparams.cpp / chainparamsbase.cpp) ------------------------


@pytest.mark.parametrize(
    ("name", "genesis", "magic", "port", "rpc", "prefixes"),
    [
        ("dogecoin", "1a91e3dace36e2be3bf030a65679fe821aa1d6ef92e7c9902eb318182c355691", "c0c0c0c0", 22556, 22555, (30, 22, 158)),
        ("dogecoin-testnet", "bb0a78264637406b6360aad926284d544d7049f45189db5664f3c4d07350559e", "fcc1b7dc", 44556, 44555, (113, 196, 241)),
        ("dogecoin-regtest", "3d2160a3b5dc4a9d62e7e66a295f70313ac808440ef7400d6c0772171ce973a5", "fabfb5da", 18444, 18332, (111, 196, 239)),
    ],
)
def test_params_match_dogecoin_core(
    name: str, genesis: str, magic: str, port: int, rpc: int, prefixes: tuple[int, int, int]
) -> None:
    p = get_params(name)
    assert p.genesis.hash_hex == genesis
    assert p.genesis.header.merkle_root[::-1].hex() == "5b2a3f53f605d62c53e62932dac6925e3d74afa5a4b459745c36d42d0ed26a69"
    assert p.genesis.vtx[0].vout[0].value == 88 * COIN
    assert (p.message_start.hex(), p.default_port, p.rpc_port) == (magic, port, rpc)
    assert (p.base58_pubkey_prefix, p.base58_script_prefix, p.base58_secret_prefix) == prefixes
    assert p.auxpow_chain_id == 0x62 and not p.has_segwit_addresses
    assert p.pow_limit == ((1 << 255) - 1 if name == "dogecoin-regtest" else (1 << 236) - 1)


def test_eras_are_dogecoin_cores() -> None:
    assert [e.height for e in DOGECOIN.dogecoin_eras] == [0, 145_000, 371_337]
    assert DOGECOIN.dogecoin_era(144_999).pow_target_timespan == 4 * 60 * 60
    assert DOGECOIN.dogecoin_era(145_000).digishield and DOGECOIN.dogecoin_era(145_000).allow_legacy_blocks
    assert not DOGECOIN.dogecoin_era(371_337).allow_legacy_blocks
    assert DOGECOIN.auxpow_start_height == 371_337 and DOGECOIN.auxpow_strict_chain_id
    assert (DOGECOIN_TESTNET.auxpow_start_height, DOGECOIN_TESTNET.auxpow_strict_chain_id) == (158_100, False)
    assert DOGECOIN_TESTNET.dogecoin_era(157_500).allow_min_difficulty
    assert not DOGECOIN_TESTNET.dogecoin_era(157_499).allow_min_difficulty
    assert (DOGECOIN_REGTEST.auxpow_start_height, DOGECOIN_REGTEST.dogecoin_era(10).digishield) == (20, True)


def test_addresses_match_dogecoin_cores_vectors() -> None:
    checked = 0
    for address, payload, meta in load_json("dogecoin/base58_keys_valid.json"):
        if meta["isPrivkey"] or meta.get("addrType") not in ("pubkey", "script"):
            continue
        params = DOGECOIN_TESTNET if meta["isTestnet"] else DOGECOIN
        kind = AddressType.P2PKH if meta["addrType"] == "pubkey" else AddressType.P2SH
        dest = decode_address(address, params)
        assert (dest.type, dest.program.hex()) == (kind, payload), address
        assert encode_address(Destination(kind, bytes.fromhex(payload)), params) == address
        checked += 1
    assert checked >= 6


# --- reward schedule ---------------------------------------------------------------------------------


def test_mt19937_matches_the_cpp_standard() -> None:
    # [rand.predef]: the 10000th output of a default-constructed std::mt19937 (seed 5489).
    assert mt19937_outputs(5489)[0] == 3499211612
    assert boost_uniform_int(5489, 1, 0xFFFFFFFF) - 1 == 3499211612


def test_random_reward_of_real_block_1() -> None:
    header, txs = _block("dogecoin_block1")
    assert header.header.prev_hash == DOGECOIN.genesis_hash
    reward = block_subsidy(1, DOGECOIN, header.header.prev_hash)
    assert reward == sum(o.value for o in txs[0].vout) == 68_416 * COIN  # block 1 had no fees
    with pytest.raises(ValueError, match="previous block hash"):
        block_subsidy(1, DOGECOIN)


@pytest.mark.parametrize(
    ("name", "height", "subsidy"),
    [
        ("dogecoin_block250000", 250_000, 125_000 * COIN),  # 500,000 >> 2
        ("dogecoin_block371337", 371_337, 62_500 * COIN),  # 500,000 >> 3
        ("dogecoin_block748634", 748_634, 10_000 * COIN),  # flat from 600,000
        ("dogecoin_block894863", 894_863, 10_000 * COIN),
    ],
)
def test_fixed_rewards_of_real_blocks(name: str, height: int, subsidy: int) -> None:
    header, txs = _block(name)
    assert block_subsidy(height, DOGECOIN, header.header.prev_hash) == subsidy
    paid = sum(o.value for o in txs[0].vout)
    assert subsidy <= paid < subsidy + 10 * COIN  # the rest is the block's fees
    root, mutated = merkle_root([t.txid for t in txs])
    assert root == header.header.merkle_root and not mutated


# --- header chains -----------------------------------------------------------------------------------


@pytest.mark.slow
def test_mainnet_headers_0_to_5280_verify_across_22_retargets() -> None:
    headers = read_headers((DATA / "mainnet_headers_0_5280.bin").read_bytes(), auxpow=True)
    summary = verify_headers(headers, DOGECOIN, 0)
    assert (summary.count, summary.checked_bits, summary.checked_retargets) == (5281, 5280, 22)
    assert summary.checked_median_time == 5280


@pytest.fixture(scope="module")
def early_mainnet() -> list[AuxPowHeader]:
    return read_headers((DATA / "mainnet_headers_0_5280.bin").read_bytes()[: 961 * 80], auxpow=True)


def test_first_retargets_use_litecoins_full_interval(early_mainnet: list[AuxPowHeader]) -> None:
    summary = verify_headers(early_mainnet, DOGECOIN, 0)
    assert summary.checked_retargets == 4  # 240 (looks back 239 blocks), 480, 720, 960 (240)
    h = [x.header for x in early_mainnet]
    last = HeaderInfo(959, h[959].time, h[959].bits)
    assert dogecoin_calculate_next_work(last, h[719].time, DOGECOIN) == h[960].bits
    # Bitcoin's off-by-one lookback (from block 720) would have given other nBits.
    assert dogecoin_calculate_next_work(last, h[720].time, DOGECOIN) != h[960].bits


def test_tampered_real_headers_fail(early_mainnet: list[AuxPowHeader]) -> None:
    run = early_mainnet[:60]
    bad_nonce = dataclasses.replace(run[30].header, nonce=run[30].header.nonce ^ 1)
    with pytest.raises(HeaderChainError, match="height 30: high-hash"):
        verify_headers([*run[:30], AuxPowHeader(bad_nonce), *run[31:]], DOGECOIN, 0)
    with pytest.raises(HeaderChainError, match="height 41: bad-prevblk"):
        verify_headers([*run[:41], *run[42:]], DOGECOIN, 0)


# nBits are checked where the run has what the rule needs: before DigiShield a block inside a
# period just repeats its parent's; under DigiShield the two blocks before it are needed.
@pytest.mark.parametrize(
    ("network", "first", "last", "auxpow", "bits"),
    [
        ("dogecoin", 17, 18, 0, 1),
        ("dogecoin", 151_556, 151_558, 0, 1),  # DigiShield: 151,558's nBits from the two before it
        ("dogecoin", 400_000, 400_002, 3, 1),
        ("dogecoin", 521_335, 521_336, 2, 0),
        ("dogecoin-testnet", 88, 89, 0, 1),
        ("dogecoin-testnet", 158_378, 158_380, 1, 1),  # min-difficulty era, AuxPoW from 158,100
        ("dogecoin-testnet", 293_098, 293_099, 2, 0),
    ],
)
def test_real_header_runs_verify(network: str, first: int, last: int, auxpow: int, bits: int) -> None:
    params = get_params(network)
    run = [_header(network, h) for h in range(first, last + 1)]
    for h, item in zip(range(first, last + 1), run, strict=True):
        assert item.header.hash_hex == VECTORS_BY_HEIGHT[(network, h)]["hash"]
    summary = verify_headers(run, params, first)
    assert (summary.checked_links, summary.checked_auxpow, summary.checked_bits) == (last - first, auxpow, bits)


def test_across_the_auxpow_start() -> None:
    run = read_headers((DATA / "mainnet_headers_371335_371337.bin").read_bytes(), auxpow=True)
    assert [h.auxpow is not None for h in run] == [False, False, True]
    assert run[2].header.hash_hex == "60323982f9c5ff1b5a954eac9dc1269352835f47c2c5222691d80f0d50dcf053"
    summary = verify_headers(run, DOGECOIN, 371_335)
    assert (summary.checked_auxpow, summary.checked_bits, summary.checked_retargets) == (1, 1, 1)
    # One block earlier the same AuxPoW header is refused, and a legacy header one block later.
    with pytest.raises(HeaderChainError, match="height 371336: early-auxpow-block"):
        verify_headers([run[0], run[2]], DOGECOIN, 371_335)
    legacy = dataclasses.replace(run[1].header, version=1)
    with pytest.raises(HeaderChainError, match=r"late-legacy-block|high-hash"):
        verify_headers([AuxPowHeader(legacy)], DOGECOIN, 371_337)


def _webcoin_checkpoints() -> list[tuple[int, AuxPowHeader]]:
    raw = (DATA / "webcoin_checkpoints.bin").read_bytes()
    magic = b"Doge checkpoints v1\n"
    assert raw.startswith(magic)
    f = BytesIO(raw[len(magic) :])
    count = int.from_bytes(f.read(4), "big")
    out = [(int.from_bytes(f.read(4), "big"), AuxPowHeader.deserialize(f)) for _ in range(count)]
    assert f.read() == b""
    return out


def test_webcoin_checkpoint_pairs_verify() -> None:
    entries = _webcoin_checkpoints()
    assert len(entries) == 136
    auxpow = 0
    for (h0, a), (h1, b) in zip(entries[::2], entries[1::2], strict=True):
        assert h1 == h0 + 1
        summary = verify_headers([a, b], DOGECOIN, h0)
        assert summary.checked_links == 1
        auxpow += summary.checked_auxpow
    assert auxpow == 2 * 56  # the 56 pairs from 389,999 on are merge-mined
    # 450,000 is one of Dogecoin Core's checkpoints.
    assert dict((h, x.header.hash_hex) for h, x in entries)[450_000] == (
        "d279277f8f846a224d776450aa04da3cf978991a182c6f3075db4c48b173bbd7"
    )


# --- AuxPoW: real ones verify, tampered ones do not -----------------------------------------------------


def test_auxpow_round_trips_and_commits_to_its_block() -> None:
    item = _header("dogecoin", 400_002)
    assert item.auxpow is not None
    assert AuxPowHeader.from_bytes(item.serialize()) == item
    assert AuxPow.from_bytes(item.auxpow.serialize()) == item.auxpow
    aux = item.auxpow
    assert len(aux.chain_branch) == 6 and aux.chain_index == 56
    script = aux.coinbase_tx.vin[0].script_sig
    nonce = int.from_bytes(script[script.find(bytes.fromhex("fabe6d6d")) + 40 :][:4], "little")
    assert expected_chain_index(nonce, 0x62, 6) == 56
    aux.check(item.hash, chain_id(item.header.version), strict_chain_id=True)


def _replace_auxpow(item: AuxPowHeader, **changes: Any) -> AuxPowHeader:
    assert item.auxpow is not None
    return dataclasses.replace(item, auxpow=dataclasses.replace(item.auxpow, **changes))


def _with_script(item: AuxPowHeader, script: bytes) -> AuxPowHeader:
    assert item.auxpow is not None
    tx = item.auxpow.coinbase_tx
    vin0 = dataclasses.replace(tx.vin[0], script_sig=script)
    return _replace_auxpow(item, coinbase_tx=dataclasses.replace(tx, vin=(vin0, *tx.vin[1:])))


def _tampered() -> list[tuple[str, AuxPowHeader]]:
    item = _header("dogecoin", 400_002)
    aux = item.auxpow
    assert aux is not None
    script = aux.coinbase_tx.vin[0].script_sig
    root_at = script.find(bytes.fromhex("fabe6d6d")) + 4
    flipped_root = script[:root_at] + bytes([script[root_at] ^ 1]) + script[root_at + 1 :]
    bad_size = script[: root_at + 32] + (63).to_bytes(4, "little") + script[root_at + 36 :]
    parent = aux.parent_header
    # Any change to the real coinbase breaks its commitment into the parent block first.
    return [
        ("merkle root incorrect", _with_script(item, flipped_root)),
        ("merkle root incorrect", _with_script(item, bad_size)),
        ("missing chain merkle root", _replace_auxpow(item, chain_index=aux.chain_index ^ 1)),
        ("merkle root incorrect", _replace_auxpow(item, coinbase_branch=(b"\x00" * 32, *aux.coinbase_branch[1:]))),
        ("not a generate", _replace_auxpow(item, coinbase_index=1)),
        ("AUX proof of work failed", _replace_auxpow(item, parent_header=dataclasses.replace(parent, nonce=parent.nonce ^ 1))),
        ("does not have our chain ID", dataclasses.replace(item, header=dataclasses.replace(item.header, version=0x00630102))),
        ("missing chain merkle root", dataclasses.replace(item, header=dataclasses.replace(item.header, time=item.header.time + 1))),
    ]


@pytest.mark.parametrize(("reason", "bad"), _tampered(), ids=[f"{i}-{r}" for i, (r, _) in enumerate(_tampered())])
def test_tampered_auxpow_is_refused(reason: str, bad: AuxPowHeader) -> None:
    run = [_header("dogecoin", 400_000), _header("dogecoin", 400_001), bad]
    with pytest.raises(HeaderChainError, match=f"height 400002: high-hash: .*{reason}"):
        verify_headers(run, DOGECOIN, 400_000)


def _synthetic(aux_hash: bytes, script: bytes, chain_branch: tuple[bytes, ...] = (), chain_index: int = 0) -> AuxPow:
    """An AuxPoW whose parent block holds only this coinbase (so the coinbase commitment stays
    intact whatever the script): for the checks a real AuxPoW cannot reach once tampered."""
    coinbase = Transaction(1, (TxIn(OutPoint(), script),), (TxOut(0, b"\x51"),), 0)
    parent = BlockHeader(2, b"\x00" * 32, coinbase.txid, 0, 0x207FFFFF, 0)
    return AuxPow(coinbase, b"\x00" * 32, (), 0, chain_branch, chain_index, parent)


def test_auxpow_check_rules_one_by_one() -> None:
    aux_hash = bytes(range(32))
    sibling = b"\x11" * 32
    root = hash256(aux_hash + sibling)  # aux block at index 0 of a 2-leaf tree
    nonce = next(n for n in range(100) if expected_chain_index(n, 0x62, 1) == 0)
    good = b"\x03\x01\x02\x03" + merged_mining_script(root, 2, nonce)
    _synthetic(aux_hash, good, (sibling,), 0).check(aux_hash, 0x62, True)
    cases = [
        (merged_mining_script(root, 4, nonce), "merkle branch size does not match"),
        (merged_mining_script(root, 2, nonce) + MERGED_MINING_HEADER, "Multiple merged mining headers"),
        (MERGED_MINING_HEADER + b"\x00" + root[::-1] + bytes(8), "not just before chain merkle root"),
        (bytes(21) + root[::-1] + (2).to_bytes(4, "little") + bytes(4), "first 20 bytes"),
        (merged_mining_script(root, 2, nonce)[:-5], "missing chain merkle tree size and nonce"),
    ]
    wrong_nonce = next(n for n in range(100) if expected_chain_index(n, 0x62, 1) == 1)
    cases.append((merged_mining_script(root, 2, wrong_nonce), "wrong index"))
    for script, reason in cases:
        with pytest.raises(AuxPowError, match=reason):
            _synthetic(aux_hash, script, (sibling,), 0).check(aux_hash, 0x62, True)
    # Without the header, a root early in the script is the old format and still accepted.
    _synthetic(aux_hash, root[::-1] + (2).to_bytes(4, "little") + nonce.to_bytes(4, "little"),
               (sibling,), 0).check(aux_hash, 0x62, True)
    too_long = _synthetic(aux_hash, good, (sibling,) * 31, 0)
    with pytest.raises(AuxPowError, match="branch too long"):
        too_long.check(aux_hash, 0x62, True)
    parent_is_us = dataclasses.replace(
        _synthetic(aux_hash, good, (sibling,), 0),
        parent_header=BlockHeader(0x00620002, b"\x00" * 32, b"\x00" * 32, 0, 0, 0),
    )
    with pytest.raises(AuxPowError, match="parent has our chain ID"):
        parent_is_us.check(aux_hash, 0x62, True)
    # Not strict (testnet): the parent's chain ID is not looked at, the next check fails instead.
    with pytest.raises(AuxPowError, match="merkle root incorrect"):  # the first check it fails
        parent_is_us.check(aux_hash, 0x62, False)


# --- the CLI on real Dogecoin headers ------------------------------------------------------------------


@pytest.mark.slow  # three runs of the console script
def test_cli_verifies_across_the_auxpow_start_and_refuses_tampered(tmp_path: Path) -> None:
    from tests.integration.test_cli import assert_one_line_error, hashforge

    good = DATA / "mainnet_headers_371335_371337.bin"
    proc = hashforge("headers", "verify", good, "--network", "dogecoin", "--height", "371335", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["ok"] and out["checked"]["auxpow"] == 1 and out["checked"]["retargets"] == 1
    assert out["tip_hash"] == "60323982f9c5ff1b5a954eac9dc1269352835f47c2c5222691d80f0d50dcf053"
    raw = bytearray(good.read_bytes())
    raw[-3] ^= 1  # the parent header's nonce
    bad = tmp_path / "bad.bin"
    bad.write_bytes(bytes(raw))
    proc = hashforge("headers", "verify", bad, "--network", "dogecoin", "--height", "371335")
    assert_one_line_error(proc, 1, "height 371337: high-hash", "AUX proof of work failed")
    bad.write_bytes(bytes(raw[:-10]))
    assert_one_line_error(
        hashforge("headers", "verify", bad, "--network", "dogecoin", "--height", "371335"), 2, "header 2"
    )


def test_testnet_headers_0_to_1200_with_min_difficulty_blocks() -> None:
    headers = read_headers((DATA / "testnet_headers_0_1200.bin").read_bytes(), auxpow=True)
    summary = verify_headers(headers, DOGECOIN_TESTNET, 0)
    assert (summary.count, summary.checked_bits, summary.checked_retargets) == (1201, 1200, 5)
    limit = get_compact(DOGECOIN_TESTNET.pow_limit)
    h = [x.header for x in headers]
    # Blocks mined at the limit because they came more than two minutes after their parent.
    easy = [i for i in range(241, 1201) if h[i].bits == limit and i % 240 and h[i].time > h[i - 1].time + 120]
    assert len(easy) > 50
    infos = [HeaderInfo(i, x.time, x.bits) for i, x in enumerate(h)]
    walked = 0
    for i in easy:
        # Had it come sooner, it would have needed the nBits of the last block not mined under
        # the exception, or of the period's first.
        j = i - 1
        while j % 240 and h[j].bits == limit:
            j -= 1
        prompt = get_next_work_required(DOGECOIN_TESTNET, infos[i - 1], h[i - 1].time + 120, infos.__getitem__)
        assert prompt == h[j].bits
        walked += prompt != limit
    assert walked > 10
