"""hashforge.jsonlimits: depth is measured without recursion, brackets inside strings do not count,
and what passes the check decodes exactly as json.loads does."""

from __future__ import annotations

import json
import sys
import time

import pytest

from hashforge.jsonlimits import MAX_DEPTH, JSONDepthError, loads, nesting_depth
from hashforge.stratum import StratumProtocolError, decode_line


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ("", 0),
        ("5", 0),
        ("[]", 1),
        ('{"a":[1,{"b":[]}]}', 4),
        ('["[[[[", "]]"]', 1),
        ('["\\"[[[[\\\\", [[1]]]', 3),  # escaped quote and backslash inside the string
        ('[1], [[2]]', 2),
        ('"unterminated [[', 2),  # not JSON anyway; counted, never trusted
    ],
)
def test_nesting_depth(text: str, depth: int) -> None:
    assert nesting_depth(text) == depth
    assert nesting_depth(text.encode()) == depth
    assert nesting_depth(bytearray(text.encode())) == depth


def test_limit_is_inclusive_and_decoding_is_json_loads() -> None:
    ok = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert loads(ok) == json.loads(ok)
    with pytest.raises(JSONDepthError, match="nested deeper than 64"):
        loads("[" + ok + "]")
    doc = {"id": 1, "method": "mining.submit", "params": ["w", "[{", "00" * 4], "x": [[{"y": None}]]}
    assert loads(json.dumps(doc)) == doc == loads(json.dumps(doc).encode())
    with pytest.raises(ValueError):
        loads(b"{not json")


@pytest.mark.parametrize("opener", ["[", '{"a":'])
def test_far_past_the_recursion_limit_is_a_value_error(opener: str) -> None:
    n = sys.getrecursionlimit() * 50
    closer = "]" if opener == "[" else "}"
    with pytest.raises(JSONDepthError):
        loads(opener * n + "1" + closer * n)
    with pytest.raises(StratumProtocolError, match="nested deeper"):
        decode_line(b'{"id":1,"method":"mining.subscribe","params":' + b"[" * 5000 + b"]" * 5000 + b"}")


def test_large_flat_documents_stay_cheap() -> None:
    # a 1,000-item batch of small calls: more brackets than the limit, so the scan runs
    batch = json.dumps([{"method": "getblockheader", "params": [f"{i:064x}", True], "id": i} for i in range(1000)])
    block = json.dumps({"method": "submitblock", "params": ["ab" * 2_000_000]})  # 4 MB: the fast path
    t = time.perf_counter()
    assert len(loads(batch)) == 1000
    assert loads(block)["method"] == "submitblock"
    assert time.perf_counter() - t < 2.0
