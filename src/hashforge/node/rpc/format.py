"""JSON shapes of Core's RPC results: amounts, scripts (asm, type, descriptor), transactions, headers."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hashforge.consensus.address import script_to_address
from hashforge.consensus.coins import Coin
from hashforge.consensus.params import COIN, ChainParams
from hashforge.consensus.pow import bits_to_target, difficulty
from hashforge.consensus.script import (
    OP_1,
    OP_16,
    OP_CHECKMULTISIG,
    OP_CHECKSIG,
    OP_RETURN,
    ScriptParseError,
    decode_num,
    get_op_name,
    is_p2pkh,
    is_p2sh,
    is_pay_to_anchor,
    iter_ops,
    witness_program,
)
from hashforge.consensus.tx import Transaction

from .errors import RPCError, RPCErrorCode

SIGHASH_NAMES = {1: "ALL", 2: "NONE", 3: "SINGLE", 0x81: "ALL|ANYONECANPAY", 0x82: "NONE|ANYONECANPAY", 0x83: "SINGLE|ANYONECANPAY"}


def amount(sats: int) -> Decimal:
    """Satoshis as BTC with 8 decimals (Core's ValueFromAmount)."""
    return (Decimal(sats) / COIN).quantize(Decimal("0.00000001"))


def parse_amount(value: Any, field: str = "amount") -> int:
    """A JSON BTC amount to satoshis (Core's AmountFromValue): exact, at most 8 decimals, in range."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise RPCError(RPCErrorCode.TYPE_ERROR, f"Amount is not a number or string ({field})")
    try:
        d = Decimal(str(value))
    except ArithmeticError:
        raise RPCError(RPCErrorCode.TYPE_ERROR, "Invalid amount") from None
    sats = d * COIN
    if sats != sats.to_integral_value() or sats < 0 or sats > 21_000_000 * COIN:
        raise RPCError(RPCErrorCode.TYPE_ERROR, "Invalid amount")
    return int(sats)


def hash_hex(h: bytes) -> str:
    return h[::-1].hex()


def parse_hash(value: Any, name: str = "hash") -> bytes:
    """A display-order hex hash to internal bytes (Core's ParseHashV)."""
    if not isinstance(value, str):
        raise RPCError(RPCErrorCode.TYPE_ERROR, f"{name} must be a string")
    if len(value) != 64:
        raise RPCError(RPCErrorCode.INVALID_PARAMETER, f"{name} must be of length 64 (not {len(value)}, for '{value}')")
    try:
        return bytes.fromhex(value)[::-1]
    except ValueError:
        raise RPCError(RPCErrorCode.INVALID_PARAMETER, f"{name} must be hexadecimal string (not '{value}')") from None


def parse_hex(value: Any, name: str = "hexstring") -> bytes:
    if not isinstance(value, str):
        raise RPCError(RPCErrorCode.TYPE_ERROR, f"{name} must be a string")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise RPCError(RPCErrorCode.DESERIALIZATION_ERROR, f"{name} must be hexadecimal string") from None


def target_hex(bits: int) -> str:
    return f"{bits_to_target(bits):064x}"


# --- scripts ---------------------------------------------------------------------------------


def script_asm(script: bytes, attempt_sighash_decode: bool = False) -> str:
    """Core's ScriptToAsmStr."""
    out = []
    try:
        for op in iter_ops(script):
            if op.data is None:
                out.append(get_op_name(op.opcode))
                continue
            data = op.data
            if len(data) <= 4:
                out.append(str(decode_num(data, max_size=4, require_minimal=False)))
            elif attempt_sighash_decode and not _is_unspendable(script) and data and data[-1] in SIGHASH_NAMES and _looks_like_der(data[:-1]):
                out.append(data[:-1].hex() + f"[{SIGHASH_NAMES[data[-1]]}]")
            else:
                out.append(data.hex())
    except ScriptParseError:
        out.append("[error]")
    return " ".join(out)


def _is_unspendable(script: bytes) -> bool:
    return bool(script) and script[0] == OP_RETURN


def _looks_like_der(sig: bytes) -> bool:
    return len(sig) >= 8 and sig[0] == 0x30 and sig[1] == len(sig) - 2


def script_type(script: bytes) -> str:
    """Core's GetTxnOutputType names."""
    if is_p2pkh(script):
        return "pubkeyhash"
    if is_p2sh(script):
        return "scripthash"
    if is_pay_to_anchor(script):
        return "anchor"
    wp = witness_program(script)
    if wp is not None:
        version, program = wp
        if version == 0 and len(program) == 20:
            return "witness_v0_keyhash"
        if version == 0 and len(program) == 32:
            return "witness_v0_scripthash"
        if version == 1 and len(program) == 32:
            return "witness_v1_taproot"
        if version != 0:
            return "witness_unknown"
        return "nonstandard"
    if script and script[0] == OP_RETURN:
        try:
            if all(op.opcode <= OP_16 for op in iter_ops(script[1:])):
                return "nulldata"
        except ScriptParseError:
            pass
        return "nonstandard"
    if len(script) in (35, 67) and script[-1] == OP_CHECKSIG and script[0] == len(script) - 2:
        return "pubkey"
    if _is_multisig(script):
        return "multisig"
    return "nonstandard"


def _is_multisig(script: bytes) -> bool:
    try:
        ops = list(iter_ops(script))
    except ScriptParseError:
        return False
    if len(ops) < 4 or ops[-1].opcode != OP_CHECKMULTISIG:
        return False
    m, n = ops[0].opcode, ops[-2].opcode
    if not (OP_1 <= m <= OP_16 and OP_1 <= n <= OP_16):
        return False
    keys = ops[1:-2]
    return len(keys) == n - OP_1 + 1 and m <= n and all(k.data is not None and len(k.data) in (33, 65) for k in keys)


_INPUT_CHARSET = (
    "0123456789()[],'/*abcdefgh@:$%{}IJKLMNOPQRSTUVWXYZ&+-.;<=>?!^_|~ijklmnopqrstuvwxyzABCDEFGH`#\"\\ "
)
_CHECKSUM_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def descriptor_checksum(desc: str) -> str:
    """BIP380 descriptor checksum (8 characters)."""

    def polymod(c: int, val: int) -> int:
        c0 = c >> 35
        c = ((c & 0x7FFFFFFFF) << 5) ^ val
        for i, g in enumerate((0xF5DEE51989, 0xA9FDCA3312, 0x1BAB10E32D, 0x3706B1677A, 0x644D626FFD)):
            if c0 & (1 << i):
                c ^= g
        return c

    c, cls, clscount = 1, 0, 0
    for ch in desc:
        pos = _INPUT_CHARSET.find(ch)
        if pos == -1:
            return ""
        c = polymod(c, pos & 31)
        cls = cls * 3 + (pos >> 5)
        clscount += 1
        if clscount == 3:
            c = polymod(c, cls)
            cls, clscount = 0, 0
    if clscount:
        c = polymod(c, cls)
    for _ in range(8):
        c = polymod(c, 0)
    c ^= 1
    return "".join(_CHECKSUM_CHARSET[(c >> (5 * (7 - j))) & 31] for j in range(8))


def script_descriptor(script: bytes, params: ChainParams) -> str:
    address = script_to_address(script, params)
    if address is not None:
        desc = f"addr({address})"
    elif script_type(script) == "pubkey":
        desc = f"pk({script[1:-1].hex()})"
    else:
        desc = f"raw({script.hex()})"
    return f"{desc}#{descriptor_checksum(desc)}"


def script_pubkey_json(script: bytes, params: ChainParams) -> dict[str, Any]:
    out: dict[str, Any] = {
        "asm": script_asm(script),
        "desc": script_descriptor(script, params),
        "hex": script.hex(),
    }
    address = script_to_address(script, params)
    if address is not None:
        out["address"] = address
    out["type"] = script_type(script)
    return out


# --- transactions and headers -------------------------------------------------------------------


def tx_json(
    tx: Transaction, params: ChainParams, fee: int | None = None, prevouts: list[Coin] | None = None
) -> dict[str, Any]:
    """Core's TxToUniv (decoderawtransaction / getrawtransaction verbose / getblock verbosity 2);
    with `prevouts` (the spent coins, from undo data) each input also gets Core's "prevout" object,
    as getblock verbosity 3 shows it."""
    vin: list[dict[str, Any]] = []
    for i, txin in enumerate(tx.vin):
        if tx.is_coinbase():
            entry: dict[str, Any] = {"coinbase": txin.script_sig.hex()}
        else:
            entry = {
                "txid": hash_hex(txin.prevout.hash),
                "vout": txin.prevout.n,
                "scriptSig": {"asm": script_asm(txin.script_sig, True), "hex": txin.script_sig.hex()},
            }
        if txin.witness:
            entry["txinwitness"] = [w.hex() for w in txin.witness]
        if prevouts is not None:
            coin = prevouts[i]
            entry["prevout"] = {
                "generated": coin.is_coinbase,
                "height": coin.height,
                "value": amount(coin.out.value),
                "scriptPubKey": script_pubkey_json(coin.out.script_pubkey, params),
            }
        entry["sequence"] = txin.sequence
        vin.append(entry)
    vout = [
        {"value": amount(o.value), "n": n, "scriptPubKey": script_pubkey_json(o.script_pubkey, params)}
        for n, o in enumerate(tx.vout)
    ]
    out: dict[str, Any] = {
        "txid": tx.txid_hex,
        "hash": tx.wtxid_hex,
        "version": tx.version,
        "size": tx.total_size,
        "vsize": tx.vsize,
        "weight": tx.weight,
        "locktime": tx.locktime,
        "vin": vin,
        "vout": vout,
    }
    if fee is not None:
        out["fee"] = amount(fee)
    return out


def display_difficulty(bits: int) -> float:
    return difficulty(bits)
