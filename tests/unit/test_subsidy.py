"""Block subsidy schedule and the BIP34 height in the coinbase."""

from __future__ import annotations

import dataclasses

import pytest

from hashforge.consensus.params import COIN, DEVNET, MAINNET, MAX_MONEY, REGTEST
from hashforge.consensus.pow import (
    MAX_HALVINGS,
    bip34_height_script,
    block_subsidy,
    decode_bip34_height,
)


@pytest.mark.parametrize(
    ("height", "subsidy"),
    [
        (0, 50 * COIN),
        (209_999, 50 * COIN),
        (210_000, 25 * COIN),
        (419_999, 25 * COIN),
        (420_000, 1_250_000_000),
        (630_000, 625_000_000),
        (840_000, 312_500_000),
        (1_050_000, 156_250_000),
        (32 * 210_000, 1),  # 5e9 >> 32
        (33 * 210_000, 0),
        (64 * 210_000 - 1, 0),
        (64 * 210_000, 0),
        (10**12, 0),
    ],
)
def test_mainnet_subsidy(height: int, subsidy: int) -> None:
    assert block_subsidy(height, MAINNET) == subsidy


def test_sixty_four_halvings_cut_off_rather_than_shift_wrap() -> None:
    # In C++, 5e9 >> 64 would be undefined; Core stops at 64 halvings. Check the cut-off with an
    # interval of 1 so that halving 63 and 64 are adjacent heights.
    tiny = dataclasses.replace(REGTEST, subsidy_halving_interval=1)
    assert block_subsidy(MAX_HALVINGS - 1, tiny) == (50 * COIN) >> 63 == 0
    assert block_subsidy(MAX_HALVINGS, tiny) == 0


def test_total_supply_is_below_21_million() -> None:
    total = sum(
        block_subsidy(h * MAINNET.subsidy_halving_interval, MAINNET) * MAINNET.subsidy_halving_interval
        for h in range(MAX_HALVINGS + 1)
    )
    assert total == 2_099_999_997_690_000
    assert total < MAX_MONEY


def test_regtest_and_devnet_halving_intervals() -> None:
    assert block_subsidy(149, REGTEST) == 50 * COIN
    assert block_subsidy(150, REGTEST) == 25 * COIN
    assert block_subsidy(209_999, DEVNET) == 50 * COIN
    assert block_subsidy(210_000, DEVNET) == 25 * COIN


def test_negative_height_is_an_error() -> None:
    with pytest.raises(ValueError):
        block_subsidy(-1, MAINNET)
    with pytest.raises(ValueError):
        bip34_height_script(-1)


@pytest.mark.parametrize(
    ("height", "script_hex"),
    [
        (0, "00"),
        (1, "51"),
        (16, "60"),
        (17, "0111"),
        (127, "017f"),
        (128, "028000"),
        (255, "02ff00"),
        (256, "020001"),
        (32767, "02ff7f"),
        (32768, "03008000"),
        (227_931, "035b7a03"),  # mainnet's BIP34 activation height
        (413_567, "037f4f06"),
        (8_388_608, "0400008000"),
    ],
)
def test_bip34_height_script_round_trip(height: int, script_hex: str) -> None:
    script = bytes.fromhex(script_hex)
    assert bip34_height_script(height) == script
    assert decode_bip34_height(script) == height
    assert decode_bip34_height(script + b"\x00" + b"extranonce") == height


@pytest.mark.parametrize(
    "script_hex",
    [
        "",  # empty
        "4f",  # OP_1NEGATE
        "0181",  # -1
        "0105",  # 5 must be OP_5
        "020500",  # non-minimal 5
        "03ff7f00",  # non-minimal 32767
        "0380",  # truncated push
        "6a",  # OP_RETURN
        "4c0105",  # OP_PUSHDATA1
        "09000000000000000001",  # 9-byte number
    ],
)
def test_decode_bip34_height_rejects(script_hex: str) -> None:
    assert decode_bip34_height(bytes.fromhex(script_hex)) is None
