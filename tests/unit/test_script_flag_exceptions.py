"""Core's script_flag_exceptions: the blocks that broke BIP16 or taproot before enforcement get the
flags Core validated them with, and no other block does."""

from __future__ import annotations

from hashforge.consensus.params import MAINNET, TESTNET3
from hashforge.consensus.script_flags import ScriptFlags
from hashforge.consensus.validation import block_script_flags


def _hash(display_hex: str) -> bytes:
    return bytes.fromhex(display_hex)[::-1]


TAPROOT_EXCEPTION = _hash("0000000000000000000f14c35b2d841e986ab5441de8c585d5ffe55ea1e395ad")
BIP16_MAINNET = _hash("00000000000002dc756eebf4f49723ed8d30cc28a5f108eb94b1ba88ac4f9c22")
BIP16_TESTNET3 = _hash("00000000dd30457c001f4095d208cc1296b0eed002427aa599874af7a432b105")
BY_HEIGHT = ScriptFlags.DERSIG | ScriptFlags.CHECKLOCKTIMEVERIFY | ScriptFlags.CHECKSEQUENCEVERIFY | ScriptFlags.NULLDUMMY


def test_taproot_exception_block_is_checked_without_taproot() -> None:
    flags = block_script_flags(TAPROOT_EXCEPTION, 692_261, MAINNET)
    assert flags == ScriptFlags.P2SH | ScriptFlags.WITNESS | BY_HEIGHT
    assert not flags & ScriptFlags.TAPROOT
    # its neighbours, and the same hash on another network, get taproot
    assert block_script_flags(bytes(32), 692_261, MAINNET) & ScriptFlags.TAPROOT
    assert block_script_flags(TAPROOT_EXCEPTION, 692_261, TESTNET3) & ScriptFlags.TAPROOT


def test_bip16_exceptions() -> None:
    assert block_script_flags(BIP16_MAINNET, 170_060, MAINNET) == ScriptFlags.NONE
    assert block_script_flags(BIP16_TESTNET3, 1, TESTNET3) & (ScriptFlags.P2SH | ScriptFlags.WITNESS) == ScriptFlags.NONE
    assert block_script_flags(BIP16_MAINNET, 170_060, TESTNET3) & ScriptFlags.P2SH
