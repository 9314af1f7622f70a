"""The browser miner's kernels give hashforge.kernels' answers: the WebAssembly build of the C
scalar kernels (run here with wasmtime) and the plain-JS fallback (run in chromium), on real
block headers (Bitcoin genesis, block 413567 rebuilt from its Stratum job, Litecoin genesis for
scrypt) and on scans over random headers and targets. The page's Stratum arithmetic (difficulty
to target, notify to header) is checked against hashforge.stratum too."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hashforge import kernels
from hashforge.consensus.hashes import hash256, scrypt_pow
from hashforge.consensus.params import MAINNET
from hashforge.kernels.wasm.build import build, compilers
from hashforge.stratum import Job, difficulty_to_target
from tests.unit.test_kernels import LITECOIN_GENESIS
from tests.vectorfiles import load_json

STATIC = Path(__file__).resolve().parents[2] / "src" / "hashforge" / "web" / "static" / "webmine"
BLOCK = load_json("stratum_shares.json")["v3_block413567_derived"]


def block_413567() -> bytes:
    job = Job.from_notify(BLOCK["notify_params"])
    header = job.header(bytes.fromhex(BLOCK["extranonce1"]), bytes.fromhex(BLOCK["extranonce2"]),
                        int(BLOCK["submit_ntime"], 16), int(BLOCK["submit_nonce"], 16))
    assert hash256(header)[::-1].hex() == BLOCK["expected_block_hash"]
    return header


GENESIS = MAINNET.genesis.header.serialize()
SHA_VECTORS = [GENESIS, block_413567(), bytes(range(80)), bytes(80)]
SCRYPT_VECTORS = [LITECOIN_GENESIS, bytes(range(80))]


def random_cases(n: int, seed: int, shift: int) -> list[tuple[bytes, int, int, int]]:
    rng = random.Random(seed)
    cases = []
    for _ in range(n):
        header = rng.randbytes(80)
        target = ((1 << 256) - 1) >> rng.randint(shift, shift + 3)
        start = rng.choice([0, rng.randrange(1 << 32), (1 << 32) - 700])
        cases.append((header, target, start, min(600, (1 << 32) - start)))
    return cases


# ---- WebAssembly (wasmtime) ------------------------------------------------------------------


class Wasm:
    def __init__(self, path: Path) -> None:
        wasmtime = pytest.importorskip("wasmtime", reason="wasmtime is not installed (dev extra)")
        self.store = wasmtime.Store()
        module = wasmtime.Module.from_file(self.store.engine, str(path))
        assert not list(module.imports), "the kernel must be freestanding (no imports)"
        self.ex = wasmtime.Instance(self.store, module, []).exports(self.store)
        self.mem = self.ex["memory"]

    def call(self, name: str, *args: int) -> Any:
        return self.ex[name](self.store, *args)

    def hash(self, algo: int, header: bytes) -> bytes:
        self.mem.write(self.store, header, self.call("hf_header_ptr"))
        self.call("hf_hash", algo)
        p = self.call("hf_hash_ptr")
        return bytes(self.mem.read(self.store, p, p + 32))

    def scan(self, algo: int, header: bytes, target: int, start: int, count: int) -> list[int]:
        self.mem.write(self.store, header, self.call("hf_header_ptr"))
        self.mem.write(self.store, target.to_bytes(32, "little"), self.call("hf_target_ptr"))
        n = self.call("hf_scan", algo, start, count)
        assert n >= 0
        p = self.call("hf_hits_ptr")
        raw = bytes(self.mem.read(self.store, p, p + 8 * min(n, 64)))
        return [int.from_bytes(raw[i + 4:i + 8], "little") for i in range(0, len(raw), 8)]


@pytest.fixture(scope="module")
def wasm(tmp_path_factory: pytest.TempPathFactory) -> Wasm:
    if not compilers():
        pytest.skip("no wasm32 compiler (pip install ziglang)")
    out = build(tmp_path_factory.mktemp("wasm") / "hf_kernels.wasm")  # fresh from the current C sources
    assert out is not None and out.stat().st_size > 1000
    return Wasm(out)


@pytest.mark.parametrize("header", SHA_VECTORS, ids=["genesis", "block413567", "counting", "zeros"])
def test_wasm_sha256d_vectors(wasm: Wasm, header: bytes) -> None:
    assert wasm.hash(0, header) == hash256(header)
    if kernels.native_available():
        assert wasm.hash(0, header) == kernels._native.hash("sha256d", header)


def test_wasm_scrypt_vectors(wasm: Wasm) -> None:
    for header in SCRYPT_VECTORS:
        assert wasm.hash(1, header) == scrypt_pow(header)


def test_wasm_finds_real_nonces(wasm: Wasm) -> None:
    header = block_413567()
    nonce = int(BLOCK["submit_nonce"], 16)
    bits = int.from_bytes(header[72:76], "little")
    target = (bits & 0xFFFFFF) << (8 * ((bits >> 24) - 3))
    assert wasm.scan(0, header, target, nonce - 50, 100) == [nonce]
    lite = 2084524493
    assert lite in wasm.scan(1, LITECOIN_GENESIS, 0x0FFFF0 << (8 * (0x1E - 3)), lite - 3, 6)


def test_wasm_scan_matches_kernels(wasm: Wasm) -> None:
    total = 0
    for header, target, start, count in random_cases(12, 1, 4):
        want = list(kernels.scan_sha256d(header, target, start, start + count).nonces)
        assert wasm.scan(0, header, target, start, count) == want
        total += len(want)
    for header, target, start, _ in random_cases(3, 2, 1):
        want = list(kernels.scan_scrypt(header, target, start, start + 12).nonces)
        assert wasm.scan(1, header, target, start, 12) == want
    assert total > 50  # the cases do have hits


# ---- plain JS (chromium) -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def js(browser: Any) -> Iterator[Any]:
    page = browser.new_context().new_page()  # the fixture skips when chromium is missing
    page.set_content("<!doctype html><title>kernels</title>")
    page.add_script_tag(path=str(STATIC / "kernel.js"))
    page.add_script_tag(path=str(STATIC / "stratum.js"))
    yield page
    page.context.close()


def js_hash(page: Any, algo: str, header: bytes) -> bytes:
    out: str = page.evaluate("([a, h]) => HFKernel.hex.encode(HFKernel.powHash(a, HFKernel.hex.decode(h)))",
                             [algo, header.hex()])
    return bytes.fromhex(out)


def js_scan(page: Any, algo: str, header: bytes, target: int, start: int, count: int) -> list[int]:
    limbs = [(target >> (32 * i)) & 0xFFFFFFFF for i in range(8)]
    hits: list[int] = page.evaluate(
        "([a, h, t, s, n]) => HFKernel.scan(a, HFKernel.hex.decode(h), new Uint32Array(t), s, n)",
        [algo, header.hex(), limbs, start, count])
    return hits


def test_js_vectors(js: Any) -> None:
    for header in SHA_VECTORS:
        assert js_hash(js, "sha256d", header) == hash256(header)
    for header in SCRYPT_VECTORS:
        assert js_hash(js, "scrypt", header) == scrypt_pow(header)
    sha = js.evaluate("(h) => HFKernel.hex.encode(HFKernel.sha256(HFKernel.hex.decode(h)))", (b"abc" * 50).hex())
    import hashlib

    assert sha == hashlib.sha256(b"abc" * 50).hexdigest()  # multi-block padding


def test_js_scan_matches_kernels(js: Any) -> None:
    header = block_413567()
    nonce = int(BLOCK["submit_nonce"], 16)
    bits = int.from_bytes(header[72:76], "little")
    assert js_scan(js, "sha256d", header, (bits & 0xFFFFFF) << (8 * ((bits >> 24) - 3)), nonce - 50, 100) == [nonce]
    total = 0
    for header, target, start, count in random_cases(12, 3, 4):
        want = list(kernels.scan_sha256d(header, target, start, start + count).nonces)
        assert js_scan(js, "sha256d", header, target, start, count) == want
        total += len(want)
    for header, target, start, _ in random_cases(3, 4, 1):
        assert js_scan(js, "scrypt", header, target, start, 12) == list(kernels.scan_scrypt(header, target, start, start + 12).nonces)
    assert total > 50


@pytest.mark.parametrize("difficulty", [1, 0.5, 2e-05, 1e-8, 3.14159, 512, 1234567.0, 6.510636883524201e-05])
def test_js_difficulty_to_target(js: Any, difficulty: float) -> None:
    for scrypt in (False, True):
        got = js.evaluate("([d, s]) => HFStratum.difficultyToTarget(d, s).toString(16)", [difficulty, scrypt])
        assert int(got, 16) == difficulty_to_target(difficulty, scrypt=scrypt)


def test_js_header_from_notify(js: Any) -> None:
    got = js.evaluate("""([p, e1, e2, ntime, nonce]) => {
        const job = HFStratum.parseJob(p);
        job.ntime = parseInt(ntime, 16);
        const h = HFStratum.buildHeader(job, HFKernel.hex.decode(e1), HFKernel.hex.decode(e2));
        HFKernel.putLe32(h, 76, parseInt(nonce, 16));
        return HFKernel.hex.encode(h);
    }""", [BLOCK["notify_params"], BLOCK["extranonce1"], BLOCK["extranonce2"], BLOCK["submit_ntime"],
           BLOCK["submit_nonce"]])
    assert bytes.fromhex(got) == block_413567()
