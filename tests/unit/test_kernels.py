"""hashforge.kernels: every backend this CPU runs against the pure-Python oracle and hashlib."""

from __future__ import annotations

import hashlib
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hashforge import kernels
from hashforge.consensus.hashes import hash256, scrypt_pow
from hashforge.kernels import (
    Found,
    available_backends,
    cpu_features,
    get_backend,
    rolled_versions,
    scan_scrypt,
    scan_sha256d,
    scan_sha256d_versions,
)
from tests.vectorfiles import read_framed_blocks

NATIVE_SHA = ("scalar", "sse2", "avx2", "avx512", "shani")
NATIVE_SCRYPT = ("scalar", "sse2", "avx2", "avx512")
ALL_SHA = ("python", *NATIVE_SHA)
ALL_SCRYPT = ("python", *NATIVE_SCRYPT)


def backend_or_skip(algo: str, name: str) -> kernels.Backend:
    """The backend, or a skip that says exactly why this machine cannot run it."""
    try:
        return get_backend(algo, name)
    except kernels.BackendUnavailableError as exc:
        features = " ".join(sorted(cpu_features())) or "none detected"
        pytest.skip(f"{algo}/{name} not runnable here: {exc} (CPU features: {features})")


def target_from_bits(bits: int) -> int:
    return (bits & 0x007FFFFF) << (8 * ((bits >> 24) - 3))


def with_version_nonce(header: bytes, version: int, nonce: int) -> bytes:
    return version.to_bytes(4, "little") + header[4:76] + nonce.to_bytes(4, "little")


def hashlib_hits(algo: str, header: bytes, versions: list[int], target: int, start: int, end: int) -> list[Found]:
    """Straight hashlib, no midstate: an oracle independent of both implementations."""
    fn = hash256 if algo == "sha256d" else scrypt_pow
    return [
        Found(v, n)
        for n in range(start, end)
        for v in versions
        if int.from_bytes(fn(with_version_nonce(header, v, n)), "little") <= target
    ]


# Targets that let a short range have some hits: 2**256 >> k, nudged.
easy_targets = st.builds(
    lambda k, nudge: max(0, (((1 << 256) - 1) >> k) - nudge),
    st.integers(0, 9),
    st.integers(0, 1 << 200),
)


def nonce_ranges(max_len: int) -> st.SearchStrategy[tuple[int, int]]:
    starts = st.one_of(
        st.integers(0, (1 << 32) - max_len),
        st.just((1 << 32) - max_len),  # the very top of the nonce space
        st.just(0),
    )
    return st.builds(lambda s, n: (s, s + n), starts, st.integers(0, max_len))


# ---- SHA-256d --------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL_SHA)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=st.binary(min_size=80, max_size=80), target=easy_targets, rng=nonce_ranges(200))
def test_sha256d_plain_matches_oracle(name: str, header: bytes, target: int, rng: tuple[int, int]) -> None:
    backend = backend_or_skip("sha256d", name)
    start, end = rng
    version = int.from_bytes(header[:4], "little")
    result = backend.scan(header, target, start, end)
    assert result.hashes == end - start
    expected = hashlib_hits("sha256d", header, [version], target, start, end)
    assert list(result.found) == expected
    assert list(result.nonces) == sorted(result.nonces)


@pytest.mark.parametrize("name", ALL_SHA)
@settings(max_examples=25, deadline=None)
@given(
    header=st.binary(min_size=80, max_size=80),
    versions=st.lists(st.integers(0, (1 << 32) - 1), min_size=1, max_size=40),
    target=easy_targets,
    rng=nonce_ranges(12),
)
def test_sha256d_versions_match_oracle(
    name: str, header: bytes, versions: list[int], target: int, rng: tuple[int, int]
) -> None:
    backend = backend_or_skip("sha256d", name)
    start, end = rng
    result = backend.scan_versions(header, versions, target, start, end)
    assert result.hashes == (end - start) * len(versions)
    assert list(result.found) == hashlib_hits("sha256d", header, versions, target, start, end)


@pytest.mark.parametrize("name", ALL_SHA)
@settings(max_examples=30, deadline=None)
@given(header=st.binary(min_size=80, max_size=80), offset=st.integers(0, 40), rolled=st.booleans())
def test_sha256d_target_boundary_is_inclusive(name: str, header: bytes, offset: int, rolled: bool) -> None:
    """A hash equal to the target qualifies; one above it does not (every limb compared)."""
    backend = backend_or_skip("sha256d", name)
    start = 1000
    version = int.from_bytes(header[:4], "little")
    versions = [version ^ 0x2000, version] if rolled else [version]
    exact = int.from_bytes(hash256(with_version_nonce(header, version, start + offset)), "little")
    hit = backend.scan_versions(header, versions, exact, start, start + 48).found
    assert Found(version, start + offset) in hit
    assert list(hit) == hashlib_hits("sha256d", header, versions, exact, start, start + 48)
    if exact > 0:
        miss = backend.scan_versions(header, versions, exact - 1, start, start + 48).found
        assert Found(version, start + offset) not in miss


