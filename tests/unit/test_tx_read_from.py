"""Transaction.read_from / Block.read_from (buffer decoding) against the stream decoder they shortcut.

Both must accept exactly the same bytes and give the same transactions, and the serializations the
buffer decoder keeps must be what serializing the transaction afresh gives (txid, wtxid).
"""

from __future__ import annotations

import io

from hypothesis import given, settings
from hypothesis import strategies as st

from hashforge.consensus.block import Block, BlockHeader
from hashforge.consensus.serialize import DeserializationError
from hashforge.consensus.tx import OutPoint, Transaction, TxIn, TxOut

scripts = st.binary(max_size=300) | st.sampled_from([b"", b"\x00\x14" + b"\x11" * 20, b"\x51"])
witnesses = st.lists(st.binary(max_size=80), max_size=4).map(tuple) | st.just(())
inputs = st.builds(
    TxIn,
    st.builds(OutPoint, st.binary(min_size=32, max_size=32), st.integers(0, 2**32 - 1)),
    scripts,
    st.integers(0, 2**32 - 1),
    witnesses,
)
outputs = st.builds(TxOut, st.integers(-(2**63), 2**63 - 1), scripts)
transactions = st.builds(
    Transaction,
    st.integers(-(2**31), 2**31 - 1),
    st.lists(inputs, max_size=4).map(tuple),
    st.lists(outputs, max_size=4).map(tuple),
    st.integers(0, 2**32 - 1),
)


def via_stream(data: bytes, allow_witness: bool = True) -> object:
    f = io.BytesIO(data)
    try:
        tx = Transaction.deserialize(f, allow_witness)
    except DeserializationError as e:
        return _error(e)
    return (tx, f.tell())


def via_buffer(data: bytes, allow_witness: bool = True) -> object:
    try:
        return Transaction.read_from(data, 0, allow_witness)
    except DeserializationError as e:
        return _error(e)


def _error(e: DeserializationError) -> str:
    # Where a truncated buffer is noticed may differ by a field; what is wrong may not.
    text = str(e)
    return "truncated" if text.startswith("unexpected end of data") else text


def fresh(tx: Transaction) -> Transaction:
    return Transaction(tx.version, tx.vin, tx.vout, tx.locktime)


@settings(max_examples=300, deadline=None)
@given(transactions, st.booleans())
def test_valid_transactions_decode_alike(tx: Transaction, allow_witness: bool) -> None:
    data = tx.serialize()
    got, want = via_buffer(data, allow_witness), via_stream(data, allow_witness)
    assert got == want
    if isinstance(got, tuple):
        decoded = got[0]
        assert isinstance(decoded, Transaction)
        assert decoded.serialize_with_witness() == fresh(decoded).serialize_with_witness()
        assert decoded.serialize_without_witness() == fresh(decoded).serialize_without_witness()
        assert (decoded.txid, decoded.wtxid) == (fresh(decoded).txid, fresh(decoded).wtxid)


@settings(max_examples=500, deadline=None)
@given(transactions, st.data())
def test_damaged_bytes_are_refused_alike(tx: Transaction, data: st.DataObject) -> None:
    raw = bytearray(tx.serialize())
    for _ in range(data.draw(st.integers(1, 3))):
        kind = data.draw(st.sampled_from(["flip", "cut", "insert", "set"]))
        at = data.draw(st.integers(0, max(len(raw) - 1, 0)))
        if kind == "flip" and raw:
            raw[at] ^= 1 << data.draw(st.integers(0, 7))
        elif kind == "cut":
            del raw[at : at + data.draw(st.integers(1, 40))]
        elif kind == "insert":
            raw[at:at] = data.draw(st.binary(min_size=1, max_size=9))
        elif raw:
            raw[at] = data.draw(st.sampled_from([0x00, 0x01, 0x02, 0xFD, 0xFE, 0xFF]))
    blob = bytes(raw)
    got, want = via_buffer(blob), via_stream(blob)
    assert got == want
    if isinstance(got, tuple):
        decoded = got[0]
        assert isinstance(decoded, Transaction)
        assert (decoded.txid, decoded.wtxid) == (fresh(decoded).txid, fresh(decoded).wtxid)


def round_trips(tx: Transaction) -> bool:
    """Not every Transaction value survives serialization (no inputs, or only empty witnesses)."""
    return via_stream(tx.serialize()) == (tx, len(tx.serialize()))


@settings(max_examples=100, deadline=None)
@given(st.lists(transactions.filter(round_trips), min_size=1, max_size=5), st.binary(max_size=3))
def test_blocks_decode_alike_from_bytes_and_streams(txs: list[Transaction], tail: bytes) -> None:
    block = Block(BlockHeader(2, b"\x01" * 32, b"\x02" * 32, 3, 4, 5), tuple(txs))
    raw = block.serialize()
    assert Block.from_bytes(raw) == block
    f = io.BytesIO(b"xyz" + raw + tail)  # P2P and block files hand over a stream
    f.seek(3)
    assert Block.deserialize(f) == block and f.tell() == 3 + len(raw)
    if tail:
        try:
            Block.from_bytes(raw + tail)
        except DeserializationError as e:
            assert "trailing bytes" in str(e)
        else:
            raise AssertionError("trailing bytes accepted")
