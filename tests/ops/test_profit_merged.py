"""Merged-mining profitability (LTC + DOGE for a scrypt machine): a hand-checked example, the CLI
and API figures labelled with their coin, and live difficulty and subsidy from real litecoind and
dogecoind (skipped with a message where they are absent)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from hashforge.cli import app
from hashforge.consensus.address import AddressType, Destination, encode_address
from hashforge.consensus.params import COIN, DOGECOIN_REGTEST, LITECOIN_REGTEST
from hashforge.ops.profit.calc import sig
from hashforge.ops.profit.merged import ChainInputs, merged
from hashforge.ops.profit.units import InputError
from tests.helpers.peers import find_peer, requires_peer
from tests.integration.test_altcoin_daemons import Daemon

TWO_48 = Decimal(2**48)


def difficulty_for(hashes_per_block: int) -> Decimal:
    """The difficulty at which a block takes `hashes_per_block` hashes: HPB x 0xFFFF / 2^48 (exact)."""
    return Decimal(hashes_per_block) * 0xFFFF / TWO_48


def test_hand_checked_ltc_plus_doge() -> None:
    """A 10 GH/s scrypt machine, 3,425 W, USD 0.05/kWh, 2 % pool fee; difficulties chosen so that a
    block takes 1.728e17 hashes on Litecoin and 6.912e16 on Dogecoin.

    Hashes per day: 1e10 x 86,400 = 8.64e14.
    LTC: 8.64e14 / 1.728e17 = 0.005 blocks/day x (6.25 + 0.01 fees) LTC = 0.0313 LTC gross;
         less 2 %: 0.030674 LTC = 3,067,400 litoshi; at USD 80: USD 2.45392.
    DOGE: 8.64e14 / 6.912e16 = 0.0125 blocks/day x 10,000 DOGE = 125 DOGE gross;
          less 2 %: 122.5 DOGE; at USD 0.20: USD 24.50.
    Revenue: 2.45392 + 24.50 = USD 26.95392. Energy: 3,425 W x 24 h = 82.2 kWh = USD 4.11.
    Profit: 26.95392 - 4.11 = USD 22.84392 a day; Dogecoin adds USD 24.50 to Litecoin's revenue.
    """
    m = merged(Decimal(10**10), Decimal(3425), Decimal("0.05"), Decimal(2), [
        ChainInputs("ltc", difficulty_for(172_800_000_000_000_000), 625_000_000, 1_000_000, Decimal(80)),
        ChainInputs("DOGE", difficulty_for(69_120_000_000_000_000), 10_000 * COIN, 0, Decimal("0.20")),
    ])
    ltc, doge = m.chains
    assert (ltc.coin, doge.coin) == ("LTC", "DOGE")
    # difficulty x 2^48 / 0xFFFF is exact only to the calculator's 50 digits: compare as the API
    # shows figures, to 12 significant digits
    figures = {name: sig(value) for name, value in (
        ("ltc_blocks", ltc.blocks_per_day), ("doge_blocks", doge.blocks_per_day), ("ltc_sat", ltc.sat_per_day),
        ("ltc_coins", ltc.coins_per_day), ("doge_coins", doge.coins_per_day), ("ltc_usd", ltc.revenue_per_day),
        ("doge_usd", doge.revenue_per_day), ("revenue", m.revenue_per_day), ("kwh", m.energy_kwh_per_day),
        ("cost", m.cost_per_day), ("profit", m.profit_per_day), ("gain", m.merged_gain_per_day),
        ("ltc_share", ltc.revenue_share_pct))}
    assert figures == {
        "ltc_blocks": "0.005", "doge_blocks": "0.0125", "ltc_sat": "3067400", "ltc_coins": "0.030674",
        "doge_coins": "122.5", "ltc_usd": "2.45392", "doge_usd": "24.5", "revenue": "26.95392", "kwh": "82.2",
        "cost": "4.11", "profit": "22.84392", "gain": "24.5", "ltc_share": "9.10413030832",  # 2.45392 / 26.95392
    }


def test_a_chain_merged_twice_is_refused() -> None:
    with pytest.raises(InputError, match="once"):
        merged(Decimal(1), Decimal(1), Decimal(0), Decimal(0), [
            ChainInputs("DOGE", Decimal(1), 1, 0, Decimal(1)), ChainInputs("doge", Decimal(1), 1, 0, Decimal(1))])


def calc_json(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["calc", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_cli_merged_figures_carry_their_coin() -> None:
    body = calc_json("--preset", "l7", "--coin", "ltc", "--merge", "doge", "--merge-price-usd", "0.2",
                     "--merge-difficulty", "2e7", "--electricity", "0.05")
    assert body["coin"] == "LTC"
    m = body["merged"]
    assert [c["coin"] for c in m["chains"]] == ["LTC", "DOGE"]
    assert m["chains"][1]["difficulty"] == "20000000" and m["chains"][1]["price"] == "0.2"
    assert m["sources"]["difficulty"] == m["sources"]["price"] == "user"
    assert m["sources"]["subsidy"].startswith("reference DOGE")
    # the parent's merged figures are the single-coin calculation's
    assert m["chains"][0]["revenue_per_day"] == body["result"]["revenue_per_day"]
    total = Decimal(m["chains"][0]["revenue_per_day"]) + Decimal(m["chains"][1]["revenue_per_day"])
    assert abs(Decimal(m["revenue_per_day"]) - total) < Decimal("1e-9")
    human = CliRunner().invoke(app, ["calc", "--preset", "l7", "--coin", "ltc", "--merge", "doge"])
    assert human.exit_code == 0 and " LTC (" in human.stdout and "DOGE at difficulty" in human.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["--preset", "s21", "--merge", "doge"], "cannot be merge-mined"),
    (["--preset", "l7", "--coin", "ltc", "--merge", "ltc"], "cannot be merge-mined"),
    (["--preset", "l7", "--merge", "nope"], "no coin 'nope'"),
    (["--preset", "l7", "--merge", "doge", "--merge-difficulty", "-1"], "--merge-difficulty"),
    (["--preset", "l7", "--merge-node-rpc", "http://a:b@127.0.0.1:1/"], "give --merge"),
])
def test_cli_merge_bad_input_one_line(args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["calc", *args])
    assert result.exit_code == 2 and message in result.stderr and "Traceback" not in result.output


@pytest.fixture
def both_daemons(tmp_path: Path) -> Iterator[tuple[Daemon, Daemon]]:
    ltc_prog, doge_prog = find_peer("litecoind"), find_peer("dogecoind")
    assert ltc_prog is not None and doge_prog is not None
    ltc = Daemon(ltc_prog, tmp_path / "ltc").start()
    try:
        doge = Daemon(doge_prog, tmp_path / "doge").start()
        try:
            yield ltc, doge
        finally:
            doge.stop()
    finally:
        ltc.stop()


@requires_peer("litecoind", "live merged profitability")
@requires_peer("dogecoind", "live merged profitability")
def test_live_difficulty_and_subsidy_from_both_nodes(both_daemons: tuple[Daemon, Daemon]) -> None:
    """`calc --node-rpc litecoind --merge doge --merge-node-rpc dogecoind`: each chain's difficulty
    is its node's getdifficulty, each subsidy its network's schedule at the node's next height
    (Litecoin regtest: 50 LTC halving every 150; Dogecoin regtest: 500,000 DOGE)."""
    ltc, doge = both_daemons
    ltc.call("generatetoaddress", 160, encode_address(Destination(AddressType.P2PKH, bytes(20)), LITECOIN_REGTEST))
    doge.call("generatetoaddress", 5, encode_address(Destination(AddressType.P2PKH, bytes(20)), DOGECOIN_REGTEST))
    url = "http://hf:hf-pass@127.0.0.1:{}/"
    body = calc_json("--preset", "l7", "--node-rpc", url.format(ltc.port), "--merge", "doge",
                     "--merge-node-rpc", url.format(doge.port), "--merge-price-usd", "0.1", "--price-usd", "50")
    assert body["coin"] == "LTC" and body["algorithm"] == "scrypt"
    assert body["live"]["chain"] == "regtest" and body["live"]["height"] == 160
    assert body["inputs"]["subsidy_sat"] == 25 * COIN  # block 161: one halving (150) on Litecoin regtest
    assert body["sources"]["difficulty"] == "node (regtest at height 160)"
    ltc_chain, doge_chain = body["merged"]["chains"]
    assert ltc_chain["difficulty"] == sig(Decimal(str(ltc.call("getdifficulty"))))
    assert doge_chain["difficulty"] == sig(Decimal(str(doge.call("getdifficulty"))))
    assert doge_chain["coin"] == "DOGE" and doge_chain["subsidy_sat"] == 500_000 * COIN
    assert body["merged"]["sources"]["difficulty"] == "node (regtest at height 5)"
    assert Decimal(doge_chain["revenue_per_day"]) > 0 and Decimal(ltc_chain["revenue_per_day"]) > 0