@pytest.mark.parametrize("name", ALL_SHA)
def test_all_nonces_returned_for_easy_target(name: str) -> None:
    backend = backend_or_skip("sha256d", name)
    header = bytes(range(80))
    everything = backend.scan(header, (1 << 256) - 1, 5, 1005)
    assert everything.nonces == tuple(range(5, 1005))
    half = backend.scan(header, 1 << 255, 0, 1000)
    expected = hashlib_hits("sha256d", header, [int.from_bytes(header[:4], "little")], 1 << 255, 0, 1000)
    assert list(half.found) == expected
    assert 400 < len(half.found) < 600


@pytest.mark.parametrize("name", ALL_SHA)
def test_mainnet_genesis_nonce_found(name: str) -> None:
    backend = backend_or_skip("sha256d", name)
    genesis = read_framed_blocks("mainnet/btcd/blk_0_to_4.dat.bz2")[0][:80]
    nonce = int.from_bytes(genesis[76:], "little")
    assert nonce == 2083236893
    target = target_from_bits(int.from_bytes(genesis[72:76], "little"))
    span = 20_000 if backend.native else 300
    result = backend.scan(genesis, target, nonce - span, nonce + span)
    assert result.nonces == (nonce,)
    assert result.hashes == 2 * span
    # The prefix alone works too, and the nonce field of an 80-byte header is ignored.
    assert backend.scan(genesis[:76], target, nonce - 3, nonce + 3).nonces == (nonce,)


@pytest.mark.parametrize("name", ALL_SHA)
def test_mainnet_blocks_1_to_255_nonces_found(name: str) -> None:
    backend = backend_or_skip("sha256d", name)
    blocks = read_framed_blocks("mainnet/btcd/blocks1-256.bz2")
    assert len(blocks) == 255
    span = 64 if backend.native else 4
    for block in blocks:
        header = block[:80]
        nonce = int.from_bytes(header[76:], "little")
        target = target_from_bits(int.from_bytes(header[72:76], "little"))
        start = max(0, nonce - span)
        end = min(1 << 32, nonce + span)
        assert backend.scan(header, target, start, end).nonces == (nonce,), hash256(header)[::-1].hex()
        # The hash itself as target: the exact boundary with a zero top limb.
        exact = int.from_bytes(hash256(header), "little")
        assert backend.scan(header, exact, nonce, nonce + 1).nonces == (nonce,)
        assert backend.scan(header, exact - 1, nonce, nonce + 1).nonces == ()


@pytest.mark.parametrize("name", ALL_SHA)
def test_version_rolling_finds_real_block_among_rolled_versions(name: str) -> None:
    """A real block's version hidden among 64 rolled versions is found, and only it."""
    backend = backend_or_skip("sha256d", name)
    header = read_framed_blocks("mainnet/btcd/blocks1-256.bz2")[99][:80]
    version = int.from_bytes(header[:4], "little")
    nonce = int.from_bytes(header[76:], "little")
    target = target_from_bits(int.from_bytes(header[72:76], "little"))
    versions = rolled_versions(version, 0x1FFFE000, 64)
    assert versions[0] == version
    versions = [*versions[1:40], version, *versions[40:]]
    result = backend.scan_versions(header, versions, target, nonce - 3, nonce + 3)
    assert result.found == (Found(version, nonce),)
    assert result.hashes == 6 * 64


# ---- scrypt ----------------------------------------------------------------------

LITECOIN_GENESIS = (
    (1).to_bytes(4, "little")
    + bytes(32)
    + bytes.fromhex("97ddfbbae6be97fd6cdf3e7ca13232a3afff2353e29badfab7f73011edd4ced9")[::-1]
    + (1317972665).to_bytes(4, "little")
    + (0x1E0FFFF0).to_bytes(4, "little")
    + (2084524493).to_bytes(4, "little")
)


def test_litecoin_genesis_header_and_pow() -> None:
    assert hash256(LITECOIN_GENESIS)[::-1].hex() == "12a765e31ffd4059bada1e25190f6e98c99d9714d334efa41a195a7e7e04bfe2"
    pow_hash = scrypt_pow(LITECOIN_GENESIS)
    assert int.from_bytes(pow_hash, "little") <= target_from_bits(0x1E0FFFF0)
    if kernels.native_available():
        assert kernels._native.hash("scrypt", LITECOIN_GENESIS) == pow_hash
        assert kernels._native.hash("sha256d", LITECOIN_GENESIS) == hash256(LITECOIN_GENESIS)


