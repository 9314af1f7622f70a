"""cgminer API contract: request/response JSON shape per command, access control, pool commands."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from hashforge.consensus.params import DEVNET
from hashforge.miner.api import REPORTS, MinerAPI, parse_allow, parse_groups
from hashforge.up.operation import Operation, Ports

from .helpers import Running, make_miner, stratum, until
from .stratum_server import StratumTestServer

STATUS_KEYS = {"STATUS", "When", "Code", "Msg", "Description"}
SUMMARY_KEYS = {
    "Elapsed", "MHS av", "MHS 5s", "MHS 1m", "MHS 5m", "MHS 15m", "Found Blocks", "Getworks", "Accepted",
    "Rejected", "Hardware Errors", "Utility", "Discarded", "Stale", "Get Failures", "Local Work",
    "Remote Failures", "Network Blocks", "Total MH", "Work Utility", "Difficulty Accepted",
    "Difficulty Rejected", "Difficulty Stale", "Best Share", "Device Hardware%", "Device Rejected%",
    "Pool Rejected%", "Pool Stale%", "Last getwork",
}
POOL_KEYS = {
    "POOL", "URL", "Status", "Priority", "Quota", "Long Poll", "Getworks", "Accepted", "Rejected", "Works",
    "Discarded", "Stale", "Get Failures", "Remote Failures", "User", "Last Share Time", "Diff1 Shares",
    "Proxy Type", "Proxy", "Difficulty Accepted", "Difficulty Rejected", "Difficulty Stale",
    "Last Share Difficulty", "Work Difficulty", "Has Stratum", "Stratum Active", "Stratum URL",
    "Stratum Difficulty", "Has Vmask", "Has GBT", "Best Share", "Pool Rejected%", "Pool Stale%", "Bad Work",
    "Current Block Height", "Current Block Version",
}
DEV_KEYS = {
    "CPU", "Name", "ID", "Enabled", "Status", "Temperature", "MHS av", "MHS 5s", "MHS 1m", "MHS 5m", "MHS 15m",
    "Accepted", "Rejected", "Hardware Errors", "Utility", "Last Share Pool", "Last Share Time", "Total MH",
    "Diff1 Work", "Difficulty Accepted", "Difficulty Rejected", "Last Share Difficulty", "Last Valid Work",
    "Device Hardware%", "Device Rejected%", "Device Elapsed",
}


async def ask(port: int, request: str | bytes, source: str | None = None) -> tuple[Any, bytes]:
    """One request; `source`: the local address to connect from (127.0.0.2 is another loopback host)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0) if source else None)
    writer.write(request.encode() if isinstance(request, str) else request)
    await writer.drain()
    raw = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    assert raw.endswith(b"\x00")  # cgminer sends the terminating NUL
    text = raw[:-1]
    try:
        return json.loads(text), raw
    except ValueError:
        return text.decode(), raw


def _status(reply: dict[str, Any], sev: str = "S") -> dict[str, Any]:
    assert isinstance(reply["STATUS"], list) and len(reply["STATUS"]) == 1
    st: dict[str, Any] = reply["STATUS"][0]
    assert st["STATUS"] == sev, st
    assert STATUS_KEYS - {"Description"} <= set(st)
    assert reply["id"] == 1
    return st


