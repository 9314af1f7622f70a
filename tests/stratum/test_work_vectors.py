"""Stratum share math against real captures: a public-pool Bitaxe share and mainnet block 413567."""

from __future__ import annotations

import hashlib

import pytest

from hashforge.stratum import (
    Job,
    StratumProtocolError,
    decode_line,
    difficulty_to_target,
    hash_difficulty,
    prevhash_from_stratum,
    prevhash_to_stratum,
    rolled_version,
    target_to_difficulty,
)
from tests.vectorfiles import load_json

SHARES = load_json("stratum_shares.json")


def _hash256(b: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(b).digest()).digest()


def test_public_pool_share_with_version_rolling() -> None:
    v = SHARES["v1_public_pool_testnet_share"]
    job = Job.from_notify(v["notify_params"])
    assert job.to_notify() == v["notify_params"]
    assert job.prev_hash[::-1].hex() == v["gbt_previousblockhash"]
    en1 = bytes.fromhex(v["subscribe_result_extranonce1"])
    _worker, job_id, en2_hex, ntime_hex, nonce_hex, version_hex = v["submit_params"]
    assert job_id == job.job_id
    en2 = bytes.fromhex(en2_hex)
    assert len(en2) == v["extranonce2_size"]
    mask = int(v["configure_response"]["result"]["version-rolling.mask"], 16)
    version = rolled_version(job.version, int(version_hex, 16), mask)
    expected = v["computed_by_anchor_script"]
    assert _hash256(job.coinbase(en1, en2))[::-1].hex() == expected["coinbase_txid"]
    assert job.merkle_root(en1, en2)[::-1].hex() == expected["merkle_root_display"]
    header = job.header(en1, en2, int(ntime_hex, 16), int(nonce_hex, 16), version)
    assert header.hex() == expected["header_hex"]
    h = _hash256(header)
    assert h[::-1].hex() == expected["hash"]
    assert hash_difficulty(h) == pytest.approx(expected["share_difficulty"], rel=1e-12)
    assert int.from_bytes(h, "little") <= difficulty_to_target(v["suggest_difficulty"])
    assert target_to_difficulty(difficulty_to_target(512)) == pytest.approx(512)


def test_derived_block_413567_job_rebuilds_the_block() -> None:
    v = SHARES["v3_block413567_derived"]
    job = Job.from_notify(v["notify_params"])
    en1, en2 = bytes.fromhex(v["extranonce1"]), bytes.fromhex(v["extranonce2"])
    assert job.merkle_root(en1, en2)[::-1].hex() == v["expected_merkle_root_display"]
    header = job.header(en1, en2, int(v["submit_ntime"], 16), int(v["submit_nonce"], 16))
    assert _hash256(header)[::-1].hex() == v["expected_block_hash"]


def test_prevhash_round_trip_and_scrypt_scaling() -> None:
    h = bytes(range(32))
    assert prevhash_from_stratum(prevhash_to_stratum(h)) == h
    assert prevhash_to_stratum(h)[:8] == "03020100"
    assert difficulty_to_target(1, scrypt=True) == difficulty_to_target(1) * 65536
    assert difficulty_to_target(1e-8) > difficulty_to_target(1)
    with pytest.raises(ValueError):
        difficulty_to_target(0)


@pytest.mark.parametrize(
    "line",
    [b"", b"{", b"[]", b'"x"', b'{"method": 5}', b'{"id": 1}', b'{"method":"a","params":5}', b"x" * 20000],
)
def test_bad_lines_are_protocol_errors(line: bytes) -> None:
    with pytest.raises(StratumProtocolError):
        decode_line(line)


@pytest.mark.parametrize(
    "params",
    [
        [],
        ["1", "00" * 31, "", "", [], "20000000", "1d00ffff", "00000000", True],
        ["1", "00" * 32, "zz", "", [], "20000000", "1d00ffff", "00000000", True],
        ["1", "00" * 32, "", "", ["00"], "20000000", "1d00ffff", "00000000", True],
        ["1", "00" * 32, "", "", [], "2000000", "1d00ffff", "00000000", True],
        ["", "00" * 32, "", "", [], "20000000", "1d00ffff", "00000000", True],
    ],
)
def test_bad_notify_rejected(params: list[object]) -> None:
    with pytest.raises(ValueError):
        Job.from_notify(params)
