"""The pool's own share validation path (check_share) against real captures."""

from __future__ import annotations

import pytest

from hashforge.consensus.pow import bits_to_target
from hashforge.pool.errors import ShareRejected
from hashforge.pool.shares import Submission, check_share, sha256d
from hashforge.stratum import Job, StratumErrorCode, difficulty_to_target
from tests.vectorfiles import load_json

SHARES = load_json("stratum_shares.json")


def _public_pool() -> tuple[Job, bytes, Submission, int, dict[str, object]]:
    v = SHARES["v1_public_pool_testnet_share"]
    job = Job.from_notify(v["notify_params"])
    mask = int(v["configure_response"]["result"]["version-rolling.mask"], 16)
    return job, bytes.fromhex(v["subscribe_result_extranonce1"]), Submission.parse(v["submit_params"]), mask, v


def test_captured_share_validates_at_669_87() -> None:
    job, en1, sub, mask, v = _public_pool()
    share = check_share(
        job, en1, sub, extranonce2_size=int(v["extranonce2_size"]), version_mask=mask,  # type: ignore[call-overload]
        share_target=difficulty_to_target(v["suggest_difficulty"]),  # type: ignore[arg-type]
        network_target=bits_to_target(job.bits), now=job.time,
    )
    expected = v["computed_by_anchor_script"]
    assert share.header.hex() == expected["header_hex"]  # type: ignore[index]
    assert share.pow_hash[::-1].hex() == expected["hash"]  # type: ignore[index]
    assert share.hash_difficulty == pytest.approx(669.87, abs=0.005)
    assert share.hash_difficulty == pytest.approx(expected["share_difficulty"], rel=1e-12)  # type: ignore[index]
    assert not share.is_block


def test_captured_share_rejected_above_its_difficulty_and_outside_the_mask() -> None:
    job, en1, sub, mask, _v = _public_pool()
    kw = {"extranonce2_size": 4, "network_target": bits_to_target(job.bits), "now": job.time}
    with pytest.raises(ShareRejected) as e:
        check_share(job, en1, sub, version_mask=mask, share_target=difficulty_to_target(670), **kw)
    assert e.value.code is StratumErrorCode.LOW_DIFFICULTY_SHARE
    with pytest.raises(ShareRejected, match="mask"):
        check_share(job, en1, sub, version_mask=0, share_target=difficulty_to_target(1), **kw)
    with pytest.raises(ShareRejected, match="future"):
        check_share(job, en1, sub, version_mask=mask, share_target=difficulty_to_target(1),
                    extranonce2_size=4, network_target=0, now=job.time - 7201)


def test_derived_block_413567_is_a_block_through_the_pool_path() -> None:
    v = SHARES["v3_block413567_derived"]
    job = Job.from_notify(v["notify_params"])
    sub = Submission("w", job.job_id, v["extranonce2"], v["submit_ntime"], v["submit_nonce"], None)
    share = check_share(job, bytes.fromhex(v["extranonce1"]), sub, extranonce2_size=4, version_mask=0,
                        share_target=difficulty_to_target(1), network_target=bits_to_target(job.bits),
                        now=job.time, pow_fn=sha256d)
    assert share.pow_hash[::-1].hex() == v["expected_block_hash"]
    assert share.is_block
