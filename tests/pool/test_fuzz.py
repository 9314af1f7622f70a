"""Fuzzing the line parser and the whole connector -> stratifier path with hypothesis: nothing
raises, nothing malformed is ever recorded as a share."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hashforge.pool.config import Scheme
from hashforge.pool.connector import Connector, StratumProtocol
from hashforge.pool.records import ShareRecord
from hashforge.pool.stratifier import Stratifier
from hashforge.stratum import StratumProtocolError, decode_line

from .harness import MINER_ADDR, POOL, FakeNode, pool_config, template, validate


@given(st.binary(max_size=300))
def test_decode_line_never_raises_anything_else(data: bytes) -> None:
    try:
        msg = decode_line(data)
    except StratumProtocolError:
        return
    assert isinstance(msg, dict)


class Sink:
    def __init__(self) -> None:
        self.records: list[ShareRecord] = []

    def submit(self, record: ShareRecord, done: Callable[[bool], None]) -> None:
        self.records.append(record)
        done(True)


class Transport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.out = bytearray()
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.out += data

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 5555) if name == "peername" else default

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.closed = True

    def pause_reading(self) -> None: ...

    def resume_reading(self) -> None: ...

    def is_closing(self) -> bool:
        return self.closed


METHODS = ["mining.subscribe", "mining.authorize", "mining.submit", "mining.configure", "mining.suggest_difficulty",
           "mining.extranonce.subscribe", "x", ""]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
messages = st.builds(
    lambda i, m, p: json.dumps({"id": i, "method": m, "params": p}).encode(),
    st.integers(0, 5) | st.none(), st.sampled_from(METHODS), json_values,
)
chunks = st.lists(st.binary(max_size=80) | messages | st.just(b"\n"), max_size=30)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chunks)
def test_connector_survives_anything(parts: list[bytes]) -> None:
    async def main() -> None:
        sink = Sink()
        cfg = pool_config(Path("."), Scheme.PPLNS)
        strat = Stratifier(cfg, sink, FakeNode(), validate, _noop, pool_script=POOL.p2wpkh)
        strat.set_template(template())
        conn = Connector(cfg.connector, strat)
        p = StratumProtocol(conn)
        t = Transport()
        p.connection_made(t)
        # a logged-in session first, so submits reach share validation
        p.data_received(b'{"id":1,"method":"mining.subscribe","params":[]}\n')
        p.data_received(json.dumps({"id": 2, "method": "mining.authorize", "params": [MINER_ADDR + ".w", ""]}).encode() + b"\n")
        await asyncio.sleep(0)
        for part in parts:
            p.data_received(part + b"\n")
            await asyncio.sleep(0)
        p.connection_lost(None)
        assert sink.records == []
        for line in t.out.splitlines():
            json.loads(line)  # every reply is valid JSON

    asyncio.run(main())


async def _noop(_: object) -> None:
    return None
