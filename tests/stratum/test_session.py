"""Stratum session helpers: subscribe results, BIP310 negotiation, submit params, urls."""

from __future__ import annotations

import pytest

from hashforge.stratum import (
    SubscribeResult,
    negotiated_version_mask,
    parse_stratum_url,
    parse_version_mask,
    submit_params,
    version_rolling_request,
)
from tests.vectorfiles import load_json

V = load_json("stratum_shares.json")["v1_public_pool_testnet_share"]


def test_subscribe_result_forms() -> None:
    r = SubscribeResult.from_result([[["mining.set_difficulty", "a"], ["mining.notify", "b"]], "57a6f098", 4])
    assert r == SubscribeResult("b", bytes.fromhex("57a6f098"), 4)
    assert SubscribeResult.from_result(r.to_result()) == SubscribeResult("b", r.extranonce1, 4)
    assert SubscribeResult.from_result([["mining.notify", "x"], "", 8]).subscription_id == "x"
    assert SubscribeResult.from_result([None, "00", 0]).subscription_id is None
    for bad in ([], [[], "zz", 4], [[], "0", 4], [[], "00", -1], [[], "00", True], [[], 5, 4], "x"):
        with pytest.raises(ValueError):
            SubscribeResult.from_result(bad)


def test_version_rolling_negotiation_from_the_capture() -> None:
    assert version_rolling_request(0xFFFFFFFF)[1]["version-rolling.mask"] == "ffffffff"
    assert negotiated_version_mask(V["configure_response"]["result"]) == 0x1FFFE000
    assert negotiated_version_mask(V["configure_response"]["result"], 0x00FFE000) == 0x00FFE000
    assert negotiated_version_mask({"version-rolling": False}) == 0
    assert negotiated_version_mask({"version-rolling": True, "version-rolling.mask": "xyz"}) == 0
    assert negotiated_version_mask(None) == 0
    assert parse_version_mask("1fffe000") == 0x1FFFE000
    with pytest.raises(ValueError):
        parse_version_mask("1fff")


def test_submit_params_reproduce_the_capture() -> None:
    worker, job_id, en2, ntime, nonce, bits = V["submit_params"]
    version = 0x20000000 | int(bits, 16)
    assert submit_params(worker, job_id, bytes.fromhex(en2), int(ntime, 16), int(nonce, 16), version,
                         0x1FFFE000) == V["submit_params"]
    assert len(submit_params("w", "1", b"", 0, 0)) == 5


def test_stratum_urls() -> None:
    u = parse_stratum_url("stratum+ssl://user:p%40ss@pool.example:443")
    assert (u.host, u.port, u.tls, u.user, u.password) == ("pool.example", 443, True, "user", "p@ss")
    assert str(u) == "stratum+ssl://pool.example:443"
    assert parse_stratum_url("pool.example:3333").tls is False
    assert parse_stratum_url("stratum+tcp://[::1]:3333").host == "::1"
    for bad in ("http://pool:80", "stratum+tcp://:3333", "stratum+tcp://h:99999"):
        with pytest.raises(ValueError):
            parse_stratum_url(bad)
