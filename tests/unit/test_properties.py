"""Property tests (hypothesis): nBits encoding and serialization round trips."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hashforge.consensus.block import BlockHeader
from hashforge.consensus.pow import bits_to_target, get_compact, set_compact, target_to_bits
from hashforge.consensus.tx import OutPoint, Transaction, TxIn, TxOut

u32 = st.integers(min_value=0, max_value=0xFFFFFFFF)
hash32 = st.binary(min_size=32, max_size=32)


@st.composite
def canonical_bits(draw: st.DrawFn) -> int:
    """nBits as GetCompact writes them: positive, normalized mantissa, no overflow."""
    size = draw(st.integers(min_value=1, max_value=32))
    if size >= 3:
        mantissa = draw(st.integers(min_value=0x008000, max_value=0x7FFFFF))
    else:
        # Bytes below the value's size are zero; the top byte is non-zero and below 0x80.
        top = draw(st.integers(min_value=0x01, max_value=0x7F)) if size == 1 else draw(
            st.integers(min_value=0x0080, max_value=0x7FFF)
        )
        mantissa = top << (8 * (3 - size))
    return (size << 24) | mantissa


@given(canonical_bits())
def test_canonical_bits_round_trip(bits: int) -> None:
    target = bits_to_target(bits)
    assert target > 0
    assert target_to_bits(target) == bits


@given(st.integers(min_value=1, max_value=(1 << 256) - 1))
def test_target_to_bits_truncates_toward_zero(target: int) -> None:
    bits = target_to_bits(target)
    approx = bits_to_target(bits)
    assert approx <= target
    # At most the bytes below the 3-byte mantissa are lost (one more if the sign bit forced a shift).
    assert target - approx < 1 << max(0, target.bit_length() - 15)
    assert target_to_bits(approx) == bits


@given(u32)
def test_any_bits_normalize_to_the_same_value(bits: int) -> None:
    decoded = set_compact(bits)
    if decoded.overflow:
        return
    again = set_compact(get_compact(decoded.target, decoded.negative))
    assert again.target == decoded.target
    assert again.negative == (decoded.negative and decoded.target != 0)


headers = st.builds(
    BlockHeader,
    version=st.integers(min_value=-(1 << 31), max_value=(1 << 31) - 1),
    prev_hash=hash32,
    merkle_root=hash32,
    time=u32,
    bits=u32,
    nonce=u32,
)


@given(headers)
def test_header_round_trip(header: BlockHeader) -> None:
    raw = header.serialize()
    assert len(raw) == 80
    assert BlockHeader.from_bytes(raw) == header


scripts = st.binary(max_size=300)
witness_stacks = st.lists(st.binary(max_size=80), max_size=4).map(tuple)


@st.composite
def transactions(draw: st.DrawFn) -> Transaction:
    with_witness = draw(st.booleans())
    n_in = draw(st.integers(min_value=1, max_value=4))
    vin = []
    for _ in range(n_in):
        vin.append(
            TxIn(
                OutPoint(draw(hash32), draw(u32)),
                draw(scripts),
                draw(u32),
                draw(witness_stacks) if with_witness else (),
            )
        )
    if with_witness and not any(i.witness for i in vin):
        first = vin[0]
        vin[0] = TxIn(first.prevout, first.script_sig, first.sequence, (draw(st.binary(max_size=80)),))
    vout = tuple(
        TxOut(draw(st.integers(min_value=0, max_value=21_000_000 * 10**8)), draw(scripts))
        for _ in range(draw(st.integers(min_value=0, max_value=4)))
    )
    version = draw(st.integers(min_value=-(1 << 31), max_value=(1 << 31) - 1))
    return Transaction(version, tuple(vin), vout, draw(u32))


@given(transactions())
def test_transaction_round_trip(tx: Transaction) -> None:
    raw = tx.serialize_with_witness()
    back = Transaction.from_bytes(raw)
    assert back == tx
    assert back.txid == tx.txid and back.wtxid == tx.wtxid
    legacy = Transaction.from_bytes(tx.serialize_without_witness())
    assert legacy.txid == tx.txid
    assert all(not i.witness for i in legacy.vin)
    if tx.has_witness:
        assert raw[4:6] == b"\x00\x01"
        assert tx.weight == 3 * len(tx.serialize_without_witness()) + len(raw)
    else:
        assert raw == tx.serialize_without_witness() and tx.wtxid == tx.txid
