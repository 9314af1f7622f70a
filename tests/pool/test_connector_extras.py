"""TLS port, the handshake timeout, new work within 1 s of a new tip, scrypt shares."""

from __future__ import annotations

import asyncio
import datetime
import ssl
import time
from dataclasses import replace
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from hashforge.consensus.params import get_params
from hashforge.consensus.pow import bits_to_target
from hashforge.kernels import scan_scrypt
from hashforge.pool.config import Scheme
from hashforge.pool.service import PoolService, pow_function
from hashforge.pool.shares import Submission, check_share
from hashforge.stratum import Job, difficulty_to_target
from tests.helpers.nodeproc import NodeProcess, free_port

from .harness import MINER_ADDR, Client, pool_config, running_pool
from .test_end_to_end import config, node

__all__ = ["node"]


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_tls_port_and_handshake_timeout(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    tls_port = free_port()
    cfg = pool_config(tmp_path, tls_port=tls_port, tls_cert=cert, tls_key=key, handshake_timeout=1.0)

    async def main() -> None:
        async with running_pool(tmp_path, cfg) as h:
            ctx = ssl.create_default_context(cafile=str(cert))
            ctx.check_hostname = False
            r, w = await asyncio.open_connection("127.0.0.1", tls_port, ssl=ctx)
            c = Client(r, w)
            await c.login(MINER_ADDR + ".tls")
            assert c.job is not None
            # a plain connection that never subscribes is closed after the handshake timeout
            idle = await Client.connect(h.port)
            t0 = time.monotonic()
            assert await asyncio.wait_for(idle.reader.read(), 5) == b""
            assert time.monotonic() - t0 < 3.0
            # ...while the subscribed TLS session stays
            assert (await c.call("mining.extranonce.subscribe", []))["result"] is True
            c.close()

    asyncio.run(asyncio.wait_for(main(), 30))


def test_new_tip_reaches_miners_within_a_second(node: NodeProcess, tmp_path: Path) -> None:
    async def main() -> None:
        cfg = config(node, tmp_path, Scheme.SOLO, None, 9)
        cfg = replace(cfg, stratifier=replace(cfg.stratifier, tip_poll_interval=0.25))
        svc = PoolService(cfg, maintenance_interval=3600)
        svc.generator.longpoll_rpc = None  # tip polling alone must be enough
        await svc.start()
        try:
            c = await Client.connect(svc.stratum_port)
            await c.login(_addr() + ".w")
            t0 = time.monotonic()
            await asyncio.to_thread(node.call, "generatetoaddress", 1, _addr())
            while True:
                note = await c.wait_note("mining.notify", timeout=5)
                if note["params"][8] is True:
                    break
            assert time.monotonic() - t0 < 1.0
            c.close()
        finally:
            await svc.stop()

    asyncio.run(asyncio.wait_for(main(), 30))


def _addr() -> str:
    from .test_end_to_end import addr

    return addr(0x7777)


def test_scrypt_share_uses_scaled_difficulty() -> None:
    params = get_params("scryptnet")
    pow_fn = pow_function(params)
    job = Job("s", b"\x01" * 32, b"\x01" * 40, b"\x02" * 40, (), 0x20000000, 0x1D00FFFF, 1_700_000_000, True)
    en1, en2 = b"\x00\x00\x00\x01", b"\x00" * 8
    d = 0.01  # scrypt pool difficulty: target = diff1 * 2^16 / d
    target = difficulty_to_target(d, scrypt=True)
    found = scan_scrypt(job.header(en1, en2, job.time, 0)[:76], target, 0, 1 << 14)
    assert found.nonces
    sub = Submission("w", "s", en2.hex(), f"{job.time:08x}", f"{found.nonces[0]:08x}", None)
    share = check_share(job, en1, sub, extranonce2_size=8, version_mask=0, share_target=target,
                        network_target=bits_to_target(job.bits), now=job.time, pow_fn=pow_fn, scrypt=True)
    assert share.hash_difficulty >= d and not share.is_block
