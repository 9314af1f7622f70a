"""Fuzzing the message parser (hypothesis): arbitrary bytes, and mutations of valid messages,
never raise anything but the P2P error types the peer loop handles."""

from __future__ import annotations

import contextlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hashforge.consensus.params import REGTEST
from hashforge.node.p2p.errors import P2PError
from hashforge.node.p2p.framing import MessageDecoder, check_payload, frame_message
from hashforge.node.p2p.messages import MESSAGE_TYPES, decode_payload

from .test_messages import EXAMPLES

COMMANDS = sorted(MESSAGE_TYPES)
VALID_PAYLOADS = [m.serialize() for m in EXAMPLES]
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _parse_stream(data: bytes) -> None:
    dec = MessageDecoder(REGTEST.message_start)
    try:
        for header, payload in dec.feed(data):
            try:
                check_payload(header, payload)
            except P2PError:
                continue
            decode_payload(header.command, payload)
    except P2PError:
        pass


@FUZZ
@given(st.sampled_from(COMMANDS), st.binary(max_size=600))
def test_random_payloads(command: bytes, payload: bytes) -> None:
    with contextlib.suppress(P2PError):
        decode_payload(command, payload)


@FUZZ
@given(st.integers(0, len(VALID_PAYLOADS) - 1), st.data())
def test_mutated_valid_payloads(i: int, data: st.DataObject) -> None:
    payload = bytearray(VALID_PAYLOADS[i])
    command = type(EXAMPLES[i]).command
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        pos = data.draw(st.integers(0, max(0, len(payload) - 1)))
        if op == "flip" and payload:
            payload[pos] ^= 1 << data.draw(st.integers(0, 7))
        elif op == "cut":
            del payload[pos:]
        else:
            payload[pos:pos] = data.draw(st.binary(min_size=1, max_size=9))
    with contextlib.suppress(P2PError):
        decode_payload(command, bytes(payload))


@FUZZ
@given(st.binary(max_size=2000))
def test_random_streams(data: bytes) -> None:
    _parse_stream(data)


@FUZZ
@given(st.lists(st.integers(0, len(EXAMPLES) - 1), max_size=5), st.binary(max_size=40), st.integers(0, 3000))
def test_framed_messages_with_garbage(indexes: list[int], garbage: bytes, cut: int) -> None:
    stream = b"".join(frame_message(REGTEST.message_start, EXAMPLES[i]) for i in indexes) + garbage
    _parse_stream(stream[: cut or None])
