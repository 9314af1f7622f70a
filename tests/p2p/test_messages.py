"""Wire messages: known vectors (Bitcoin Core's own bytes, SipHash reference), round trips of every
message class, framing limits, BIP155 addresses and BIP152 compact-block reconstruction."""

from __future__ import annotations

import io

import pytest

from hashforge.consensus.block import Block, BlockHeader
from hashforge.consensus.params import REGTEST
from hashforge.consensus.tx import OutPoint, Transaction, TxIn, TxOut
from hashforge.node.p2p.compact import (
    HeaderAndShortIDs,
    MsgBlocktxn,
    MsgCmpctblock,
    MsgGetblocktxn,
    MsgSendcmpct,
    PartialBlock,
    PrefilledTransaction,
    short_id,
    shortid_keys,
)
from hashforge.node.p2p.errors import FramingError, MessageDecodeError
from hashforge.node.p2p.framing import (
    MAX_PROTOCOL_MESSAGE_LENGTH,
    MessageDecoder,
    MessageHeader,
    check_payload,
    frame,
    frame_message,
)
from hashforge.node.p2p.messages import (
    MESSAGE_TYPES,
    MSG_WITNESS_BLOCK,
    MSG_WTX,
    Inv,
    Message,
    MsgAddr,
    MsgAddrv2,
    MsgBlock,
    MsgFeefilter,
    MsgGetaddr,
    MsgGetdata,
    MsgGetheaders,
    MsgHeaders,
    MsgInv,
    MsgMempool,
    MsgNotfound,
    MsgPing,
    MsgPong,
    MsgSendaddrv2,
    MsgSendheaders,
    MsgTx,
    MsgVerack,
    MsgVersion,
    MsgWtxidrelay,
    decode_payload,
)
from hashforge.node.p2p.netaddr import AddrRecord, NetAddr, Network, parse_hostport
from hashforge.node.p2p.siphash import siphash24, siphash24_key

MAINNET_MAGIC = bytes.fromhex("f9beb4d9")

# A `version` message sent by Bitcoin Core 23.0 (captured from a mainnet node), whole frame.
CORE_23_VERSION = bytes.fromhex(
    "f9beb4d9" "76657273696f6e0000000000" "66000000" "bdcad498"
    "80110100" "0d04000000000000" "5083506300000000"
    + "00" * 26
    + "0d04000000000000" + "00" * 16 + "0000"
    + "ff0ae91284bdd3e2" + "10" + b"/Satoshi:23.0.0/".hex() + "8e960b00" + "01"
)
# The Bitcoin wiki's version message of Satoshi 0.7.2 (protocol 60002, no `relay` byte).
WIKI_072_VERSION = bytes.fromhex(
    "f9beb4d9" "76657273696f6e0000000000" "64000000" "358d4932"
    "62ea0000" "0100000000000000" "11b2d05000000000"
    "0100000000000000" "00000000000000000000ffff00000000" "0000"
    "0000000000000000" "00000000000000000000ffff00000000" "0000"
    "3b2eb35d8ce61765" "0f" + b"/Satoshi:0.7.2/".hex() + "c03e0300"
)
VERACK = bytes.fromhex("f9beb4d976657261636b000000000000000000005df6e0e2")

# SipHash-2-4 reference vectors (the paper's key 00..0f, messages 00, 00 01, ...).
SIPHASH_VECTORS = {0: 0x726FDB47DD0E0E31, 1: 0x74F839C593DC67FD, 8: 0x93F5F5799A932462, 15: 0xA129CA6149BE45E5, 63: 0x958A324CEB064572}


def test_core_version_vector() -> None:
    [(header, payload)] = MessageDecoder(MAINNET_MAGIC).feed(CORE_23_VERSION)
    check_payload(header, payload)
    assert header.command == b"version" and header.length == 102
    msg = decode_payload(header.command, payload)
    assert isinstance(msg, MsgVersion)
    assert msg.version == 70016 and msg.services == 0x40D and msg.timestamp == 0x63508350
    assert msg.user_agent == b"/Satoshi:23.0.0/" and msg.start_height == 0x0B968E and msg.relay
    assert msg.addr_from.services == 0x40D
    assert frame_message(MAINNET_MAGIC, msg) == CORE_23_VERSION


def test_old_version_without_relay_byte() -> None:
    [(header, payload)] = MessageDecoder(MAINNET_MAGIC).feed(WIKI_072_VERSION)
    check_payload(header, payload)
    msg = decode_payload(header.command, payload)
    assert isinstance(msg, MsgVersion)
    assert msg.version == 60002 and msg.user_agent == b"/Satoshi:0.7.2/" and msg.start_height == 212672
    assert msg.relay is True and msg.addr_recv.addr == NetAddr(Network.IPV4, b"\x00" * 4)
    assert msg.serialize() == payload + b"\x01"