def test_api_reports_and_pool_commands() -> None:
    async def go() -> None:
        a = await StratumTestServer(difficulty=1e-4, prefix="a").start()
        b = await StratumTestServer(difficulty=1e-4, prefix="b").start()
        miner = make_miner([stratum(0, a.url), stratum(1, b.url)])
        api = MinerAPI(miner, "127.0.0.1:0", ("W:127.0.0.1",), "test rig")
        port = await api.start()
        async with Running(miner):
            await until(lambda: miner.totals.shares.accepted >= 2, what="shares")

            r, _ = await ask(port, '{"command":"version"}')
            assert _status(r)["Msg"] == "CGMiner versions" and _status(r)["Code"] == 22
            assert set(r["VERSION"][0]) >= {"CGMiner", "API"}

            r, _ = await ask(port, '{"command":"summary"}')
            st = _status(r)
            assert st["Code"] == 11 and st["Msg"] == "Summary" and st["Description"] == "test rig"
            (s,) = r["SUMMARY"]
            assert set(s) >= SUMMARY_KEYS
            assert s["Accepted"] >= 2 and s["MHS av"] > 0 and s["Hardware Errors"] == 0

            r, _ = await ask(port, '{"command":"devs"}')
            assert _status(r)["Code"] == 9
            (d,) = r["DEVS"]
            assert set(d) >= DEV_KEYS and d["CPU"] == 0 and d["Enabled"] == "Y" and d["Status"] == "Alive"
            assert d["Temperature"] is None or isinstance(d["Temperature"], float)  # never an invented value

            r, _ = await ask(port, '{"command":"pools"}')
            st = _status(r)
            assert st["Code"] == 7 and st["Msg"] == "2 Pool(s)"
            assert [p["POOL"] for p in r["POOLS"]] == [0, 1]
            assert all(set(p) >= POOL_KEYS for p in r["POOLS"])
            assert r["POOLS"][0]["Status"] == "Alive" and r["POOLS"][0]["Has Stratum"] is True
            assert r["POOLS"][0]["Stratum Active"] is True and r["POOLS"][0]["Has Vmask"] is True

            r, _ = await ask(port, '{"command":"stats"}')
            assert _status(r)["Code"] == 70
            assert [x["ID"] for x in r["STATS"]] == ["CPU0", "POOL0", "POOL1"]

            r, _ = await ask(port, '{"command":"config"}')
            (c,) = r["CONFIG"]
            assert c["Pool Count"] == 2 and c["Strategy"] == "Failover" and "OS" in c

            # several reports at once (API 3.1+): one section per command
            r, _ = await ask(port, '{"command":"summary+devs"}')
            assert set(r) == {"summary", "devs", "id"}
            assert r["summary"][0]["SUMMARY"][0]["Accepted"] >= 2 and r["devs"][0]["DEVS"]

            # the text form: STATUS=S,...|SUMMARY,...|
            text, _ = await ask(port, "summary")
            assert text.startswith("STATUS=S,When=") and "|Elapsed=" in text

            # errors
            r, _ = await ask(port, '{"command":"nonsense"}')
            assert _status(r, "E")["Code"] == 14 and "Description" not in r["STATUS"][0]
            r, _ = await ask(port, '{"command": ')
            assert _status(r, "E")["Code"] == 23
            r, _ = await ask(port, '{"parameter":"1"}')
            assert _status(r, "E")["Code"] == 24
            r, _ = await ask(port, '{"command":"switchpool","parameter":"9"}')
            assert _status(r, "E")["Code"] == 26

            # pool commands
            r, _ = await ask(port, '{"command":"switchpool","parameter":"1"}')
            assert _status(r)["Msg"] == f"Switching to pool 1:'{b.url}'"
            await until(lambda: len(b.accepted()) >= 1, what="shares to pool 1")
            r, _ = await ask(port, '{"command":"disablepool","parameter":"0"}')
            assert _status(r)["Code"] == 48
            r, _ = await ask(port, '{"command":"disablepool","parameter":"1"}')
            assert _status(r, "E")["Code"] == 51  # the last enabled pool stays
            r, _ = await ask(port, '{"command":"removepool","parameter":"1"}')
            assert _status(r, "E")["Code"] == 67  # the active pool cannot go
            r, _ = await ask(port, '{"command":"enablepool","parameter":"0"}')
            assert _status(r)["Code"] == 47
            r, _ = await ask(port, f'{{"command":"addpool","parameter":"{a.url},w2,x"}}')
            assert _status(r)["Code"] == 55
            await until(lambda: len(miner.pools.pools) == 3 and miner.pools.pool(2).status.value == "Alive",
                        what="the added pool alive")
            r, _ = await ask(port, '{"command":"removepool","parameter":"2"}')
            assert _status(r)["Code"] == 68 and len(miner.pools.pools) == 2
            r, _ = await ask(port, '{"command":"addpool","parameter":"only-a-url"}')
            assert _status(r, "E")["Code"] == 53

            r, _ = await ask(port, '{"command":"quit"}')
            assert r == {"STATUS": "BYE", "id": 1}
            await until(lambda: miner._stop.is_set(), what="quit")
        await api.stop()
        await a.stop()
        await b.stop()

    asyncio.run(go())


def test_privileged_commands_need_W_access() -> None:
    async def go() -> None:
        server = await StratumTestServer(difficulty=1e-4).start()
        miner = make_miner([stratum(0, server.url)])
        api = MinerAPI(miner, "127.0.0.1:0", ())  # default: loopback, read-only
        port = await api.start()
        async with Running(miner):
            for cmd in ("switchpool", "enablepool", "disablepool", "addpool", "removepool", "restart", "quit"):
                r, _ = await ask(port, json.dumps({"command": cmd, "parameter": "0"}))
                st = _status(r, "E")
                assert st["Code"] == 45 and st["Msg"] == f"Access denied to '{cmd}' command"
            r, _ = await ask(port, '{"command":"summary"}')
            _status(r)
        await api.stop()
        await server.stop()
        assert not miner.restart_requested

    asyncio.run(go())


def test_api_allow_syntax() -> None:
    acl = parse_allow(["W:127.0.0.1", "R:10.0.0/24", "192.168.1.7", "W:0/0", "P:10.1.0.0/16", "Q:10.2.0.1"], ("P",))
    assert [(str(a.network), a.group) for a in acl] == [
        ("127.0.0.1/32", "W"), ("10.0.0.0/24", "R"), ("192.168.1.7/32", "R"), ("0.0.0.0/0", "W"),
        ("10.1.0.0/16", "P"), ("10.2.0.1/32", "R")]  # Q names no group: read-only, as in cgminer
    assert [a.privileged for a in acl[:2]] == [True, False]
    api = MinerAPI(object(), "127.0.0.1:0", ("R:10.0.0/24",))
    assert api.access("10.0.0.9") == "R" and api.access("127.0.0.1") is None
    assert MinerAPI(object(), "127.0.0.1:0", ()).access("10.0.0.9") is None
    assert MinerAPI(object(), "127.0.0.1:0", ()).access("127.0.0.1") == "R"  # default: loopback, read-only


