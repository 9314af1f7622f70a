"""Sending: fee rates, building and signing, idempotent requests, broadcasting, BIP125 fee
bumps and PSBT creation. Used through `Wallet`; split out to keep each file readable.

Payout processes (the pool) call `Wallet.send_many(outputs, idempotency_key=...)`, or the two
halves: `prepare_send` (signed and recorded, coins reserved, nothing broadcast) then
`broadcast(txid)`. A request is identified by its key; the same key with the same outputs and
fee setting returns the same transaction (or its fee-bumped replacement), never a second payment.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from hashforge.consensus.address import AddressError, address_to_script, script_to_address
from hashforge.consensus.tx import Transaction, TxOut

from . import psbt as psbt_mod
from .builder import TxPlan, check_outputs, plan_transaction
from .db import TxStatus
from .errors import (
    AmountError,
    BroadcastError,
    BumpFeeError,
    FeeRateError,
    IdempotencyConflictError,
    InvalidAddressError,
    NodeError,
    TransactionNotFoundError,
    WalletError,
)
from .models import PreparedTx
from .policy import (
    SEQUENCE_NO_RBF,
    SEQUENCE_RBF,
    FeeRate,
    RelayPolicy,
    default_relay_policy,
)
from .signer import Coin, sign_transaction

if TYPE_CHECKING:
    from .wallet import Wallet

log = logging.getLogger(__name__)
DEFAULT_FALLBACK_FEE = FeeRate(10_000)  # 10 sat/vB when the node has no estimate
_ALREADY_KNOWN = ("already in mempool", "txn-already-known", "txn-already-in-mempool", "already in block chain",
                  "already in utxo set")


FeeRateLike = FeeRate | int | float | str | Decimal | None


def coerce_fee_rate(value: FeeRateLike) -> FeeRate | None:
    """A FeeRate, or a number of sat/vB (int, Decimal, str; float is taken via its str form)."""
    if value is None or isinstance(value, FeeRate):
        return value
    return FeeRate.from_sat_per_vb(str(value) if isinstance(value, float) else value)


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split())[:300]


class Sender:
    def __init__(self, wallet: Wallet, fallback_fee: FeeRate | None = None) -> None:
        self.w = wallet
        self._fallback_fee = fallback_fee
        self._policy: RelayPolicy | None = None

    @property
    def policy(self) -> RelayPolicy:
        """The network's relay policy, with the node's figures once it has answered getnetworkinfo."""
        if self._policy is None:
            policy = default_relay_policy(self.w.params)
            if self.w.rpc is None:
                return policy
            try:
                info = self.w.rpc.call("getnetworkinfo")
            except Exception as e:  # a node without it (ours answers it) keeps the defaults
                log.info("getnetworkinfo failed (%s); using %s's default relay policy", _one_line(e), self.w.params.name)
                info = {}
            self._policy = policy.with_node_info(info if isinstance(info, dict) else {})
        return self._policy

    @property
    def fallback_fee(self) -> FeeRate:
        if self._fallback_fee is not None:
            return max(self._fallback_fee, self.policy.min_relay_fee)
        return self.policy.fallback_fee

    # --- inputs to a send -------------------------------------------------------------------------

    def parse_outputs(self, outputs: Sequence[tuple[str, int]]) -> list[TxOut]:
        if not outputs:
            raise AmountError("no outputs to pay")
        result = []
        for address, amount in outputs:
            try:
                script = address_to_script(address, self.w.params)
            except AddressError as e:
                raise InvalidAddressError(f"{address!r}: {e}") from None
            if isinstance(amount, bool) or not isinstance(amount, int):
                raise AmountError(f"amount for {address} must be an integer number of satoshis")
            result.append(TxOut(amount, script))
        check_outputs(result, self.policy.dust_floor)
        return result

    def estimate_fee_rate(self, conf_target: int = 6) -> tuple[FeeRate, str]:
        """(fee rate, "estimatesmartfee" | "fallback") for confirmation within `conf_target` blocks."""
        if not 1 <= conf_target <= 1008:
            raise FeeRateError("confirmation target must be 1 to 1008 blocks")
        rpc = self.w.require_rpc()
        try:
            est = rpc.call("estimatesmartfee", conf_target)
        except Exception as e:
            raise NodeError(f"node RPC estimatesmartfee failed: {_one_line(e)}") from None
        # Bitcoin/Litecoin Core leave `feerate` out without an estimate; Dogecoin Core 1.14 says -1
        if isinstance(est, dict) and est.get("feerate") is not None and Decimal(str(est["feerate"])) > 0:
            rate = FeeRate.from_btc_per_kvb(est["feerate"])
            return max(rate, self.policy.min_relay_fee), "estimatesmartfee"
        log.warning("the node has no fee estimate; using the fallback fee rate %s", self.fallback_fee)
        return self.fallback_fee, "fallback"

    def _resolve_rate(self, fee_rate: FeeRateLike, conf_target: int) -> tuple[FeeRate, str]:
        fee_rate = coerce_fee_rate(fee_rate)
        if fee_rate is not None:
            self.policy.check(fee_rate)
            return fee_rate, "explicit"
        return self.estimate_fee_rate(conf_target)

    def spendable_coins(self) -> list[Coin]:
        maturity = self.w.params.coinbase_maturity
        tip = self.w.tip_height()
        coins = []
        for r in self.w.db.unspent():
            conf = 0 if r.height is None or tip is None or r.status is not TxStatus.CONFIRMED else tip - r.height + 1
            if r.coinbase and conf < maturity:
                continue
            if conf >= 1 or (r.trusted and r.status is TxStatus.MEMPOOL):
                coins.append(self.w.book.coin(r))
        return coins

    # --- prepare / record ---------------------------------------------------------------------------

    @staticmethod
    def _fingerprint(outputs: Sequence[tuple[str, int]], fee_rate: FeeRate | None, rbf: bool) -> str:
        doc = {"outputs": [[a, int(v)] for a, v in outputs],
               "fee_rate": None if fee_rate is None else fee_rate.sat_per_kvb, "rbf": rbf}
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()

    def _prepared(self, txid: str, key: str | None, fee_source: str = "recorded") -> PreparedTx:
        row = self.w.db.tx(txid)
        assert row is not None and row.raw is not None
        tx = Transaction.from_bytes(row.raw)
        change = [i for i, o in enumerate(tx.vout) if self.w.book.is_change(o.script_pubkey)]
        outs = tuple((script_to_address(o.script_pubkey, self.w.params) or o.script_pubkey.hex(), o.value)
                     for i, o in enumerate(tx.vout) if i not in change)
        fee = row.fee or 0
        vsize = row.vsize or tx.vsize
        rate = f"{fee / vsize:.3f}" if vsize else "0"
        return PreparedTx(txid, row.raw.hex(), fee, rate, vsize, outs, change[0] if change else None, key,
                          str(row.status), fee_source)

    def _plan(self, outs: list[TxOut], rate: FeeRate, rbf: bool, preset: Sequence[Coin] = (),
              min_fee: int = 0, change_script: bytes | None = None) -> TxPlan:
        book = self.w.book
        change_type = book.default_type
        if change_script is None:
            change_script = book.new_change(change_type).script
        tip = self.w.tip_height()
        return plan_transaction(
            self.spendable_coins(), outs, rate, change_script, change_type, preset=preset, min_fee=min_fee,
            locktime=tip if tip is not None and tip < 500_000_000 else 0,  # anti-fee-sniping
            sequence=SEQUENCE_RBF if rbf else SEQUENCE_NO_RBF, dust_floor=self.policy.dust_floor,
        )

    def _record(self, tx: Transaction, plan: TxPlan) -> None:
        fee = sum(c.value for c in plan.coins) - tx.value_out()
        spends = [(c.outpoint.hash[::-1].hex(), c.outpoint.n) for c in plan.coins]
        ours = [(n, o.value, o.script_pubkey) for n, o in enumerate(tx.vout) if self.w.is_mine(o.script_pubkey)]
        self.w.db.record_sent(tx.txid_hex, tx.serialize(), fee, tx.vsize, spends, ours)
        self.w.book.fill_gaps()

    def prepare(self, outputs: Sequence[tuple[str, int]], fee_rate: FeeRateLike, *,
                idempotency_key: str | None, conf_target: int, rbf: bool) -> PreparedTx:
        outs = self.parse_outputs(outputs)
        fee_rate = coerce_fee_rate(fee_rate)
        fingerprint = self._fingerprint(outputs, fee_rate, rbf)
        if idempotency_key is not None:
            existing = self._existing(idempotency_key, fingerprint)
            if existing is not None:
                return self._prepared(existing, idempotency_key)
        keyring = self.w.keyring  # fails early when locked or watch-only
        rate, source = self._resolve_rate(fee_rate, conf_target)
        with self.w.db.transaction():  # coin choice and recording are one atomic step
            if idempotency_key is not None:
                existing = self._existing(idempotency_key, fingerprint)
                if existing is not None:
                    return self._prepared(existing, idempotency_key)
            plan = self._plan(outs, rate, rbf)
            tx = sign_transaction(plan.tx, plan.coins, keyring.private_key)
            self._record(tx, plan)
            if idempotency_key is not None:
                self.w.db.add_request(idempotency_key, fingerprint, tx.txid_hex)
        log.info("prepared %s: %d outputs, fee %d sat (%s)", tx.txid_hex, len(outs), plan.fee, rate)
        return self._prepared(tx.txid_hex, idempotency_key, source)

    def _existing(self, key: str, fingerprint: str) -> str | None:
        found = self.w.db.request(key)
        if found is None:
            return None
        if found[0] != fingerprint:
            raise IdempotencyConflictError(f"idempotency key {key!r} was used for a different request")
        return self.w.db.latest_replacement(found[1])

    def request_txid(self, key: str) -> str | None:
        found = self.w.db.request(key)
        return None if found is None else self.w.db.latest_replacement(found[1])

    # --- broadcast ------------------------------------------------------------------------------------

    def broadcast(self, txid: str) -> str:
        row = self.w.db.tx(txid)
        if row is None or row.raw is None:
            raise TransactionNotFoundError(f"no transaction {txid} of ours in the wallet")
        if row.status in (TxStatus.MEMPOOL, TxStatus.CONFIRMED):
            return txid
        if row.status in (TxStatus.REPLACED, TxStatus.ABANDONED, TxStatus.CONFLICTED):
            raise BroadcastError(f"transaction {txid} is {row.status.value}; it will not be broadcast")
        rpc = self.w.require_rpc()
        try:
            rpc.call("sendrawtransaction", row.raw.hex())
        except Exception as e:
            msg = _one_line(e)
            if not any(k in msg.lower() for k in _ALREADY_KNOWN):
                raise BroadcastError(f"the node rejected {txid}: {msg}") from None
        self.w.db.set_status(txid, TxStatus.MEMPOOL)
        log.info("broadcast %s", txid)
        return txid

    def send_many(self, outputs: Sequence[tuple[str, int]], fee_rate: FeeRateLike, *,
                  idempotency_key: str | None, conf_target: int, rbf: bool) -> str:
        prepared = self.prepare(outputs, fee_rate, idempotency_key=idempotency_key, conf_target=conf_target, rbf=rbf)
        return self.broadcast(prepared.txid)

    def broadcast_raw(self, raw_hex: str) -> str:
        try:
            tx = Transaction.from_hex(raw_hex.strip())
        except Exception:
            raise AmountError("not a raw transaction in hex") from None
        rpc = self.w.require_rpc()
        try:
            rpc.call("sendrawtransaction", tx.serialize().hex())
        except Exception as e:
            raise BroadcastError(f"the node rejected {tx.txid_hex}: {_one_line(e)}") from None
        return tx.txid_hex

    def abandon(self, txid: str) -> None:
        row = self.w.db.tx(txid)
        if row is None:
            raise TransactionNotFoundError(f"no transaction {txid} in the wallet")
        if row.status not in (TxStatus.SIGNED, TxStatus.DROPPED):
            raise WalletError(f"only unbroadcast or dropped transactions can be abandoned ({txid} is {row.status.value})")
        self.w.db.set_status(txid, TxStatus.ABANDONED)

    # --- BIP125 fee bump ------------------------------------------------------------------------------

    def bump_fee(self, txid: str, fee_rate: FeeRateLike) -> str:
        w = self.w
        keyring = w.keyring
        row = w.db.tx(txid)
        if row is None or row.raw is None:
            raise TransactionNotFoundError(f"no transaction {txid} of ours in the wallet")
        if row.status is not TxStatus.MEMPOOL:
            raise BumpFeeError(f"transaction {txid} is {row.status.value}, only unconfirmed ones in the mempool can be bumped")
        old = Transaction.from_bytes(row.raw)
        if not any(i.sequence < 0xFFFFFFFE for i in old.vin):
            raise BumpFeeError(f"transaction {txid} does not signal BIP125 replaceability")
        spent = w.db.spent_by(txid)
        if len(spent) != len(old.vin):
            raise BumpFeeError(f"transaction {txid} has inputs that are not ours")
        child = w.db.active_spender(txid)
        if child is not None:
            raise BumpFeeError(f"transaction {txid} has a descendant in the wallet ({child}); bump that instead")
        preset = []
        for i in old.vin:
            prev = i.prevout.hash[::-1].hex()
            ours = w.db.our_output(prev, i.prevout.n)
            if ours is None:
                raise BumpFeeError(f"input {prev}:{i.prevout.n} is not in the wallet")
            preset.append(w.book.coin(ours))
        old_fee = row.fee if row.fee is not None else sum(c.value for c in preset) - old.value_out()
        old_vsize = row.vsize or old.vsize
        old_rate = FeeRate(-(-old_fee * 1000 // old_vsize))
        incremental = self.policy.incremental_fee
        min_rate = FeeRate(old_rate.sat_per_kvb + incremental.sat_per_kvb)
        if fee_rate is None:
            try:
                rate = max(self.estimate_fee_rate(6)[0], min_rate)
            except NodeError:
                rate = min_rate
        else:
            fee_rate = coerce_fee_rate(fee_rate)
            assert fee_rate is not None
            self.policy.check(fee_rate)
            if fee_rate < min_rate:
                raise FeeRateError(f"new fee rate must be at least {min_rate} (old {old_rate} + {incremental})")
            rate = fee_rate
        recipients = [o for o in old.vout if not w.book.is_change(o.script_pubkey)]
        change = [o for o in old.vout if w.book.is_change(o.script_pubkey)]
        change_script = change[0].script_pubkey if change else None
        rbf = True
        with w.db.transaction():
            min_fee = old_fee + incremental.fee(old_vsize)
            for _ in range(3):
                plan = self._plan(recipients, rate, rbf, preset=preset, min_fee=min_fee, change_script=change_script)
                required = old_fee + incremental.fee(plan.estimated_vsize)
                if plan.fee >= required:
                    break
                min_fee = required
            new = sign_transaction(plan.tx, plan.coins, keyring.private_key)
            self._record(new, plan)
        try:
            self.broadcast(new.txid_hex)
        except WalletError:
            w.db.set_status(new.txid_hex, TxStatus.ABANDONED)
            raise
        w.db.set_status(txid, TxStatus.REPLACED, replaced_by=new.txid_hex)
        log.info("bumped %s -> %s: fee %d -> %d sat", txid, new.txid_hex, old_fee, plan.fee)
        return new.txid_hex

    # --- PSBT -------------------------------------------------------------------------------------------

    def create_psbt(self, outputs: Sequence[tuple[str, int]], fee_rate: FeeRateLike, *,
                    conf_target: int, rbf: bool) -> str:
        """An unsigned PSBT funded from the wallet's coins (nothing is recorded or reserved)."""
        outs = self.parse_outputs(outputs)
        rate, _ = self._resolve_rate(fee_rate, conf_target)
        with self.w.db.transaction():
            plan = self._plan(outs, rate, rbf)
        ours: dict[int, psbt_mod.OutputInfo] = {}
        if plan.change_index is not None:
            script = plan.tx.vout[plan.change_index].script_pubkey
            row = self.w.db.address_row(script)
            assert row is not None
            acc = self.w.book.accounts[row.account]
            ours[plan.change_index] = psbt_mod.OutputInfo(acc.script_type, row.pubkey,
                                                          (*acc.origin, row.chain, row.index), acc.fingerprint)
        p = psbt_mod.create_psbt(plan.tx, plan.coins, ours, self._prev_txs(plan))
        return psbt_mod.to_base64(p)

    def _prev_txs(self, plan: TxPlan) -> dict[bytes, bytes]:
        """Full previous transactions for segwit v0 inputs, from the wallet or the node (best effort)."""
        out: dict[bytes, bytes] = {}
        for c in plan.coins:
            txid = c.outpoint.hash[::-1].hex()
            row = self.w.db.tx(txid)
            if row is not None and row.raw is not None:
                out[c.outpoint.hash] = row.raw
            elif self.w.rpc is not None:
                # no txindex / pruned node: witness_utxo alone still works for most signers
                with contextlib.suppress(Exception):
                    out[c.outpoint.hash] = bytes.fromhex(self.w.rpc.call("getrawtransaction", txid, False))
        return out
