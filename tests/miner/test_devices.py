"""The device plug-in interface: a second driver beside the CPU (as a GPU driver will be), hybrid
work split, hardware errors, and stratum+ssl."""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
from pathlib import Path

import pytest

from hashforge.kernels import Found, ScanResult
from hashforge.miner import (
    CPUDevice,
    Device,
    DeviceOptions,
    Miner,
    MinerConfig,
    ThreadedDevice,
    build_devices,
)
from hashforge.miner.devices import DRIVERS, register_driver
from hashforge.miner.errors import UnknownDriverError
from hashforge.miner.work import WorkUnit

from .helpers import Running, stratum, until
from .stratum_server import StratumTestServer


class FakeGPU(ThreadedDevice):
    """A plug-in device on the CPU kernels with big units, like a GPU driver would be."""

    driver = "fakegpu"

    def __init__(self, index: int, slot: int, liar: bool = False) -> None:
        super().__init__(index, slot, threads=1)
        self.inner = CPUDevice(index, slot, threads=1)
        self.liar = liar
        self.units: list[WorkUnit] = []

    def initial_nonces(self) -> int:
        return 1 << 18

    def versions_per_unit(self) -> int:
        return 16

    def scan(self, unit: WorkUnit) -> ScanResult:
        self.units.append(unit)
        if self.liar:  # a broken kernel: claims a nonce that does not meet the target
            return ScanResult((Found(unit.versions[0], unit.nonce_start),), unit.hashes)
        return self.inner.scan(unit)


def test_register_a_driver_and_mine_hybrid() -> None:
    register_driver("fakegpu", lambda opts, arg, slot: [FakeGPU(int(arg or 0), slot)])
    try:
        devices = build_devices("cpu:1,fakegpu:0", DeviceOptions())
        assert [d.name for d in devices] == ["CPU0", "FAKEGPU0"] and [d.slot for d in devices] == [0, 1]
        with pytest.raises(UnknownDriverError, match="nosuchgpu"):
            build_devices("cpu,nosuchgpu:0", DeviceOptions())
    finally:
        DRIVERS.pop("fakegpu")

    async def go() -> None:
        server = await StratumTestServer(difficulty=1e-4).start()
        miner = Miner(MinerConfig(api_listen=None), devices=devices, sources=[stratum(0, server.url)])
        async with Running(miner):
            await until(lambda: all(d.stats.shares.accepted >= 2 for d in devices), what="shares from both")
        await server.stop()
        assert all(s.ok for s in server.submissions)
        # disjoint work: the devices never share an extranonce2
        gpu = devices[1]
        assert isinstance(gpu, FakeGPU)
        assert all(int.from_bytes(u.extranonce2, "big") % 2 == 1 for u in gpu.units)
        total = sum(d.stats.shares.accepted for d in devices)
        assert miner.totals.shares.accepted == total

    asyncio.run(go())


def test_a_nonce_that_does_not_verify_is_a_hardware_error() -> None:
    async def go() -> Device:
        server = await StratumTestServer(difficulty=1e6).start()  # a target the liar misses
        liar = FakeGPU(0, 0, liar=True)
        miner = Miner(MinerConfig(api_listen=None), devices=[liar], sources=[stratum(0, server.url)])
        async with Running(miner):
            await until(lambda: liar.stats.hardware_errors >= 3, what="hardware errors")
        await server.stop()
        assert not server.submissions  # never sent to the pool
        return liar

    assert asyncio.run(go()).stats.hardware_errors >= 3


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_stratum_over_tls(tmp_path: Path) -> None:
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)

    async def go() -> None:
        server = StratumTestServer(difficulty=1e-4)
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(cert, key)
        server.server = await asyncio.start_server(server._client, "127.0.0.1", 0, ssl=ctx)
        server.port = int(server.server.sockets[0].getsockname()[1])
        url = f"stratum+ssl://127.0.0.1:{server.port}"
        src = stratum(0, url, tls_ca=cert)
        miner = Miner(MinerConfig(api_listen=None), devices=[CPUDevice(0, 0, threads=1)], sources=[src])
        async with Running(miner):
            await until(lambda: len(server.accepted()) >= 2, what="shares over TLS")
        untrusted = stratum(0, url)  # the system CAs do not know this certificate: no mining
        miner2 = Miner(MinerConfig(api_listen=None), devices=[CPUDevice(0, 0, threads=1)], sources=[untrusted])
        async with Running(miner2):
            await until(lambda: untrusted.get_failures >= 1, what="a refused handshake")
            assert "CERTIFICATE" in untrusted.last_error.upper()
        await server.stop()

    asyncio.run(go())