def test_api_groups_syntax() -> None:
    groups = parse_groups(["P:switchpool:enablepool:*", "Q:quit,S:summary"])
    assert groups["P"] == {"switchpool", "enablepool", *REPORTS} and groups["Q"] == {"quit"}
    assert groups["S"] == {"summary"}
    for bad in ("W:quit", "R:summary", "P:bogus", "PP:quit", "P:quit,P:restart", "quit"):
        with pytest.raises(ValueError):
            parse_groups([bad])


def test_addpool_needs_W_and_the_pool_list_is_unchanged_without_it() -> None:
    """Issue 17 item 5: any local process answered `Added pool 1`. Now only an address the operator
    lists with W: may add (or remove, switch, quit); others get cgminer's access-denied reply."""
    async def go() -> None:
        server = await StratumTestServer(difficulty=1e-4).start()
        miner = make_miner([stratum(0, server.url)])
        api = MinerAPI(miner, "127.0.0.1:0", ("W:127.0.0.1", "R:127.0.0.0/8"))
        port = await api.start()
        attack = json.dumps({"command": "addpool", "parameter": "stratum+tcp://127.0.0.1:9,attacker.w,x"})
        async with Running(miner):
            before = [p.url for p in miner.pools.pools]
            for cmd, param in (("addpool", "stratum+tcp://127.0.0.1:9,attacker.w,x"), ("removepool", "0"),
                               ("switchpool", "0"), ("disablepool", "0"), ("quit", ""), ("restart", ""),
                               ("privileged", ""), ("gpuenable", "0"), ("pgadisable", "0"), ("save", "")):
                r, _ = await ask(port, json.dumps({"command": cmd, "parameter": param}), source="127.0.0.2")
                st = _status(r, "E")
                assert (st["Code"], st["Msg"]) == (45, f"Access denied to '{cmd}' command"), cmd
            text, _ = await ask(port, "addpool|stratum+tcp://127.0.0.1:9,attacker.w,x", source="127.0.0.2")
            assert "Code=45" in text and "Access denied to 'addpool' command" in text  # the text form too
            r, _ = await ask(port, '{"command":"summary"}', source="127.0.0.2")
            _status(r)  # reports still answer
            assert [p.url for p in miner.pools.pools] == before
            assert not miner.restart_requested and not miner._stop.is_set()
            # the operator's W: address may
            r, _ = await ask(port, '{"command":"privileged"}')
            assert (_status(r)["Code"], _status(r)["Msg"]) == (46, "Privileged access OK")
            r, _ = await ask(port, attack)
            assert _status(r)["Msg"] == "Added pool 1: 'stratum+tcp://127.0.0.1:9'"
            assert len(miner.pools.pools) == 2
            r, _ = await ask(port, '{"command":"gpuenable","parameter":"0"}')
            assert _status(r, "E")["Code"] == 14  # permitted, but no such knob here
        await api.stop()
        await server.stop()

    asyncio.run(go())


def test_up_lets_the_dashboard_control_pools_and_nothing_more(tmp_path: Path) -> None:
    """`hashforge up`'s miner flags: the three pool controls the dashboard uses (through /v1 with a
    control key), and no addpool/removepool/quit/restart for any local process."""
    op = Operation(DEVNET, tmp_path, Ports(18500, 3400, 8500, 8501, 4100, 8502), None, True)
    argv = op.miner_part().argv
    allow = tuple(argv[i + 1] for i, a in enumerate(argv) if a == "--api-allow")
    groups = tuple(argv[i + 1] for i, a in enumerate(argv) if a == "--api-groups")
    assert not any(a.upper().startswith("W:") for a in allow)

    async def go() -> None:
        a = await StratumTestServer(difficulty=1e-4, prefix="a").start()
        b = await StratumTestServer(difficulty=1e-4, prefix="b").start()
        miner = make_miner([stratum(0, a.url), stratum(1, b.url)])
        api = MinerAPI(miner, "127.0.0.1:0", allow, groups=groups)
        port = await api.start()
        async with Running(miner):
            for cmd, param in (("addpool", f"{a.url},attacker.w,x"), ("removepool", "1"), ("quit", ""),
                               ("restart", ""), ("privileged", "")):
                r, _ = await ask(port, json.dumps({"command": cmd, "parameter": param}))
                assert _status(r, "E")["Code"] == 45, cmd
            assert len(miner.pools.pools) == 2 and not miner.restart_requested
            for cmd, code in (("switchpool", 27), ("disablepool", 48), ("enablepool", 47)):
                r, _ = await ask(port, json.dumps({"command": cmd, "parameter": "1" if cmd == "switchpool" else "0"}))
                assert _status(r)["Code"] == code, cmd
            r, _ = await ask(port, '{"command":"summary+pools"}')
            assert r["pools"][0]["POOLS"] and r["summary"][0]["SUMMARY"]
        await api.stop()
        await a.stop()
        await b.stop()

    asyncio.run(go())
