"""Hybrid mining: a CPU device and an OpenCL device (PoCL's CPU device in CI) mine the same
job of hashforge's own pool (`hashforge pool` on a devnet node) at the same time.

- the work units they are cut never overlap (no (job, extranonce2, version, nonce) hashed twice)
  and no (extranonce2, ntime, nonce, version) is submitted twice;
- the totals are the devices' sums (hashes, accepted shares) and each device counts its own;
- shares from both devices are accepted by the pool, in-process and through `hashforge mine
  --device cpu:1,opencl:0` (per-device Accepted from the cgminer API's `devs`).

PoCL hashes about 1-2 MH/s here, so the pool starts at a tiny share difficulty.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx
import pytest

from hashforge.consensus.address import script_to_address
from hashforge.consensus.params import get_params
from hashforge.kernels import ScanResult
from hashforge.miner import DeviceOptions, Miner, MinerConfig, build_devices
from hashforge.miner.devices import Device
from hashforge.miner.errors import DeviceError
from hashforge.miner.work import Share, ShareResult, WorkUnit
from hashforge.pool.apiguard import COOKIE_FILE, read_cookie
from tests.helpers.nodeproc import NodeProcess, free_port

from .helpers import Running, stratum, until

# PoCL compiles into ~/.cache/pocl by default, which may not be writable (as tests/gpu/conftest.py)
os.environ.setdefault("POCL_CACHE_DIR", str(Path(tempfile.gettempdir()) / f"hashforge-pocl-{os.getuid()}"))

DEVNET = get_params("devnet")
ADDRESS = script_to_address(bytes.fromhex("0014") + bytes(range(20)), DEVNET) or ""
MIN_SECONDS = 4.0  # the in-process run mines at least this long
START_DIFFICULTY = "0.00002"  # about one share per 86k hashes: PoCL finds several a second


def _devices_or_skip(spec: str) -> list[Device]:
    try:
        return build_devices(spec, DeviceOptions())
    except DeviceError as exc:
        pytest.skip(f"hybrid test needs pyopencl and an OpenCL device (pip install pyopencl "
                    f"pocl-binary-distribution): {exc}")


@dataclass
class PoolProcs:
    node: NodeProcess
    stratum_url: str
    api_url: str
    log: Path
    api_cookie: Path  # the pool API's secret (DATADIR/api.cookie)


def _spawn(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as f:
        return subprocess.Popen([sys.executable, "-m", "hashforge", *args], stdout=f, stderr=subprocess.STDOUT,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})


def _stop(p: subprocess.Popen[bytes]) -> None:
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PoolProcs]:
    _devices_or_skip("opencl:0")  # skip before starting processes when there is no OpenCL
    tmp = tmp_path_factory.mktemp("hybrid")
    node = NodeProcess(tmp / "devnet", "devnet").start()
    port, api = free_port(), free_port()
    log = tmp / "pool.log"
    # This is about the hybrid miner, not vardiff: keep shares cheap enough that the slow PoCL device
    # finds its own within seconds even after vardiff has tuned to the fast CPU device.
    conf = tmp / "pool.toml"
    conf.write_text(f"[vardiff]\nmax_difficulty = {float(START_DIFFICULTY) * 10}\n")
    proc = _spawn(["pool", "--config", str(conf), "--network", "devnet", "--node-rpc", node.url, "--node-cookie", str(node.datadir / ".cookie"),
                   "--stratum-port", str(port), "--stratum-host", "127.0.0.1", "--api-port", str(api),
                   "--scheme", "solo", "--datadir", str(tmp / "pool"), "--start-difficulty", START_DIFFICULTY], log)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise AssertionError(f"pool did not start:\n{log.read_text()[-3000:]}") from None
                time.sleep(0.2)
        yield PoolProcs(node, f"stratum+tcp://127.0.0.1:{port}", f"http://127.0.0.1:{api}", log,
                        tmp / "pool" / COOKIE_FILE)
    finally:
        _stop(proc)
        node.stop()
    assert proc.returncode == 0, log.read_text()[-3000:]


def _pool_shares(pool: PoolProcs, worker: str) -> int:
    rows = httpx.get(f"{pool.api_url}/v1/pool/workers", auth=read_cookie(pool.api_cookie), timeout=10).json()
    return sum(int(r["shares"]) for r in rows if r["address"] == ADDRESS and r["worker"] == worker)


def _record_units(device: Device, units: list[WorkUnit]) -> None:
    scan = device.scan

    def recording(unit: WorkUnit) -> ScanResult:
        units.append(unit)  # list.append is atomic: safe from the device's thread
        return scan(unit)

    setattr(device, "scan", recording)  # noqa: B010 - instance override, seen by ThreadedDevice._run


def _assert_disjoint(units_by_device: dict[str, list[WorkUnit]]) -> None:
    """No (source, job, extranonce1, extranonce2, version, nonce) is in two units."""
    ranges: dict[tuple[Any, ...], list[tuple[int, int, str]]] = defaultdict(list)
    for name, units in units_by_device.items():
        for u in units:
            for v in u.versions:
                key = (u.work.source, u.work.job_id, u.work.extranonce1, u.extranonce2, v)
                ranges[key].append((u.nonce_start, u.nonce_end, name))
    for key, spans in ranges.items():
        spans.sort()
        for (a0, a1, an), (b0, b1, bn) in pairwise(spans):
            assert a1 <= b0, f"{an} [{a0}, {a1}) and {bn} [{b0}, {b1}) overlap on {key}"
    # hybrid split: device slot s of 2 takes extranonce2 = 2k + s, in every job
    en2 = [{u.extranonce2 for u in units} for units in units_by_device.values()]
    assert en2[0] and en2[1] and not en2[0] & en2[1], "two devices mined the same coinbase (extranonce2)"


def test_cpu_and_opencl_mine_one_job_disjointly_and_both_reach_the_pool(pool: PoolProcs) -> None:
    devices = _devices_or_skip("cpu:1,opencl:0")
    cpu, gpu = devices
    assert (cpu.name, gpu.name) == ("CPU0", "OPENCL0") and (cpu.slot, gpu.slot) == (0, 1)
    units: dict[str, list[WorkUnit]] = {d.name: [] for d in devices}
    for d in devices:
        _record_units(d, units[d.name])
    submitted: list[tuple[str, str, bytes, int, int, int]] = []  # device, job id, en2, ntime, nonce, version
    source = stratum(0, pool.stratum_url, user=f"{ADDRESS}.hybrid")
    submit = source.submit

    async def recording_submit(share: Share) -> ShareResult:
        submitted.append((share.device, share.work.job_id, share.extranonce2, share.ntime, share.nonce, share.version))
        return await submit(share)

    setattr(source, "submit", recording_submit)  # noqa: B010
    miner = Miner(MinerConfig(api_listen=None), devices=devices, sources=[source])

    async def go() -> float:
        t0 = time.monotonic()
        async with Running(miner):
            await until(lambda: all(d.stats.shares.accepted >= 2 for d in devices), timeout=90,
                        what="accepted shares from both devices")
            await asyncio.sleep(max(0.0, MIN_SECONDS - (time.monotonic() - t0)))  # many units each
        return time.monotonic() - t0

    elapsed = asyncio.run(go())
    # no duplicated work: units never overlap, every submitted share is a different header
    _assert_disjoint(units)
    assert len(set(s[1:] for s in submitted)) == len(submitted), "a share was submitted twice in one job"
    by_header: dict[tuple[bytes, int, int, int], set[str]] = defaultdict(set)
    for name, _job, en2, ntime, nonce, version in submitted:
        by_header[(en2, ntime, nonce, version)].add(name)
    assert all(len(names) == 1 for names in by_header.values()), "both devices submitted one header"
    # (across jobs one device may, rarely, repeat a header: when the pool re-issues an unchanged
    # job under a new job id the scheduler's per-job cursors start over; the pool rejects it)
    assert {s[0] for s in submitted} == {"CPU0", "OPENCL0"}
    # the totals are the sums; each device counts exactly the hashes of the units it scanned
    for d in devices:
        assert d.stats.meter.total == sum(u.hashes for u in units[d.name]) > 0, d.name
    assert miner.total_hashes() == cpu.stats.meter.total + gpu.stats.meter.total
    totals = miner.totals.shares
    for field in ("accepted", "rejected", "stale"):
        assert getattr(totals, field) == sum(getattr(d.stats.shares, field) for d in devices), field
    assert miner.pools.pools[0].shares.accepted == totals.accepted
    assert miner.hardware_errors() == 0
    # each device's own counts match the shares it submitted
    for d in devices:
        mine = sum(1 for s in submitted if s[0] == d.name)
        sh = d.stats.shares
        assert 2 <= sh.accepted <= mine and sh.accepted + sh.rejected <= mine, (d.name, mine)
    # the pool recorded the accepted shares under the worker
    deadline = time.monotonic() + 15
    while _pool_shares(pool, "hybrid") < totals.accepted and time.monotonic() < deadline:
        time.sleep(0.3)
    assert _pool_shares(pool, "hybrid") == totals.accepted >= 4
    rates = {d.name: d.stats.meter.total / elapsed for d in devices}
    print(f"\nhybrid in-process: {elapsed:.1f}s, units {({k: len(v) for k, v in units.items()})}, "
          f"rates H/s {rates}, accepted {({d.name: d.stats.shares.accepted for d in devices})}, "
          f"pool shares {_pool_shares(pool, 'hybrid')}")


def _cgminer(port: int, command: str) -> dict[str, Any]:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(json.dumps({"command": command}).encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return json.loads(data.rstrip(b"\x00"))  # type: ignore[no-any-return]


def test_hashforge_mine_cpu_plus_opencl_per_device_shares(pool: PoolProcs, tmp_path: Path) -> None:
    api = free_port()
    log = tmp_path / "miner.log"
    proc = _spawn(["mine", "-o", pool.stratum_url, "-u", f"{ADDRESS}.cli", "-p", "x", "--device", "cpu:1,opencl:0",
                   "--quiet", "--api-listen", f"127.0.0.1:{api}"], log)
    reply: dict[str, Any] = {}
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.5)
            try:
                reply = _cgminer(api, "summary+devs+devdetails")
            except (OSError, ValueError):
                continue
            if all(int(d["Accepted"]) >= 2 for d in reply["devs"][0]["DEVS"]):
                break
    finally:
        _stop(proc)
    out = log.read_text()[-3000:]
    assert proc.returncode == 0, out
    devs = reply["devs"][0]["DEVS"]
    assert [(d["Name"], d["ID"]) for d in devs] == [("CPU", 0), ("OPENCL", 0)], devs
    assert all(int(d["Accepted"]) >= 2 for d in devs), (devs, out)
    assert all(d["Hardware Errors"] == 0 for d in devs), devs
    summary = reply["summary"][0]["SUMMARY"][0]
    assert int(summary["Accepted"]) == sum(int(d["Accepted"]) for d in devs)
    details = reply["devdetails"][0]["DEVDETAILS"]
    gpu = next(d for d in details if d["Name"] == "OPENCL")
    assert gpu["Device"] and gpu["Intensity"] >= 1 and gpu["Kernel"] == "sha256d/opencl:0", gpu
    assert _pool_shares(pool, "cli") >= 1
    print(f"\nhybrid CLI: accepted {({d['Name']: d['Accepted'] for d in devs})}, "
          f"MHS av {({d['Name']: d['MHS av'] for d in devs})}")
