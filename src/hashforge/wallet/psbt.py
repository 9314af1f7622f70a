"""BIP174 PSBTs (with the BIP371 taproot key-path fields): create, sign, finalize, extract.

embit's `PSBT` is the container (parse/serialize, base64). Signing and finalizing are ours: the
signature hashes come from `hashforge.consensus.sighash`, signatures from coincurve, and the
finalizer builds the witnesses and verifies them with the consensus interpreter. The test suite
checks our signer and finalizer against embit's independent ones on the same PSBTs.

embit 0.8 does not model PSBT_IN_TAP_KEY_SIG (0x13); it keeps it among an input's unknown
key-value pairs, which round-trip unchanged, and we read and write it there.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import coincurve
from embit import ec  # type: ignore[import-untyped]
from embit.psbt import PSBT, DerivationPath  # type: ignore[import-untyped]
from embit.script import Script, Witness  # type: ignore[import-untyped]
from embit.transaction import Transaction as EmbitTransaction  # type: ignore[import-untyped]
from embit.transaction import TransactionOutput

from hashforge.consensus.address import script_to_address, witness_program_of
from hashforge.consensus.hashes import hash160
from hashforge.consensus.params import ChainParams
from hashforge.consensus.sighash import (
    SIGHASH_ALL,
    SIGHASH_DEFAULT,
    PrecomputedTxData,
    taproot_sighash,
)
from hashforge.consensus.taproot import taproot_output_key
from hashforge.consensus.tx import Transaction, TxOut

from .errors import PSBTError, SigningError
from .keys import ScriptType
from .signer import (
    Coin,
    ecdsa_sign,
    p2wpkh_sighash,
    schnorr_sign,
    taproot_keypath_secret,
    verify_signed,
    with_witnesses,
)

TAP_KEY_SIG = b"\x13"
MAX_PSBT_BYTES = 10_000_000


@dataclass(frozen=True)
class OutputInfo:
    """Derivation of one of our outputs (change) to record in the PSBT."""

    script_type: ScriptType
    pubkey: bytes
    path: tuple[int, ...]
    fingerprint: bytes


# --- conversions --------------------------------------------------------------------------------


def parse_psbt(text: str | bytes) -> PSBT:
    """A PSBT from base64 (or raw bytes); PSBTError with the reason otherwise."""
    if isinstance(text, str):
        s = "".join(text.split())
        if not s:
            raise PSBTError("empty PSBT")
        if len(s) > MAX_PSBT_BYTES * 4 // 3 + 4:
            raise PSBTError("PSBT is too large")
        try:
            raw = base64.b64decode(s, validate=True)
        except (binascii.Error, ValueError):
            raise PSBTError("PSBT is not valid base64") from None
    else:
        raw = text
    if not raw.startswith(b"psbt\xff"):
        raise PSBTError("not a PSBT (missing the 'psbt' magic bytes)")
    try:
        psbt = PSBT.parse(raw)
    except Exception as e:
        raise PSBTError(f"malformed PSBT: {' '.join(str(e).split())[:160] or type(e).__name__}") from None
    for i, inp in enumerate(psbt.inputs):
        inp.unknown = dict(inp.unknown)  # embit shares one default dict between scopes
        if inp.non_witness_utxo is not None:
            try:
                inp.verify()
            except Exception:
                raise PSBTError(f"input {i}: non_witness_utxo does not match the input's txid") from None
    for out in psbt.outputs:
        out.unknown = dict(out.unknown)
    return psbt


def to_base64(psbt: PSBT) -> str:
    return str(psbt.to_string())


def unsigned_tx(psbt: PSBT) -> Transaction:
    return Transaction.from_bytes(bytes(psbt.tx.serialize()))


def spent_outputs(psbt: PSBT) -> list[TxOut]:
    outs = []
    for i in range(len(psbt.inputs)):
        try:
            u = psbt.utxo(i)
        except Exception:
            raise PSBTError(f"input {i}: the PSBT lacks the output it spends (witness_utxo)") from None
        outs.append(TxOut(int(u.value), bytes(u.script_pubkey.data)))
    return outs


def fee(psbt: PSBT) -> int:
    return sum(o.value for o in spent_outputs(psbt)) - unsigned_tx(psbt).value_out()


# --- create ---------------------------------------------------------------------------------------


def _der(fingerprint: bytes, path: Sequence[int]) -> DerivationPath:
    return DerivationPath(fingerprint, list(path))


def create_psbt(
    tx: Transaction,
    coins: Sequence[Coin],
    our_outputs: Mapping[int, OutputInfo] | None = None,
    prev_txs: Mapping[bytes, bytes] | None = None,
) -> PSBT:
    """A PSBT for an unsigned `tx` spending `coins` (input order), with witness UTXOs, key
    origins (BIP32 / BIP371 derivations) and, where given, full previous transactions
    (non_witness_utxo: hardware wallets want them for segwit v0 inputs too)."""
    if any(i.witness or i.script_sig for i in tx.vin):
        raise PSBTError("the transaction given to a PSBT must be unsigned")
    if any(c.script_type is ScriptType.P2PKH for c in coins):
        raise PSBTError("PSBTs for P2PKH (legacy) inputs are not supported; sign them in this wallet")
    psbt = PSBT(EmbitTransaction.parse(tx.serialize_without_witness()))
    for inp, coin in zip(psbt.inputs, coins, strict=True):
        inp.unknown = {}
        inp.witness_utxo = TransactionOutput(coin.value, Script(coin.txout.script_pubkey))
        prev = (prev_txs or {}).get(coin.outpoint.hash)
        if prev is not None and coin.script_type is ScriptType.P2WPKH:
            inp.non_witness_utxo = EmbitTransaction.parse(prev)
        if coin.script_type is ScriptType.P2WPKH:
            inp.bip32_derivations[ec.PublicKey.parse(coin.pubkey)] = _der(coin.fingerprint, coin.path)
        else:
            inp.taproot_internal_key = ec.PublicKey.from_xonly(coin.pubkey[1:])
            inp.taproot_bip32_derivations[ec.PublicKey.from_xonly(coin.pubkey[1:])] = ([], _der(coin.fingerprint, coin.path))
    for idx, out in enumerate(psbt.outputs):
        out.unknown = {}
        info = (our_outputs or {}).get(idx)
        if info is None:
            continue
        if info.script_type is ScriptType.P2WPKH:
            out.bip32_derivations[ec.PublicKey.parse(info.pubkey)] = _der(info.fingerprint, info.path)
        else:
            out.taproot_internal_key = ec.PublicKey.from_xonly(info.pubkey[1:])
            out.taproot_bip32_derivations[ec.PublicKey.from_xonly(info.pubkey[1:])] = ([], _der(info.fingerprint, info.path))
    return psbt


# --- sign -------------------------------------------------------------------------------------------

KeyLookup = Callable[[bytes], tuple[bytes, tuple[int, ...]] | None]  # script -> (pubkey, path)


def _is_final(inp: Any) -> bool:
    return bool(inp.final_scriptwitness) or bool(inp.final_scriptsig)


def _our_key(inp: Any, script: bytes, fingerprint: bytes, lookup: KeyLookup | None) -> tuple[bytes, tuple[int, ...]] | None:
    """(compressed pubkey, path) of our key for this input, by key origin or by our address book."""
    for pub, der in inp.bip32_derivations.items():
        if bytes(der.fingerprint) == fingerprint:
            return bytes(pub.sec()), tuple(der.derivation)
    for pub, (_, der) in inp.taproot_bip32_derivations.items():
        if bytes(der.fingerprint) == fingerprint:
            return b"\x02" + bytes(pub.xonly()), tuple(der.derivation)
    return lookup(script) if lookup is not None else None


def sign_psbt(
    psbt: PSBT,
    fingerprint: bytes,
    secret_for: Callable[[tuple[int, ...]], bytes],
    lookup: KeyLookup | None = None,
) -> int:
    """Adds our signatures (SIGHASH_ALL for P2WPKH, SIGHASH_DEFAULT for P2TR key path) to the
    inputs we hold keys for; returns how many inputs were signed."""
    tx = unsigned_tx(psbt)
    spent = spent_outputs(psbt)
    txdata = PrecomputedTxData(tx, spent)
    signed = 0
    for i, inp in enumerate(psbt.inputs):
        if _is_final(inp):
            continue
        script = spent[i].script_pubkey
        wp = witness_program_of(script)
        key = _our_key(inp, script, fingerprint, lookup)
        if wp is None or key is None:
            continue
        _, path = key
        if inp.sighash_type not in (None, SIGHASH_ALL if wp[0] == 0 else SIGHASH_DEFAULT):
            raise PSBTError(f"input {i}: sighash type {inp.sighash_type} is not supported")
        secret = secret_for(path)
        real_pub = bytes(coincurve.PrivateKey(secret).public_key.format(compressed=True))
        if wp[0] == 0 and len(wp[1]) == 20:
            if hash160(real_pub) != wp[1]:
                continue  # key origin claims a key that does not own this output
            digest = p2wpkh_sighash(tx, i, real_pub, spent[i].value, txdata)
            inp.partial_sigs[ec.PublicKey.parse(real_pub)] = ecdsa_sign(secret, digest)
            signed += 1
        elif wp[0] == 1 and len(wp[1]) == 32:
            if taproot_output_key(real_pub[1:], None)[0] != wp[1]:
                continue
            tap_digest = taproot_sighash(txdata, i, SIGHASH_DEFAULT)
            assert tap_digest is not None
            inp.unknown = dict(inp.unknown)
            inp.unknown[TAP_KEY_SIG] = schnorr_sign(taproot_keypath_secret(secret), tap_digest)
            signed += 1
    return signed


# --- finalize ---------------------------------------------------------------------------------------


def _witness_for(i: int, inp: Any, spent: TxOut) -> tuple[bytes, ...]:
    if inp.final_scriptwitness:
        return tuple(bytes(x) for x in inp.final_scriptwitness.items)
    wp = witness_program_of(spent.script_pubkey)
    if wp is None:
        raise PSBTError(f"input {i}: only segwit (P2WPKH, P2TR) inputs can be finalized")
    version, program = wp
    if version == 0 and len(program) == 20:
        for pub, sig in inp.partial_sigs.items():
            if hash160(bytes(pub.sec())) == program:
                return (bytes(sig), bytes(pub.sec()))
        raise PSBTError(f"input {i}: no signature for its P2WPKH key")
    if version == 1 and len(program) == 32:
        sig = inp.unknown.get(TAP_KEY_SIG)
        if sig is None:
            raise PSBTError(f"input {i}: no taproot key-path signature")
        return (bytes(sig),)
    raise PSBTError(f"input {i}: unsupported output type (witness v{version}, {len(program)} bytes)")


def finalize_psbt(psbt: PSBT) -> Transaction:
    """Builds every input's final witness (BIP174 finalizer: partial data is then removed), checks
    them with the consensus interpreter, and returns the signed transaction (extractor)."""
    tx = unsigned_tx(psbt)
    spent = spent_outputs(psbt)
    witnesses = [_witness_for(i, inp, spent[i]) for i, inp in enumerate(psbt.inputs)]
    final = with_witnesses(tx, witnesses)
    try:
        verify_signed(final, spent)
    except SigningError as e:
        raise PSBTError(f"PSBT signatures do not verify: {e}") from None
    for inp, wit in zip(psbt.inputs, witnesses, strict=True):
        inp.final_scriptwitness = Witness(list(wit))
        inp.partial_sigs.clear()
        inp.bip32_derivations.clear()
        inp.taproot_bip32_derivations.clear()
        inp.taproot_internal_key = None
        inp.sighash_type = None
        inp.unknown = {k: v for k, v in inp.unknown.items() if k != TAP_KEY_SIG}
    return final


def is_complete(psbt: PSBT) -> bool:
    try:
        spent = spent_outputs(psbt)
        for i, inp in enumerate(psbt.inputs):
            _witness_for(i, inp, spent[i])
    except PSBTError:
        return False
    return True


def describe(psbt: PSBT, params: ChainParams, is_mine: Callable[[bytes], bool]) -> dict[str, Any]:
    """A JSON-friendly summary: inputs, outputs with addresses and ownership, fee, completeness."""
    tx = unsigned_tx(psbt)
    try:
        spent: list[TxOut] | None = spent_outputs(psbt)
    except PSBTError:
        spent = None
    return {
        "txid": tx.txid_hex,
        "inputs": [
            {"txid": i.prevout.hash[::-1].hex(), "vout": i.prevout.n, "sequence": i.sequence,
             "value": None if spent is None else spent[n].value,
             "is_mine": None if spent is None else is_mine(spent[n].script_pubkey)}
            for n, i in enumerate(tx.vin)
        ],
        "outputs": [
            {"address": script_to_address(o.script_pubkey, params), "value": o.value, "is_mine": is_mine(o.script_pubkey)}
            for o in tx.vout
        ],
        "fee": None if spent is None else sum(o.value for o in spent) - tx.value_out(),
        "complete": is_complete(psbt),
    }
