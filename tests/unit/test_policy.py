"""Standardness (Core's policy.cpp): output types, dust, IsStandardTx, input and witness checks."""

from __future__ import annotations

import pytest

from hashforge.consensus.address import (
    p2pkh_script,
    p2sh_script,
    p2tr_script,
    p2wpkh_script,
    p2wsh_script,
)
from hashforge.consensus.script import push_data
from hashforge.consensus.tx import OutPoint, Transaction, TxIn, TxOut
from hashforge.node.policy import (
    MAX_OP_RETURN_RELAY,
    FeeRate,
    PolicyOptions,
    TxoutType,
    are_inputs_standard,
    dust_threshold,
    is_dust,
    is_standard_script,
    is_standard_tx,
    is_witness_standard,
    signals_rbf,
    solve,
)

PK = bytes.fromhex("02" + "11" * 32)
PK_U = bytes.fromhex("04" + "22" * 64)
H20, H32 = b"\x33" * 20, b"\x44" * 32
OP_CHECKMULTISIG = b"\xae"


def multisig(m: int, keys: list[bytes]) -> bytes:
    return bytes([0x50 + m]) + b"".join(push_data(k) for k in keys) + bytes([0x50 + len(keys)]) + OP_CHECKMULTISIG


@pytest.mark.parametrize(
    ("script", "kind"),
    [
        (p2pkh_script(H20), TxoutType.PUBKEYHASH),
        (p2sh_script(H20), TxoutType.SCRIPTHASH),
        (p2wpkh_script(H20), TxoutType.WITNESS_V0_KEYHASH),
        (p2wsh_script(H32), TxoutType.WITNESS_V0_SCRIPTHASH),
        (p2tr_script(H32), TxoutType.WITNESS_V1_TAPROOT),
        (bytes.fromhex("51024e73"), TxoutType.ANCHOR),
        (b"\x52\x10" + b"\x55" * 16, TxoutType.WITNESS_UNKNOWN),  # v2
        (b"\x51\x14" + H20, TxoutType.WITNESS_UNKNOWN),  # v1, not 32 bytes
        (b"\x00\x10" + b"\x55" * 16, TxoutType.NONSTANDARD),  # v0 of a wrong length
        (push_data(PK) + b"\xac", TxoutType.PUBKEY),
        (push_data(PK_U) + b"\xac", TxoutType.PUBKEY),
        (push_data(b"\x05" + PK[1:]) + b"\xac", TxoutType.NONSTANDARD),
        (multisig(1, [PK, PK_U]), TxoutType.MULTISIG),
        (multisig(3, [PK, PK]), TxoutType.NONSTANDARD),
        (b"\x6a", TxoutType.NULL_DATA),
        (b"\x6a" + push_data(b"hi") + b"\x51", TxoutType.NULL_DATA),
        (b"\x6a\x76", TxoutType.NONSTANDARD),
        (b"\x51", TxoutType.NONSTANDARD),
        (b"", TxoutType.NONSTANDARD),
    ],
)
def test_solver(script: bytes, kind: TxoutType) -> None:
    assert solve(script) is kind


def test_standard_scripts_bare_multisig() -> None:
    assert is_standard_script(multisig(2, [PK, PK, PK]))[0]
    assert not is_standard_script(multisig(2, [PK, PK, PK, PK]))[0]
    assert is_standard_script(b"\x6a" + push_data(b"x" * 1000)) == (True, TxoutType.NULL_DATA)


def test_datacarrier_limit_counts_every_op_return_of_a_tx() -> None:
    """Core 30+: -datacarriersize (default 100,000 = MAX_STANDARD_TX_WEIGHT / 4) bounds the sum of
    all OP_RETURN scriptPubKeys; several OP_RETURN outputs are standard; -datacarrier=0 refuses any."""
    assert MAX_OP_RETURN_RELAY == 100_000
    ret80 = TxOut(0, b"\x6a" + push_data(b"x" * 80))  # 83 bytes, the old per-output limit
    assert is_standard_tx(_tx([TxOut(10_000, p2wpkh_script(H20)), ret80, ret80])) is None
    small = PolicyOptions(max_datacarrier_bytes=166)
    assert is_standard_tx(_tx([TxOut(10_000, p2wpkh_script(H20)), ret80, ret80]), small) is None
    assert is_standard_tx(_tx([TxOut(10_000, p2wpkh_script(H20)), ret80, ret80]),
                          PolicyOptions(max_datacarrier_bytes=165)) == "datacarrier"
    assert is_standard_tx(_tx([TxOut(10_000, p2wpkh_script(H20)), ret80]),
                          PolicyOptions(max_datacarrier_bytes=None)) == "datacarrier"