def test_verack_vector() -> None:
    assert frame_message(MAINNET_MAGIC, MsgVerack()) == VERACK


@pytest.mark.parametrize(("n", "expected"), sorted(SIPHASH_VECTORS.items()))
def test_siphash_reference_vectors(n: int, expected: int) -> None:
    k0, k1 = siphash24_key(bytes(range(16)))
    assert siphash24(k0, k1, bytes(range(n))) == expected


def _tx(seed: int, witness: bool = True) -> Transaction:
    return Transaction(
        2,
        (TxIn(OutPoint(bytes([seed]) * 32, seed), b"\x51", 0xFFFFFFFE, (b"\x01" * 72, b"\x02" * 33) if witness else ()),),
        (TxOut(1000 + seed, b"\x00\x14" + bytes([seed]) * 20),),
        seed,
    )


HEADER = BlockHeader(0x20000000, b"\x11" * 32, b"\x22" * 32, 1_700_000_000, 0x207FFFFF, 42)
ADDRS = (
    AddrRecord(1_700_000_000, 0x409, NetAddr.from_host("1.2.3.4"), 8333),
    AddrRecord(1_700_000_001, 1, NetAddr.from_host("2001:db8::1"), 18444),
)

EXAMPLES: list[Message] = [
    MsgVersion(70016, 0x409, 1_700_000_000, AddrRecord(0, 1, ADDRS[0].addr, 1), AddrRecord(0, 0x409, ADDRS[1].addr, 2), 0x1234567890ABCDEF, b"/hashforge:0.1.0/", 7, False),
    MsgVerack(), MsgGetaddr(), MsgSendheaders(), MsgWtxidrelay(), MsgSendaddrv2(), MsgMempool(),
    MsgPing(2**64 - 1), MsgPong(5), MsgFeefilter(1000),
    MsgAddr(ADDRS),
    MsgAddrv2((*ADDRS, AddrRecord(5, 2**40, NetAddr(Network.TORV3, b"\x07" * 32), 9050), AddrRecord(6, 0, NetAddr(Network.I2P, b"\x08" * 32), 0))),
    MsgInv((Inv(MSG_WTX, b"\x01" * 32), Inv(MSG_WITNESS_BLOCK, b"\x02" * 32))),
    MsgGetdata((Inv(1, b"\x03" * 32),)), MsgNotfound(()),
    MsgGetheaders(70016, (b"\x04" * 32, b"\x05" * 32), b"\x00" * 32),
    MsgHeaders((HEADER, REGTEST.genesis.header)),
    MsgBlock(REGTEST.genesis), MsgBlock(Block(HEADER, (REGTEST.genesis.vtx[0], _tx(1), _tx(2, witness=False)))),
    MsgTx(_tx(3)), MsgTx(_tx(4, witness=False)),
    MsgSendcmpct(True, 2),
    MsgCmpctblock(HeaderAndShortIDs(HEADER, 99, (1, 2**48 - 1, 3), (PrefilledTransaction(0, _tx(5)), PrefilledTransaction(3, _tx(6))))),
    MsgGetblocktxn(b"\x09" * 32, (0, 1, 5, 300)),
    MsgBlocktxn(b"\x0a" * 32, (_tx(7), _tx(8, witness=False))),
]


@pytest.mark.parametrize("msg", EXAMPLES, ids=lambda m: type(m).__name__)
def test_round_trip(msg: Message) -> None:
    wire = frame_message(REGTEST.message_start, msg)
    [(header, payload)] = MessageDecoder(REGTEST.message_start).feed(wire)
    check_payload(header, payload)
    again = decode_payload(header.command, payload)
    assert again == msg
    assert again is not None and again.serialize() == payload


def test_every_registered_command_has_an_example() -> None:
    covered = {type(m).command for m in EXAMPLES}
    assert set(MESSAGE_TYPES) - covered <= {b"getblocks"}


def test_trailing_bytes_and_truncation_rejected() -> None:
    with pytest.raises(MessageDecodeError):
        decode_payload(b"ping", b"\x00" * 9)
    with pytest.raises(MessageDecodeError):
        decode_payload(b"ping", b"\x00" * 7)
    with pytest.raises(MessageDecodeError):
        decode_payload(b"headers", b"\x01" + HEADER.serialize() + b"\x01")  # tx count must be 0
    assert decode_payload(b"nosuchcmd", b"whatever") is None


def test_count_limits() -> None:
    with pytest.raises(MessageDecodeError, match="at most"):
        decode_payload(b"inv", bytes.fromhex("fd51c3"))  # 50001 entries
    with pytest.raises(MessageDecodeError, match="at most"):
        decode_payload(b"addr", bytes.fromhex("fde903"))  # 1001 addresses
    with pytest.raises(MessageDecodeError):
        decode_payload(b"addrv2", bytes.fromhex("01" "00000000" "00" "01" "05" "0102030405" "0000"))  # IPv4 of 5 bytes


