"""Initial sync is not held back by the per-peer message rate limit: blocks we requested are bounded
by the download window, so a peer sending them faster than `max_msgs_per_second` is neither cut
off nor punished (a dropped block used to stall the sync until the download timeout)."""

from __future__ import annotations

from pathlib import Path

from .conftest import mine, start_node, wait_until


def test_requested_blocks_pass_a_tight_message_rate_limit(tmp_path: Path) -> None:
    source = start_node(tmp_path / "source")
    try:
        mine(source, 200)
        tip = source.call("getbestblockhash")
        # 20 messages per second (a burst of 40) for everything else: the handshake fits, 200 blocks would not
        sync = start_node(tmp_path / "sync", ["--connect", source.p2p_addr, "--no-listen"], {"p2p_max_msgs_per_second": 20.0})
        try:
            wait_until(lambda: sync.call("getbestblockhash") == tip, 30, "sync under the rate limit")
            assert "message rate limit" not in sync.log()
            assert [p["connection_type"] for p in sync.call("getpeerinfo")] == ["manual"]
        finally:
            sync.stop()
    finally:
        source.stop()