def test_dust_thresholds_match_core() -> None:
    assert dust_threshold(TxOut(0, p2pkh_script(H20))) == 546
    assert dust_threshold(TxOut(0, p2sh_script(H20))) == 540
    assert dust_threshold(TxOut(0, p2wpkh_script(H20))) == 294
    assert dust_threshold(TxOut(0, p2wsh_script(H32))) == 330
    assert dust_threshold(TxOut(0, p2tr_script(H32))) == 330
    assert dust_threshold(TxOut(0, b"\x6a")) == 0
    assert is_dust(TxOut(293, p2wpkh_script(H20))) and not is_dust(TxOut(294, p2wpkh_script(H20)))
    assert dust_threshold(TxOut(0, p2wpkh_script(H20)), FeeRate(1000)) == 98


def test_feerate_arithmetic() -> None:
    assert FeeRate.from_fee(1000, 141) == FeeRate(7092)
    assert FeeRate(1000).fee(141) == 141
    assert FeeRate(1).fee(10) == 1  # rounded up, never zero for a positive rate
    assert FeeRate(1500).fee(3) == 5
    assert FeeRate(0).fee(100) == 0
    assert str(FeeRate(1234)) == "0.00001234 BTC/kvB"


def _tx(
    outputs: list[TxOut] | None = None, version: int = 2, script_sig: bytes = b"", witness: tuple[bytes, ...] = ()
) -> Transaction:
    vin = (TxIn(OutPoint(b"\x01" * 32, 0), script_sig, 0xFFFFFFFF, witness),)
    return Transaction(version, vin, tuple(outputs or [TxOut(10_000, p2wpkh_script(H20))]))


def test_is_standard_tx_reasons() -> None:
    assert is_standard_tx(_tx()) is None
    assert is_standard_tx(_tx(version=0)) == "version"
    assert is_standard_tx(_tx(version=3)) is None
    assert is_standard_tx(_tx(version=4)) == "version"
    big = [TxOut(1000, p2wpkh_script(H20))] * 3300
    assert is_standard_tx(_tx(big)) == "tx-size"
    assert is_standard_tx(_tx(script_sig=push_data(b"x" * 520) * 4)) == "scriptsig-size"
    assert is_standard_tx(_tx(script_sig=b"\x76")) == "scriptsig-not-pushonly"
    assert is_standard_tx(_tx([TxOut(1000, b"\x51")])) == "scriptpubkey"
    assert is_standard_tx(_tx([TxOut(100, p2wpkh_script(H20))])) == "dust"
    assert is_standard_tx(_tx([TxOut(0, b"\x6a"), TxOut(0, b"\x6a")])) is None  # several OP_RETURNs: Core 30+
    bare = [TxOut(10_000, multisig(1, [PK]))]
    assert is_standard_tx(_tx(bare)) is None
    assert is_standard_tx(_tx(bare), PolicyOptions(permit_bare_multisig=False)) == "bare-multisig"


def test_are_inputs_standard_p2sh_sigops() -> None:
    redeem15 = b"\xac" * 15
    redeem16 = b"\xac" * 16
    p2sh = TxOut(1000, p2sh_script(H20))
    assert are_inputs_standard(_tx(script_sig=push_data(redeem15)), [p2sh])
    assert not are_inputs_standard(_tx(script_sig=push_data(redeem16)), [p2sh])
    assert not are_inputs_standard(_tx(), [TxOut(1000, b"\x51")])
    assert not are_inputs_standard(_tx(), [TxOut(1000, b"\x52\x10" + b"\x55" * 16)])  # witness v2
    assert are_inputs_standard(_tx(), [TxOut(1000, p2tr_script(H32))])


def test_is_witness_standard() -> None:
    wsh = TxOut(1000, p2wsh_script(H32))
    script = b"\x75\x51"
    assert is_witness_standard(_tx(witness=(b"x" * 80, script)), [wsh])
    assert not is_witness_standard(_tx(witness=(b"x" * 81, script)), [wsh])
    assert not is_witness_standard(_tx(witness=(*([b""] * 101), script)), [wsh])
    assert not is_witness_standard(_tx(witness=(b"\x51" * 3601,)), [wsh])
    # a witness on a non-witness output is witness stuffing
    assert not is_witness_standard(_tx(witness=(b"x",)), [TxOut(1000, p2pkh_script(H20))])
    tr = TxOut(1000, p2tr_script(H32))
    assert is_witness_standard(_tx(witness=(b"s" * 64,)), [tr])
    assert not is_witness_standard(_tx(witness=(b"s" * 64, b"\x50annex")), [tr])
    control = b"\xc0" + H32
    assert is_witness_standard(_tx(witness=(b"x" * 80, b"\x51", control)), [tr])
    assert not is_witness_standard(_tx(witness=(b"x" * 81, b"\x51", control)), [tr])
    assert not is_witness_standard(_tx(witness=(b"x", b"\x51", b"")), [tr])


def test_signals_rbf() -> None:
    tx = _tx()
    assert not signals_rbf(tx)
    rbf = Transaction(2, (TxIn(OutPoint(b"\x01" * 32, 0), b"", 0xFFFFFFFD),), tx.vout)
    assert signals_rbf(rbf)