def test_framing_limits() -> None:
    magic = REGTEST.message_start
    with pytest.raises(FramingError, match="magic"):
        MessageDecoder(magic).feed(frame(MAINNET_MAGIC, b"ping", b"\x00" * 8))
    huge = magic + b"block".ljust(12, b"\x00") + (32 * 1024 * 1024).to_bytes(4, "little") + b"\x00" * 4
    with pytest.raises(FramingError, match="oversized"):
        MessageDecoder(magic).feed(huge)
    ok = magic + b"block".ljust(12, b"\x00") + MAX_PROTOCOL_MESSAGE_LENGTH.to_bytes(4, "little") + b"\x00" * 4
    assert MessageDecoder(magic).feed(ok) == []  # allowed, waits for the payload
    bad_sum = bytearray(frame(magic, b"ping", b"\x00" * 8))
    bad_sum[20] ^= 1
    [(h, p)] = MessageDecoder(magic).feed(bytes(bad_sum))
    with pytest.raises(MessageDecodeError, match="checksum"):
        check_payload(h, p)
    bad_name = MessageHeader.parse(magic, magic + b"pi\x00ng\x00\x00\x00\x00\x00\x00\x00" + bytes(8))
    assert bad_name.command == b""


def test_decoder_handles_split_and_joined_frames() -> None:
    magic = REGTEST.message_start
    wire = frame_message(magic, MsgPing(1)) + frame_message(magic, MsgPong(2)) + frame_message(magic, MsgVerack())
    dec = MessageDecoder(magic)
    got = []
    for i in range(0, len(wire), 7):
        got += dec.feed(wire[i : i + 7])
    assert [h.command for h, _ in got] == [b"ping", b"pong", b"verack"]


def test_netaddr_forms() -> None:
    v4 = NetAddr.from_host("::ffff:10.0.0.1")
    assert v4.net == Network.IPV4 and v4.host == "10.0.0.1" and not v4.is_routable
    assert NetAddr.from_v1(v4.to_v1()) == v4
    assert NetAddr.from_host("127.0.0.1").is_local
    assert NetAddr.from_host("8.8.8.8").is_routable
    v6 = NetAddr.from_host("[2001:4860::8888]")
    assert v6.net == Network.IPV6 and v6.is_routable
    rec = AddrRecord(1, 2, v6, 3)
    assert AddrRecord.deserialize_v2(io.BytesIO(rec.serialize_v2())) == rec
    assert AddrRecord.deserialize_v1(io.BytesIO(rec.serialize_v1())) == rec
    assert parse_hostport("1.2.3.4", 18444) == ("1.2.3.4", 18444)
    assert parse_hostport("1.2.3.4:5", 18444) == ("1.2.3.4", 5)
    assert parse_hostport("[::1]:7", 18444) == ("::1", 7)
    with pytest.raises(ValueError):
        parse_hostport("1.2.3.4:0", 1)


def test_compact_block_reconstruction() -> None:
    coinbase = REGTEST.genesis.vtx[0]
    txs = [_tx(i) for i in range(1, 9)]
    block = Block(HEADER, (coinbase, *txs))
    cmpct = HeaderAndShortIDs.from_block(block, nonce=7)
    keys = shortid_keys(HEADER, 7)
    assert cmpct.shortids[0] == short_id(keys, txs[0].wtxid) < 2**48
    # the receiver has txs 1..5 in its mempool, plus unrelated ones
    partial = PartialBlock(cmpct, [*txs[:5], _tx(50), _tx(51)])
    assert partial.missing() == [6, 7, 8]
    assert partial.fill(txs[5:]) == block
    with pytest.raises(ValueError):
        partial.fill(txs[5:7])
    with pytest.raises(ValueError):
        partial.fill([*txs[5:], _tx(9)])
    wire = MsgCmpctblock(cmpct).serialize()
    again = decode_payload(b"cmpctblock", wire)
    assert isinstance(again, MsgCmpctblock) and again.header_and_shortids == cmpct


def test_compact_block_bad_indexes() -> None:
    with pytest.raises(MessageDecodeError, match="16 bits"):
        decode_payload(b"getblocktxn", b"\x00" * 32 + b"\x02" + b"\xfd\xff\xff" + b"\x00")
    # a prefilled index beyond the block's transaction count
    bad = HeaderAndShortIDs(HEADER, 0, (), (PrefilledTransaction(3, _tx(1)),)).serialize()
    with pytest.raises(MessageDecodeError, match="beyond"):
        decode_payload(b"cmpctblock", bad)
