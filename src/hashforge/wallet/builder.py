"""Unsigned transactions from coins and outputs: coin selection, fee, change (never dust)."""

from __future__ import annotations

import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from hashforge.consensus.serialize import ser_compact_size
from hashforge.consensus.tx import Transaction, TxIn, TxOut

from .coinselect import LONG_TERM_FEE_RATE, Candidate, SelectionParams, select_coins
from .errors import AmountError, DustError, InsufficientFundsError
from .keys import ScriptType
from .policy import SEQUENCE_RBF, FeeRate, dust_threshold, output_size
from .signer import Coin

MAX_STANDARD_TX_WEIGHT = 400_000


@dataclass(frozen=True)
class TxPlan:
    """An unsigned transaction, the coins its inputs spend (in input order), and its fee."""

    tx: Transaction
    coins: tuple[Coin, ...]
    fee: int
    fee_rate: FeeRate
    change_index: int | None
    algorithm: str

    @property
    def estimated_vsize(self) -> int:
        return (estimate_weight([c.script_type for c in self.coins], self.tx.vout) + 3) // 4


def estimate_weight(input_types: Sequence[ScriptType], outputs: Sequence[TxOut]) -> int:
    """Weight of the signed transaction (signatures at their largest)."""
    base = 4 + len(ser_compact_size(len(input_types))) + len(ser_compact_size(len(outputs))) + 4
    base += sum(output_size(o.script_pubkey) for o in outputs)
    return base * 4 + 2 + sum(t.input_weight for t in input_types)


def _vsize(weight: int) -> int:
    return (weight + 3) // 4


def check_outputs(outputs: Sequence[TxOut], dust_floor: int = 0) -> None:
    if not outputs:
        raise AmountError("no outputs to pay")
    for o in outputs:
        if o.value <= 0:
            raise AmountError(f"amount must be positive, not {o.value} sat")
        dust = dust_threshold(o.script_pubkey, dust_floor)
        if o.value < dust:
            raise DustError(f"amount {o.value} sat is below the dust limit of {dust} sat for that address")


def plan_transaction(
    available: Sequence[Coin],
    outputs: Sequence[TxOut],
    fee_rate: FeeRate,
    change_script: bytes,
    change_type: ScriptType,
    *,
    preset: Sequence[Coin] = (),
    min_fee: int = 0,
    locktime: int = 0,
    sequence: int = SEQUENCE_RBF,
    rng: random.Random | None = None,
    dust_floor: int = 0,
) -> TxPlan:
    """Chooses inputs (all of `preset`, plus what coin selection takes from `available`), adds
    change when it is worth more than its dust threshold, and returns the unsigned plan.

    `min_fee` is a floor on the absolute fee (BIP125 replacements must pay for the original);
    `dust_floor` the network's flat dust limit (no output or change below it)."""
    check_outputs(outputs, dust_floor)
    out_total = sum(o.value for o in outputs)
    change_out = TxOut(0, change_script)
    no_change_weight = estimate_weight([], outputs)
    change_weight = 4 * output_size(change_script)
    base_fee = fee_rate.fee_weight(no_change_weight + sum(c.script_type.input_weight for c in preset))
    target = out_total + max(base_fee, min_fee) - sum(c.value for c in preset)
    params = SelectionParams(
        target=target,
        fee_rate=fee_rate,
        change_output_fee=fee_rate.fee_weight(change_weight),
        change_spend_fee=LONG_TERM_FEE_RATE.fee_weight(change_type.input_weight),
        min_change=dust_threshold(change_script, dust_floor),
    )
    preset_keys = {c.outpoint for c in preset}
    pool = [Candidate(c, c.value, c.script_type.input_weight) for c in available if c.outpoint not in preset_keys]
    chosen: list[Coin] = list(preset)
    algorithm = "preset"
    if params.target > 0 or not preset:
        sel = select_coins(pool, params, rng)
        if sel is None:
            have = sum(c.value for c in pool) + sum(c.value for c in preset)
            raise InsufficientFundsError(
                f"insufficient funds: sending {out_total} sat needs more than {out_total + max(base_fee, min_fee)} sat "
                f"with the fee, {have} sat is spendable"
            )
        chosen += [c.coin for c in sel.chosen]
        algorithm = sel.algorithm
    return _finish(chosen, outputs, fee_rate, change_out, min_fee, locktime, sequence, algorithm, dust_floor)


def _finish(
    coins: list[Coin], outputs: Sequence[TxOut], fee_rate: FeeRate, change_out: TxOut,
    min_fee: int, locktime: int, sequence: int, algorithm: str, dust_floor: int = 0,
) -> TxPlan:
    types = [c.script_type for c in coins]
    total_in = sum(c.value for c in coins)
    out_total = sum(o.value for o in outputs)
    # fees on whole virtual bytes, as nodes compute a transaction's fee rate
    fee_without = max(fee_rate.fee(_vsize(estimate_weight(types, outputs))), min_fee)
    fee_with = max(fee_rate.fee(_vsize(estimate_weight(types, [*outputs, change_out]))), min_fee)
    change = total_in - out_total - fee_with
    vout = list(outputs)
    change_index: int | None = None
    if change >= dust_threshold(change_out.script_pubkey, dust_floor):
        change_index = secrets.randbelow(len(vout) + 1)  # change position says nothing
        vout.insert(change_index, TxOut(change, change_out.script_pubkey))
        fee = fee_with
    else:
        fee = total_in - out_total
        if fee < fee_without:
            raise InsufficientFundsError(
                f"insufficient funds: {total_in} sat of inputs cannot pay {out_total} sat plus a {fee_without} sat fee"
            )
    vin = tuple(TxIn(c.outpoint, b"", sequence) for c in coins)
    tx = Transaction(2, vin, tuple(vout), locktime)
    if estimate_weight(types, vout) > MAX_STANDARD_TX_WEIGHT:
        raise AmountError("the transaction would be too large to relay; send in smaller batches")
    return TxPlan(tx, tuple(coins), fee, fee_rate, change_index, algorithm)
