"""Relay policy: Bitcoin Core's standardness rules (policy/policy.cpp), fee rates and constants.

Everything here is pure: functions take a transaction (and, for input checks, the outputs it
spends) and return a reject reason or None. Reasons are Core's exact strings, so clients that
match on them (wallets, pools, test frameworks) see what a Core node would say.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from hashforge.consensus.checker import SignatureChecker
from hashforge.consensus.ecc import COMPRESSED_PUBKEY_SIZE, UNCOMPRESSED_PUBKEY_SIZE
from hashforge.consensus.interpreter import eval_script
from hashforge.consensus.params import MAX_BLOCK_SIGOPS_COST, MAX_BLOCK_WEIGHT
from hashforge.consensus.script import (
    ANNEX_TAG,
    OP_CHECKMULTISIG,
    OP_CHECKSIG,
    OP_RETURN,
    decode_op_n,
    get_sigop_count,
    is_p2pkh,
    is_p2sh,
    is_pay_to_anchor,
    is_push_only,
    is_unspendable,
    parse_script,
    witness_program,
)
from hashforge.consensus.script_flags import ScriptFlags
from hashforge.consensus.serialize import ser_compact_size
from hashforge.consensus.taproot import TAPROOT_LEAF_MASK, TAPROOT_LEAF_TAPSCRIPT
from hashforge.consensus.tx import WITNESS_SCALE_FACTOR, Transaction, TxOut

# --- constants (policy/policy.h, policy/truc_policy.h, kernel/mempool_options.h) -----------------

DEFAULT_BLOCK_MAX_WEIGHT = MAX_BLOCK_WEIGHT - 4000
# Core 30 lowered these (0.1 sat/vB relay and replacement, 0.001 sat/vB in blocks); the dust fee stays.
DEFAULT_BLOCK_MIN_TX_FEE = 1  # sat/kvB
DEFAULT_INCREMENTAL_RELAY_FEE = 100  # sat/kvB
DEFAULT_MIN_RELAY_TX_FEE = 100  # sat/kvB
DUST_RELAY_TX_FEE = 3000  # sat/kvB
DEFAULT_PERMIT_BAREMULTISIG = True
DEFAULT_ACCEPT_DATACARRIER = True
MAX_STANDARD_TX_WEIGHT = 400_000
# -datacarriersize (Core 30+): the OP_RETURN scriptPubKeys of one transaction together, in bytes
MAX_OP_RETURN_RELAY = MAX_STANDARD_TX_WEIGHT // WITNESS_SCALE_FACTOR
MIN_STANDARD_TX_NONWITNESS_SIZE = 65
MAX_P2SH_SIGOPS = 15
MAX_STANDARD_TX_SIGOPS_COST = MAX_BLOCK_SIGOPS_COST // 5
MAX_STANDARD_SCRIPTSIG_SIZE = 1650
MAX_STANDARD_P2WSH_STACK_ITEMS = 100
MAX_STANDARD_P2WSH_STACK_ITEM_SIZE = 80
MAX_STANDARD_TAPSCRIPT_STACK_ITEM_SIZE = 80
MAX_STANDARD_P2WSH_SCRIPT_SIZE = 3600
TX_MIN_STANDARD_VERSION = 1
TX_MAX_STANDARD_VERSION = 3
DEFAULT_ANCESTOR_LIMIT = 25
DEFAULT_ANCESTOR_SIZE_LIMIT_KVB = 101
DEFAULT_DESCENDANT_LIMIT = 25
DEFAULT_DESCENDANT_SIZE_LIMIT_KVB = 101
EXTRA_DESCENDANT_TX_SIZE_LIMIT = 10_000  # CPFP carve-out
MAX_REPLACEMENT_CANDIDATES = 100
DEFAULT_MAX_MEMPOOL_SIZE_MB = 300
DEFAULT_MEMPOOL_EXPIRY_HOURS = 336
ROLLING_FEE_HALFLIFE = 60 * 60 * 12
MAX_BIP125_RBF_SEQUENCE = 0xFFFFFFFD
# TRUC (version 3) transactions, BIP431
TRUC_VERSION = 3
TRUC_ANCESTOR_LIMIT = 2
TRUC_DESCENDANT_LIMIT = 2
TRUC_MAX_VSIZE = 10_000
TRUC_CHILD_MAX_VSIZE = 1_000

WITNESS_V0_KEYHASH_SIZE = 20
WITNESS_V0_SCRIPTHASH_SIZE = 32
WITNESS_V1_TAPROOT_SIZE = 32


# --- fee rates -------------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class FeeRate:
    """Satoshis per 1000 virtual bytes, as Core's CFeeRate (integer, truncated on construction)."""

    sat_per_kvb: int

    @classmethod
    def from_fee(cls, fee: int, vsize: int) -> FeeRate:
        """CFeeRate(fee, size): fee * 1000 / size, truncated toward zero."""
        if vsize <= 0:
            return cls(0)
        q = abs(fee) * 1000 // vsize
        return cls(q if fee >= 0 else -q)

    def fee(self, vsize: int) -> int:
        """CFeeRate::GetFee: rounded up, at least one satoshi for a non-zero rate and size."""
        k = self.sat_per_kvb
        fee = -((-k * vsize) // 1000)  # ceil(k * vsize / 1000)
        if fee == 0 and vsize != 0:
            fee = 1 if k > 0 else -1 if k < 0 else 0
        return fee

    @property
    def btc_per_kvb(self) -> float:
        return self.sat_per_kvb / 100_000_000

    def __add__(self, other: FeeRate) -> FeeRate:
        return FeeRate(self.sat_per_kvb + other.sat_per_kvb)

    def __str__(self) -> str:
        return f"{self.sat_per_kvb // 100_000_000}.{self.sat_per_kvb % 100_000_000:08d} BTC/kvB"


# --- output script types (Core's Solver) -------------------------------------------------------


class TxoutType(Enum):
    NONSTANDARD = "nonstandard"
    ANCHOR = "anchor"
    PUBKEY = "pubkey"
    PUBKEYHASH = "pubkeyhash"
    SCRIPTHASH = "scripthash"
    MULTISIG = "multisig"
    NULL_DATA = "nulldata"
    WITNESS_V0_KEYHASH = "witness_v0_keyhash"
    WITNESS_V0_SCRIPTHASH = "witness_v0_scripthash"
    WITNESS_V1_TAPROOT = "witness_v1_taproot"
    WITNESS_UNKNOWN = "witness_unknown"


def _valid_pubkey_size(data: bytes) -> bool:
    """CPubKey::ValidSize: the length its header byte announces."""
    if not data:
        return False
    if data[0] in (2, 3):
        return len(data) == COMPRESSED_PUBKEY_SIZE
    if data[0] in (4, 6, 7):
        return len(data) == UNCOMPRESSED_PUBKEY_SIZE
    return False


def _multisig(script: bytes) -> tuple[int, int] | None:
    """(required, keys) if `script` is OP_m <pubkey>... OP_n OP_CHECKMULTISIG (MatchMultisig)."""
    parsed = parse_script(script)
    ops = parsed.ops
    if parsed.error_pos is not None or len(ops) < 4 or ops[-1].opcode != OP_CHECKMULTISIG:
        return None
    first, last = ops[0].opcode, ops[-2].opcode
    if not (0x51 <= first <= 0x60 and 0x51 <= last <= 0x60):
        return None
    keys = ops[1:-2]
    if not all(op.data is not None and _valid_pubkey_size(op.data) for op in keys):
        return None
    required, n = decode_op_n(first), decode_op_n(last)
    if n != len(keys) or required < 1 or required > n:
        return None
    return required, n


def solve(script: bytes) -> TxoutType:
    """The standard template `script` matches, in Core's Solver order."""
    if is_p2sh(script):
        return TxoutType.SCRIPTHASH
    prog = witness_program(script)
    if prog is not None:
        version, program = prog
        if version == 0 and len(program) == WITNESS_V0_KEYHASH_SIZE:
            return TxoutType.WITNESS_V0_KEYHASH
        if version == 0 and len(program) == WITNESS_V0_SCRIPTHASH_SIZE:
            return TxoutType.WITNESS_V0_SCRIPTHASH
        if version == 1 and len(program) == WITNESS_V1_TAPROOT_SIZE:
            return TxoutType.WITNESS_V1_TAPROOT
        if is_pay_to_anchor(script):
            return TxoutType.ANCHOR
        if version != 0:
            return TxoutType.WITNESS_UNKNOWN
        return TxoutType.NONSTANDARD
    if script and script[0] == OP_RETURN and is_push_only(script[1:]):
        return TxoutType.NULL_DATA
    if (
        len(script) in (35, 67)
        and script[0] == len(script) - 2
        and script[-1] == OP_CHECKSIG
        and _valid_pubkey_size(script[1:-1])
    ):
        return TxoutType.PUBKEY
    if is_p2pkh(script):
        return TxoutType.PUBKEYHASH
    if _multisig(script) is not None:
        return TxoutType.MULTISIG
    return TxoutType.NONSTANDARD


def is_standard_script(script: bytes) -> tuple[bool, TxoutType]:
    """Core's IsStandard(scriptPubKey): a known type, bare multisig up to 3 keys (OP_RETURN sizes
    are IsStandardTx's business: they count per transaction)."""
    kind = solve(script)
    if kind is TxoutType.NONSTANDARD:
        return False, kind
    if kind is TxoutType.MULTISIG:
        m_n = _multisig(script)
        assert m_n is not None
        m, n = m_n
        if n < 1 or n > 3 or m < 1 or m > n:
            return False, kind
    return True, kind


# --- dust ------------------------------------------------------------------------------------------


def dust_threshold(txout: TxOut, dust_relay_fee: FeeRate = FeeRate(DUST_RELAY_TX_FEE)) -> int:
    """Core's GetDustThreshold: what spending the output would cost at the dust relay fee rate."""
    spk = txout.script_pubkey
    if is_unspendable(spk):
        return 0
    size = 8 + len(ser_compact_size(len(spk))) + len(spk)
    if witness_program(spk) is not None:
        size += 32 + 4 + 1 + (107 // WITNESS_SCALE_FACTOR) + 4
    else:
        size += 32 + 4 + 1 + 107 + 4
    return dust_relay_fee.fee(size)


def is_dust(txout: TxOut, dust_relay_fee: FeeRate = FeeRate(DUST_RELAY_TX_FEE)) -> bool:
    return txout.value < dust_threshold(txout, dust_relay_fee)


# --- IsStandardTx ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyOptions:
    """The relay options a Core node takes from its command line."""

    max_datacarrier_bytes: int | None = MAX_OP_RETURN_RELAY  # None: -datacarrier=0
    permit_bare_multisig: bool = DEFAULT_PERMIT_BAREMULTISIG
    dust_relay_fee: FeeRate = FeeRate(DUST_RELAY_TX_FEE)


def is_standard_tx(tx: Transaction, opts: PolicyOptions | None = None) -> str | None:
    """Core's IsStandardTx: None if standard, else the reject reason."""
    opts = opts or PolicyOptions()
    if tx.version > TX_MAX_STANDARD_VERSION or tx.version < TX_MIN_STANDARD_VERSION:
        return "version"
    if tx.weight > MAX_STANDARD_TX_WEIGHT:
        return "tx-size"
    for txin in tx.vin:
        # 1650 bytes fit a 15-of-15 CHECKMULTISIG P2SH redeem script with compressed keys.
        if len(txin.script_sig) > MAX_STANDARD_SCRIPTSIG_SIZE:
            return "scriptsig-size"
        if not is_push_only(txin.script_sig):
            return "scriptsig-not-pushonly"
    datacarrier_left = opts.max_datacarrier_bytes or 0
    for txout in tx.vout:
        ok, kind = is_standard_script(txout.script_pubkey)
        if not ok:
            return "scriptpubkey"
        if kind is TxoutType.NULL_DATA:
            if len(txout.script_pubkey) > datacarrier_left:
                return "datacarrier"
            datacarrier_left -= len(txout.script_pubkey)
        elif kind is TxoutType.MULTISIG and not opts.permit_bare_multisig:
            return "bare-multisig"
        elif is_dust(txout, opts.dust_relay_fee):
            return "dust"
    return None


def _redeem_script(script_sig: bytes) -> bytes | None:
    """The last item a scriptSig leaves on the stack when run with no flags (None if it fails)."""
    stack: list[bytes] = []
    if eval_script(stack, script_sig, ScriptFlags.NONE, SignatureChecker()) is not None or not stack:
        return None
    return stack[-1]


def are_inputs_standard(tx: Transaction, spent: Sequence[TxOut]) -> bool:
    """Core's AreInputsStandard: known output types only, P2SH redeem scripts of <= 15 sigops."""
    if tx.is_coinbase():
        return True
    for txin, prev in zip(tx.vin, spent, strict=True):
        kind = solve(prev.script_pubkey)
        if kind in (TxoutType.NONSTANDARD, TxoutType.WITNESS_UNKNOWN):
            return False
        if kind is TxoutType.SCRIPTHASH:
            redeem = _redeem_script(txin.script_sig)
            if redeem is None or get_sigop_count(redeem, True) > MAX_P2SH_SIGOPS:
                return False
    return True


def is_witness_standard(tx: Transaction, spent: Sequence[TxOut]) -> bool:
    """Core's IsWitnessStandard: P2WSH and tapscript stack limits, no annex, no stuffed witness."""
    if tx.is_coinbase():
        return True
    for txin, prev in zip(tx.vin, spent, strict=True):
        witness = txin.witness
        if not witness:
            continue
        script = prev.script_pubkey
        if is_pay_to_anchor(script):
            return False
        p2sh = False
        if is_p2sh(script):
            redeem = _redeem_script(txin.script_sig)
            if redeem is None:
                return False
            script, p2sh = redeem, True
        prog = witness_program(script)
        if prog is None:
            return False  # a witness on a non-witness program
        version, program = prog
        if version == 0 and len(program) == WITNESS_V0_SCRIPTHASH_SIZE:
            if len(witness[-1]) > MAX_STANDARD_P2WSH_SCRIPT_SIZE:
                return False
            items = witness[:-1]
            if len(items) > MAX_STANDARD_P2WSH_STACK_ITEMS:
                return False
            if any(len(item) > MAX_STANDARD_P2WSH_STACK_ITEM_SIZE for item in items):
                return False
        if version == 1 and len(program) == WITNESS_V1_TAPROOT_SIZE and not p2sh:
            stack = list(witness)
            if len(stack) >= 2 and stack[-1] and stack[-1][0] == ANNEX_TAG:
                return False  # annexes are nonstandard until they mean something
            if len(stack) >= 2:
                control = stack[-1]
                if not control:
                    return False
                if control[0] & TAPROOT_LEAF_MASK == TAPROOT_LEAF_TAPSCRIPT and any(
                    len(item) > MAX_STANDARD_TAPSCRIPT_STACK_ITEM_SIZE for item in stack[:-2]
                ):
                    return False
            elif not stack:
                return False
    return True


def signals_rbf(tx: Transaction) -> bool:
    """BIP125 opt-in: some input's nSequence is at most 0xfffffffd."""
    return any(txin.sequence <= MAX_BIP125_RBF_SEQUENCE for txin in tx.vin)
