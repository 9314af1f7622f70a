"""The API's pure parts: settings validation, cursors, token buckets, key table, formatting, charts."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from hashforge.api.ratelimit import TokenBuckets, retry_after_header
from hashforge.api.settings import ApiSettings
from hashforge.httpedge.hosts import is_loopback
from hashforge.services.errors import BadCursor
from hashforge.services.keys import KeyStore, KeyStoreError, Scope, parse_scopes
from hashforge.services.node import to_sat
from hashforge.services.paging import cursor_int, decode_cursor, encode_cursor
from hashforge.web import fmt
from hashforge.web.charts import line_chart


def test_settings_policy(tmp_path: Path) -> None:
    assert not ApiSettings(datadir=tmp_path).reads_need_key  # loopback default: anonymous reads
    assert ApiSettings(datadir=tmp_path, host="0.0.0.0").reads_need_key
    assert ApiSettings(datadir=tmp_path, anonymous_read=False).reads_need_key
    for bad in [
        {"host": "0.0.0.0", "anonymous_read": True},
        {"cors_origins": ("*",)},
        {"cors_origins": ("http://x.example/path",)},
        {"node_user": "u"},
        {"node_user": "u", "node_password": "p" * 15, "node_rpc_url": "http://10.0.0.5:8332/"},
        {"node_rpc_url": "file:///etc/passwd"},
        {"rate_per_s": 0},
        {"max_body_bytes": 0},
        {"port": 70000},
        {"unknown": 1},
    ]:
        with pytest.raises(ValidationError):
            ApiSettings(datadir=tmp_path, **bad)
    assert [is_loopback(h) for h in ["127.0.0.1", "127.8.9.1", "::1", "[::1]", "localhost", "10.0.0.1", "example.com"]] == [
        True, True, True, True, True, False, False]


def test_settings_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HASHFORGE_API_RATE_PER_S", "2.5")
    monkeypatch.setenv("HASHFORGE_API_CORS_ORIGINS", '["http://a.example"]')
    s = ApiSettings(datadir=tmp_path)
    assert s.rate_per_s == 2.5 and s.cors_origins == ("http://a.example",)


def test_cursors_round_trip_and_refuse_others() -> None:
    c = encode_cursor("blocks", h=41)
    assert set(c) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert cursor_int(decode_cursor("blocks", c), "h") == 41
    for bad in ["", "x", encode_cursor("history", h=1), "e30"]:  # e30 = "{}"
        with pytest.raises(BadCursor):
            decode_cursor("blocks", bad)
    for value in ["1", -5, True, 2**70, None]:
        with pytest.raises(BadCursor):
            cursor_int(decode_cursor("blocks", encode_cursor("blocks", h=value)), "h")


def test_token_bucket() -> None:
    now = [0.0]
    buckets = TokenBuckets(rate=2.0, burst=3, clock=lambda: now[0])
    assert [buckets.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = buckets.take("a")
    assert wait == pytest.approx(0.5) and retry_after_header(wait) == "1"
    assert buckets.take("b") == 0.0  # separate bucket
    now[0] += 0.5
    assert buckets.take("a") == 0.0 and buckets.take("a") > 0
    now[0] += 100
    assert [buckets.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]


def test_key_store(tmp_path: Path) -> None:
    path = tmp_path / "keys.sqlite3"
    one, other = KeyStore(path), KeyStore(path)
    key, token = one.create("dash", frozenset({Scope.READ}))
    assert other.verify(token) == key  # another connection (another process) sees it at once
    assert key.allows(Scope.READ) and not key.allows(Scope.CONTROL)
    assert other.verify(token + "x") is None and other.verify(token.replace("hfk_", "hfx_")) is None
    one.revoke("dash")
    assert other.verify(token) is None
    with pytest.raises(KeyStoreError):
        one.create("dash", frozenset({Scope.READ}))
    with pytest.raises(KeyStoreError):
        one.create("bad\nname", frozenset({Scope.READ}))
    assert parse_scopes("read, SPEND") == {Scope.READ, Scope.SPEND}
    with pytest.raises(KeyStoreError):
        parse_scopes("")
    one.close()
    other.close()


def test_amounts_are_exact_satoshis() -> None:
    assert to_sat(50.0) == 5_000_000_000
    assert to_sat(0.1) == 10_000_000
    assert to_sat(20999999.9769) == 2_099_999_997_690_000
    assert to_sat(1e-05) == 1_000


def test_formatting() -> None:
    assert fmt.hashrate(0) == "0 H/s"
    assert fmt.hashrate(1_234_567) == "1.23 MH/s"
    assert fmt.hashrate(4.5e-7) == "4.50e-07 H/s"
    assert fmt.difficulty(None) == "–"
    assert fmt.ago(100, now=160) == "1 min ago" and fmt.ago(200, now=100) == "0 s ago" and fmt.ago(10_000, now=100) == "in the future"
    assert fmt.coins(123_456_789) == "1.23456789"
    assert fmt.short_hash("ab" * 32) == "abababab…abababab"


def test_chart_svg() -> None:
    svg = line_chart([(1, 10.0), (2, 30.0), (3, 20.0)], "Rate <by> height", fmt.hashrate, chart_id="c")
    assert svg.startswith("<svg") and 'aria-labelledby="c-title c-desc"' in svg
    assert "Rate &lt;by&gt; height" in svg and "latest 20 H/s" in svg and " style=" not in svg
    empty = line_chart([], "Nothing", fmt.hashrate, empty_text="No data yet")
    assert "No data yet" in empty and "<polyline" not in empty
