"""Standardness numbers the wallet builds against: fee rates, dust thresholds, sizes, BIP125, and
each network's relay policy (Dogecoin's fees and dust limits are a hundred to a thousand times
Bitcoin's in base units)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from hashforge.consensus.address import witness_program_of
from hashforge.consensus.params import COIN, ChainParams
from hashforge.consensus.serialize import ser_compact_size
from hashforge.consensus.tx import TxOut

from .errors import FeeRateError

DUST_RELAY_FEE = 3000  # sat/kvB (Core's DUST_RELAY_TX_FEE)
MIN_RELAY_FEE = 1000  # sat/kvB (Core's DEFAULT_MIN_RELAY_TX_FEE)
INCREMENTAL_RELAY_FEE = 1000  # sat/kvB (BIP125 rule 4)
MAX_FEE_RATE = 10_000_000  # sat/kvB = 10,000 sat/vB; above this is surely a typo
SEQUENCE_RBF = 0xFFFFFFFD  # BIP125: replaceable, and nLockTime enforced
SEQUENCE_NO_RBF = 0xFFFFFFFE  # final for BIP125, nLockTime still enforced
TX_OVERHEAD_WEIGHT = 4 * (4 + 1 + 1 + 4) + 2  # version, vin/vout counts, locktime; segwit marker+flag


@dataclass(frozen=True, order=True)
class FeeRate:
    """Satoshis per 1000 virtual bytes (Core's CFeeRate); fees round up so the rate is met."""

    sat_per_kvb: int

    @classmethod
    def from_sat_per_vb(cls, value: str | int | Decimal) -> FeeRate:
        try:
            d = Decimal(str(value).strip())
        except InvalidOperation:
            raise FeeRateError(f"fee rate must be a number of sat/vB, not {value!r}") from None
        if not d.is_finite():
            raise FeeRateError("fee rate must be finite")
        kvb = d * 1000
        if kvb != kvb.to_integral_value():
            raise FeeRateError("fee rate has more than 3 decimals of sat/vB")
        rate = cls(int(kvb))
        rate.check()
        return rate

    @classmethod
    def from_btc_per_kvb(cls, value: float | str | Decimal) -> FeeRate:
        return cls(int((Decimal(str(value)) * COIN).to_integral_value()))

    def check(self) -> None:
        if self.sat_per_kvb < MIN_RELAY_FEE:
            raise FeeRateError(f"fee rate {self.sat_per_vb} sat/vB is below the minimum relay fee of {MIN_RELAY_FEE / 1000} sat/vB")
        if self.sat_per_kvb > MAX_FEE_RATE:
            raise FeeRateError(f"fee rate {self.sat_per_vb} sat/vB is absurdly high (max {MAX_FEE_RATE // 1000})")

    def fee(self, vsize: int) -> int:
        return -(-self.sat_per_kvb * vsize // 1000)

    def fee_weight(self, weight: int) -> int:
        return -(-self.sat_per_kvb * weight // 4000)

    @property
    def sat_per_vb(self) -> Decimal:
        return Decimal(self.sat_per_kvb) / 1000

    def __str__(self) -> str:
        return f"{self.sat_per_vb.normalize():f} sat/vB"


def output_size(script_pubkey: bytes) -> int:
    return 8 + len(ser_compact_size(len(script_pubkey))) + len(script_pubkey)


def dust_threshold(script_pubkey: bytes, floor: int = 0) -> int:
    """Core's GetDustThreshold at the dust relay fee (294 for P2WPKH, 330 for P2TR, 546 P2PKH),
    raised to `floor` (a network's flat dust limit, e.g. Dogecoin's 0.01 DOGE)."""
    size = output_size(script_pubkey)
    if script_pubkey[:1] == b"\x6a":  # OP_RETURN: unspendable, never dust
        return 0
    size += (32 + 4 + 1 + 107 // 4 + 4) if witness_program_of(script_pubkey) else (32 + 4 + 1 + 107 + 4)
    return max(DUST_RELAY_FEE * size // 1000, floor)


@dataclass(frozen=True)
class RelayPolicy:
    """What a network's nodes relay: the minimum fee rate, a flat dust floor per output and the
    fee rate to use when the node has no estimate. Read from the node's `getnetworkinfo`
    (`relayfee`; Dogecoin Core's `softdustlimit`) where it answers, else the network's defaults."""

    min_relay_fee: FeeRate
    dust_floor: int  # satoshis (koinu); 0 where only Core's script-size rule applies
    fallback_fee: FeeRate
    incremental_fee: FeeRate = FeeRate(INCREMENTAL_RELAY_FEE)  # BIP125 rule 4: what a replacement adds

    def check(self, rate: FeeRate) -> None:
        rate.check()
        if rate < self.min_relay_fee:
            raise FeeRateError(f"fee rate {rate} is below this network's minimum relay fee of {self.min_relay_fee}")

    def with_node_info(self, info: Mapping[str, Any]) -> RelayPolicy:
        """This policy with the node's own figures (`getnetworkinfo`) where they are stricter (a node
        relaying cheaper, like Core 30's 0.1 sat/vB, still relays what these defaults pay)."""
        relay = self.min_relay_fee
        if info.get("relayfee") is not None:
            relay = max(relay, FeeRate.from_btc_per_kvb(info["relayfee"]))
        dust = self.dust_floor
        if info.get("softdustlimit") is not None:  # Dogecoin Core 1.14.5+: outputs below it pay a penalty
            dust = max(dust, int((Decimal(str(info["softdustlimit"])) * COIN).to_integral_value()))
        incremental = self.incremental_fee
        if info.get("incrementalfee") is not None:
            incremental = max(incremental, FeeRate.from_btc_per_kvb(info["incrementalfee"]))
        return RelayPolicy(relay, dust, max(self.fallback_fee, relay), incremental)


def default_relay_policy(params: ChainParams) -> RelayPolicy:
    """Dogecoin Core 1.14: relay fee 0.001 DOGE/kB, soft dust limit 0.01 DOGE, wallet fee 0.01
    DOGE/kB, incremental relay fee 0.0001 DOGE/kB. Bitcoin and Litecoin Core: 1 sat/vB relay and
    incremental, Core's dust rule, 10 sat/vB fallback."""
    if params.coin == "DOGE":
        return RelayPolicy(FeeRate(COIN // 1000), COIN // 100, FeeRate(COIN // 100), FeeRate(COIN // 10_000))
    return RelayPolicy(FeeRate(MIN_RELAY_FEE), 0, FeeRate(10_000))


def is_dust(out: TxOut) -> bool:
    return out.value < dust_threshold(out.script_pubkey)