@pytest.mark.parametrize("name", ALL_SCRYPT)
def test_litecoin_genesis_nonce_found(name: str) -> None:
    backend = backend_or_skip("scrypt", name)
    nonce = 2084524493
    target = target_from_bits(0x1E0FFFF0)
    result = backend.scan(LITECOIN_GENESIS, target, nonce - 8, nonce + 9)
    assert nonce in result.nonces
    assert list(result.found) == hashlib_hits("scrypt", LITECOIN_GENESIS, [1], target, nonce - 8, nonce + 9)


@pytest.mark.parametrize("name", ALL_SCRYPT)
@settings(max_examples=6, deadline=None)
@given(
    header=st.binary(min_size=80, max_size=80),
    versions=st.lists(st.integers(0, (1 << 32) - 1), min_size=1, max_size=3),
    target=easy_targets,
    rng=nonce_ranges(11),
)
def test_scrypt_matches_oracle(
    name: str, header: bytes, versions: list[int], target: int, rng: tuple[int, int]
) -> None:
    backend = backend_or_skip("scrypt", name)
    start, end = rng
    result = backend.scan_versions(header, versions, target, start, end)
    assert result.hashes == (end - start) * len(versions)
    assert list(result.found) == hashlib_hits("scrypt", header, versions, target, start, end)


@pytest.mark.parametrize("name", ALL_SCRYPT)
def test_scrypt_all_nonces_for_easy_target(name: str) -> None:
    backend = backend_or_skip("scrypt", name)
    header = bytes(range(80, 160))
    assert scan_scrypt(header, (1 << 256) - 1, 7, 30, backend=name).nonces == tuple(range(7, 30))
    assert backend.scan(header, 0, 7, 30).nonces == ()


# ---- API ---------------------------------------------------------------------------


def test_extension_is_built() -> None:
    """`pip install` must build the kernels; a silent fallback would hide a broken build."""
    if os.environ.get("HASHFORGE_NO_EXT") == "1":
        pytest.skip("HASHFORGE_NO_EXT=1: built without the native extension on purpose")
    assert kernels.native_available(), kernels.NATIVE_ERROR
    assert "scalar" in available_backends("sha256d")
    assert "sse2" in cpu_features() or not kernels._native  # every x86-64 has SSE2


def test_backend_lists_and_errors() -> None:
    assert available_backends("sha256d")[-1] == "python"
    assert "shani" not in available_backends("scrypt")
    assert get_backend("sha256d", "auto").name == available_backends("sha256d")[0]
    with pytest.raises(kernels.UnknownBackendError):
        get_backend("sha256d", "avx1024")
    with pytest.raises(kernels.UnknownBackendError):
        get_backend("scrypt", "shani")
    with pytest.raises(kernels.UnknownBackendError):
        get_backend("x11", "auto")
    for name in NATIVE_SHA:
        if name not in available_backends("sha256d"):
            with pytest.raises(kernels.BackendUnavailableError):
                get_backend("sha256d", name)


@pytest.mark.parametrize(
    ("header", "target", "start", "end"),
    [
        (bytes(79), 1, 0, 1),
        (bytes(80), -1, 0, 1),
        (bytes(80), 1 << 256, 0, 1),
        (bytes(80), 1, 5, 4),
        (bytes(80), 1, 0, (1 << 32) + 1),
        (bytes(80), 1, -1, 1),
    ],
)
def test_bad_arguments_rejected(header: bytes, target: int, start: int, end: int) -> None:
    for name in ("python", available_backends("sha256d")[0]):
        with pytest.raises(ValueError):
            scan_sha256d(header, target, start, end, backend=name)


def test_empty_range_and_versions() -> None:
    assert scan_sha256d(bytes(80), (1 << 256) - 1, 10, 10).hashes == 0
    with pytest.raises(ValueError):
        scan_sha256d_versions(bytes(80), [], 1, 0, 1)
    with pytest.raises(ValueError):
        scan_sha256d_versions(bytes(80), [1 << 32], 1, 0, 1)


def test_rolled_versions_follow_bip310_mask() -> None:
    versions = rolled_versions(0x20000000, 0x1FFFE000, 1 << 16)
    assert len(set(versions)) == 1 << 16
    assert all(v & ~0x1FFFE000 == 0x20000000 for v in versions)
    assert versions[1] == 0x20002000
    assert rolled_versions(0x20000000, 0x1FFFE000, 2, first=3) == versions[3:5]
    with pytest.raises(ValueError):
        rolled_versions(0x20000000, 0x6000, 5)


def test_python_backend_agrees_with_hashlib_directly() -> None:
    header = hashlib.sha256(b"oracle").digest() * 2 + bytes(16)
    assert list(scan_sha256d(header, 1 << 252, 0, 500, backend="python").found) == hashlib_hits(
        "sha256d", header, [int.from_bytes(header[:4], "little")], 1 << 252, 0, 500
    )
