"""Issue 17's chaos test: `hashforge up` on devnet (PPLNS, payouts every 15 s) for a few minutes
while parts are killed with SIGKILL (the node too, so its cookie changes) and its listeners are
attacked; then nothing acknowledged is lost and everything still runs. bench/chaos.py is the
long version with the same counts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.chaos import ATTACKS, run_chaos

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def test_up_survives_kills_and_attacks_losing_nothing(tmp_path: Path) -> None:
    report = run_chaos(tmp_path, seconds=150, seed=17, kill_every=(8.0, 16.0), progress=print)
    print(json.dumps(report.as_json(), indent=1))
    assert sum(report.kills.values()) >= 6 and len(report.kills) >= 3, report.kills
    assert "node" in report.kills  # a restarted node writes a new cookie: every client must follow
    assert report.up_alive and all(report.parts_alive.values()), (report.parts_alive, report.up_errors)
    assert report.restarts_reported >= sum(report.kills.values())
    assert report.attacks == {name: "held" for name in ATTACKS}
    assert report.blocks_found > 0 and report.blocks_lost == []
    assert report.blocks_on_chain + report.blocks_orphaned + report.blocks_rejected == report.blocks_found
    assert report.shares_acknowledged > 0 and report.shares_lost == []
    assert report.shares_stored == report.shares_acknowledged
    assert report.payouts > 0  # the double-payment checks below had something to check
    assert report.payouts_paid_twice == [] and report.overpaid_addresses == []
