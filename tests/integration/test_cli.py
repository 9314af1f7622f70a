"""The `hashforge` console script, run for real in a subprocess: headers verify, up, --version."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from hashforge import __version__
from hashforge.consensus.block import BlockHeader
from hashforge.consensus.params import DEVNET, REGTEST
from hashforge.consensus.pow import HeaderInfo, get_next_work_required, mine_header
from tests.vectorfiles import VECTORS

ALT_HEADERS = VECTORS / "bitcoin-core" / "mainnet_alt_headers_0_2016.bin"
SCRIPT = Path(sys.executable).parent / "hashforge"
BASE_CMD = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "hashforge"]


def hashforge(*args: str | Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*BASE_CMD, *map(str, args)], capture_output=True, text=True, timeout=timeout, check=False
    )


def assert_one_line_error(proc: subprocess.CompletedProcess[str], code: int, *fragments: str) -> None:
    assert proc.returncode == code, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    for fragment in fragments:
        assert fragment in lines[0]


# --- independent expectations for the alt-mainnet file -------------------------------------------


def _independent_facts() -> tuple[str, int]:
    """Tip hash and chainwork computed here without hashforge: SHA-256d of the last 80 bytes and
    sum(2^256 // (target + 1)) with targets decoded by hand from the two nBits the file uses."""
    raw = ALT_HEADERS.read_bytes()
    tip = hashlib.sha256(hashlib.sha256(raw[-80:]).digest()).digest()[::-1].hex()
    work = 0
    for off in range(0, len(raw), 80):
        bits = int.from_bytes(raw[off + 72 : off + 76], "little")
        target = (bits & 0xFFFFFF) << (8 * ((bits >> 24) - 3))
        work += (1 << 256) // (target + 1)
    return tip, work


def test_verify_alt_mainnet_headers_text() -> None:
    tip, work = _independent_facts()
    proc = hashforge("headers", "verify", ALT_HEADERS, "--network", "mainnet", "--height", "0")
    assert proc.returncode == 0, proc.stderr
    assert tip in proc.stdout
    assert "2017" in proc.stdout
    assert f"{work:064x}" in proc.stdout and str(work) in proc.stdout
    assert "retargets 1" in proc.stdout


def test_verify_alt_mainnet_headers_json() -> None:
    tip, work = _independent_facts()
    proc = hashforge("headers", "verify", ALT_HEADERS, "--height", "0", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)  # exactly one JSON object
    assert out["ok"] is True
    assert out["network"] == "mainnet"
    assert out["count"] == 2017
    assert out["first_height"] == 0
    assert out["last_height"] == 2016
    assert out["tip_hash"] == tip
    assert out["tip_hash"] == "000000000c806553811fd3e6c40bc9c279db53643da7d3b401a9882c074c24b2"
    assert out["chainwork_hex"] == f"{work:064x}"
    assert int(out["chainwork_decimal"]) == work
    assert out["checked"] == {
        "pow": 2017,
        "links": 2016,
        "bits": 2016,
        "retargets": 1,
        "median_time_past": 2016,
        "timewarp": 0,
        "auxpow": 0,  # always present (a stable schema); non-zero only on merge-mined networks
    }


def test_python_dash_m_entry_point() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "hashforge", "--version"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"hashforge {__version__}"


def test_version() -> None:
    proc = hashforge("--version")
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"hashforge {__version__}"


# --- violations: exit 1, naming height and rule ---------------------------------------------------


@pytest.fixture
def alt_bytes() -> bytes:
    return ALT_HEADERS.read_bytes()


def test_corrupted_byte_fails_proof_of_work(tmp_path: Path, alt_bytes: bytes) -> None:
    data = bytearray(alt_bytes)
    data[80 * 1000 + 40] ^= 0x01  # a merkle-root byte of header 1000
    f = tmp_path / "corrupt.bin"
    f.write_bytes(bytes(data))
    assert_one_line_error(hashforge("headers", "verify", f), 1, "height 1000: high-hash")


def test_broken_link(tmp_path: Path, alt_bytes: bytes) -> None:
    f = tmp_path / "gap.bin"
    f.write_bytes(alt_bytes[: 80 * 500] + alt_bytes[80 * 501 :])  # header 500 missing
    assert_one_line_error(hashforge("headers", "verify", f), 1, "height 500: bad-prevblk")


def test_wrong_start_height_breaks_the_difficulty_rule() -> None:
    proc = hashforge("headers", "verify", ALT_HEADERS, "--height", "1")
    assert_one_line_error(proc, 1, "height 2017: bad-diffbits: expected 1d00ffff, got 1c3fffc0")


def test_wrong_network(alt_bytes: bytes) -> None:
    proc = hashforge("headers", "verify", ALT_HEADERS, "--network", "testnet3")
    assert_one_line_error(proc, 1, "height 0: bad-genesis")


def test_violation_as_json(tmp_path: Path, alt_bytes: bytes) -> None:
    f = tmp_path / "gap.bin"
    f.write_bytes(alt_bytes[: 80 * 7] + alt_bytes[80 * 8 :])
    proc = hashforge("headers", "verify", f, "--json")
    assert proc.returncode == 1
    out = json.loads(proc.stdout)
    assert out["ok"] is False
    assert out["error"]["height"] == 7
    assert out["error"]["reason"] == "bad-prevblk"
    assert out["error"]["message"].startswith("height 7: bad-prevblk: ")


# --- bad input: exit 2, one line -------------------------------------------------------------


def test_truncated_file(tmp_path: Path, alt_bytes: bytes) -> None:
    f = tmp_path / "short.bin"
    f.write_bytes(alt_bytes[:-10])
    assert_one_line_error(hashforge("headers", "verify", f), 2, "not a multiple of 80")


def test_empty_file(tmp_path: Path) -> None:
    f = tmp_path / "empty.bin"
    f.write_bytes(b"")
    assert_one_line_error(hashforge("headers", "verify", f), 2, "empty")


def test_missing_file(tmp_path: Path) -> None:
    assert_one_line_error(hashforge("headers", "verify", tmp_path / "nope.bin"), 2, "no such file")


def test_directory(tmp_path: Path) -> None:
    assert_one_line_error(hashforge("headers", "verify", tmp_path), 2, "is a directory")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file(tmp_path: Path) -> None:
    f = tmp_path / "secret.bin"
    f.write_bytes(b"\x00" * 80)
    f.chmod(0)
    assert_one_line_error(hashforge("headers", "verify", f), 2, "cannot read")


def test_unknown_network() -> None:
    proc = hashforge("headers", "verify", ALT_HEADERS, "--network", "namecoin")
    assert_one_line_error(proc, 2, "unknown network 'namecoin'")


@pytest.mark.parametrize("form", [["--height", "-1"], ["--height=-5"]])
def test_negative_height(form: list[str]) -> None:
    assert_one_line_error(hashforge("headers", "verify", ALT_HEADERS, *form), 2, "must not be negative")


def test_typer_usage_errors_exit_2() -> None:
    proc = hashforge("headers", "verify", ALT_HEADERS, "--no-such-option")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr


# --- our networks --------------------------------------------------------------------------------


def test_verify_devnet_headers_with_asert(tmp_path: Path) -> None:
    chain = [DEVNET.genesis.header]
    t = DEVNET.genesis.header.time + 86400
    for _ in (1, 2):
        infos = {i: HeaderInfo.from_header(h, i) for i, h in enumerate(chain)}
        bits = get_next_work_required(DEVNET, infos[len(chain) - 1], t, infos.__getitem__)
        mined = mine_header(BlockHeader(0x20000000, chain[-1].hash, bytes(32), t, bits, 0), DEVNET)
        assert mined is not None
        chain.append(mined)
        t += 30
    f = tmp_path / "devnet.bin"
    f.write_bytes(b"".join(h.serialize() for h in chain))
    proc = hashforge("headers", "verify", f, "--network", "devnet", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert (out["network"], out["count"], out["tip_hash"]) == ("devnet", 3, chain[-1].hash_hex)
    assert out["checked"]["bits"] == 2


def test_progress_bar_on_a_tty(tmp_path: Path) -> None:
    """A long file on a terminal gets a Rich progress bar on stderr, and still verifies."""
    pty = pytest.importorskip("pty")
    headers = [REGTEST.genesis.header]
    for _ in range(20_000):
        prev = headers[-1]
        h = mine_header(BlockHeader(0x20000000, prev.hash, bytes(32), prev.time + 1, 0x207FFFFF, 0), REGTEST)
        assert h is not None
        headers.append(h)
    f = tmp_path / "regtest.bin"
    f.write_bytes(b"".join(h.serialize() for h in headers))
    master, slave = pty.openpty()
    chunks: list[bytes] = []

    def drain() -> None:  # read while the child writes, so a full pty buffer never blocks it
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO once the child's side is closed
                return
            if not chunk:
                return
            chunks.append(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        proc = subprocess.run(
            [*BASE_CMD, "headers", "verify", str(f), "--network", "regtest"],
            stdout=subprocess.PIPE,
            stderr=slave,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        os.close(slave)
        reader.join(timeout=10)
        os.close(master)
    seen = b"".join(chunks)
    assert proc.returncode == 0, seen.decode(errors="replace")
    assert headers[-1].hash_hex in proc.stdout
    assert b"verifying headers" in seen


# --- hashforge up ----------------------------------------------------------------------------------


def test_up_show_prints_devnet_genesis() -> None:
    proc = hashforge("up", "--show", timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert DEVNET.genesis.hash_hex in proc.stdout


def test_up_show_json() -> None:
    proc = hashforge("up", "--network", "scryptnet", "--show", "--json", timeout=60)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["network"] == "scryptnet"
    assert out["pow_algorithm"] == "scrypt"
    assert out["block_spacing_s"] == 30
    assert out["difficulty"]["rule"] == "aserti3-2d"


def test_up_unknown_network() -> None:
    assert_one_line_error(hashforge("up", "--network", "nope", timeout=60), 2, "unknown network")


def test_bitcoin_node_refuses_litecoin(tmp_path: Path) -> None:
    proc = hashforge("node", "--network", "litecoin-regtest", "--datadir", str(tmp_path / "d"))
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: hashforge ")
    assert "litecoind" in proc.stderr
    assert not (tmp_path / "d").exists()
