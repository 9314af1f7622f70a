"""Round trips on a real `hashforge node` process (regtest): mining, maturity, batched payouts,
idempotency, RBF fee bumps, reorgs, gap-limit discovery, watch-only PSBTs, taproot."""

from __future__ import annotations

from pathlib import Path

import pytest
from embit.finalizer import finalize_psbt as embit_finalize
from embit.psbt import PSBT

from hashforge.consensus.params import REGTEST
from hashforge.consensus.tx import OutPoint, Transaction, TxOut
from hashforge.rpcclient import RPCClientError
from hashforge.wallet import (
    DustError,
    FeeRate,
    IdempotencyConflictError,
    InsufficientFundsError,
    InvalidAddressError,
    ScriptType,
    Wallet,
    WalletLockedError,
    WatchOnlyError,
)
from hashforge.wallet.keys import validate_mnemonic
from tests.helpers.nodeproc import NodeProcess
from tests.helpers.txbuilder import Key, Utxo, sign_tx

from .conftest import EXT_ADDR, EXT_KEY, FAST_KDF, new_wallet

pytestmark = pytest.mark.slow
SINK = EXT_ADDR


def mine(node: NodeProcess, n: int = 1, to: str = SINK) -> list[str]:
    return node.call("generatetoaddress", n, to)  # type: ignore[no-any-return]


def fund(node: NodeProcess, funder: Wallet, wallet: Wallet, amount: int, address: str | None = None) -> str:
    txid = funder.send(address or wallet.new_address(), amount)
    mine(node)
    funder.sync()
    wallet.sync()
    return txid


def ext_coinbase(node: NodeProcess, height: int) -> Utxo:
    block = node.call("getblock", node.call("getblockhash", height), 2)
    cb = block["tx"][0]
    value = round(float(cb["vout"][0]["value"]) * 100_000_000)
    return Utxo(OutPoint(bytes.fromhex(cb["txid"])[::-1], 0), TxOut(value, EXT_KEY.p2wpkh), EXT_KEY)


def test_coinbase_immature_until_100_confirmations(node: NodeProcess, tmp_path: Path) -> None:
    w = new_wallet(node, tmp_path / "w")
    [block_hash] = mine(node, 1, w.new_address())
    reward = round(float(node.call("getblock", block_hash, 2)["tx"][0]["vout"][0]["value"]) * 100_000_000)
    w.sync()
    b = w.balance()
    assert (b.confirmed, b.immature) == (0, reward)
    [u] = w.utxos()
    assert u.coinbase and not u.mature and not u.spendable and u.confirmations == 1
    assert w.history()[0].coinbase and w.history()[0].amount == reward
    with pytest.raises(InsufficientFundsError):
        w.send(SINK, 10_000)
    mine(node, 98)
    w.sync()
    assert w.utxos()[0].confirmations == 99 and w.balance().immature == reward
    mine(node, 1)
    w.sync()
    b = w.balance()
    assert (b.confirmed, b.immature) == (reward, 0)
    txid = w.send(SINK, reward // 2)  # the node agrees it is spendable at 100 confirmations
    assert txid in node.call("getrawmempool")
    mine(node)
    w.close()


def test_send_many_idempotent_and_fee_bump(node: NodeProcess, funder: Wallet, tmp_path: Path) -> None:
    payees = new_wallet(node, tmp_path / "payees")
    outputs = [(payees.new_address(), 20_000 + i) for i in range(50)]
    before = funder.balance().confirmed
    txid = funder.send_many(outputs, idempotency_key="payout-1")
    assert node.call("getrawmempool") == [txid]
    # a payout process that crashed and retries gets the same transaction, not a second payment
    assert funder.send_many(outputs, idempotency_key="payout-1") == txid
    assert funder.prepare_send(outputs, idempotency_key="payout-1").txid == txid
    assert node.call("getrawmempool") == [txid]
    with pytest.raises(IdempotencyConflictError):
        funder.send_many(outputs[:10], idempotency_key="payout-1")
    tx = Transaction.from_hex(node.call("getrawtransaction", txid))
    assert all(i.sequence == 0xFFFFFFFD for i in tx.vin)  # BIP125 signalled
    assert len(tx.vout) in (50, 51)
    funder.sync()
    entry = funder.history()[0]
    assert entry.txid == txid and entry.status == "mempool"
    assert entry.amount == -(sum(v for _, v in outputs) + entry.fee)

    new = funder.bump_fee(txid, FeeRate.from_sat_per_vb(30))
    assert node.call("getrawmempool") == [new]
    assert funder.request_txid("payout-1") == new
    assert funder.send_many(outputs, idempotency_key="payout-1") == new  # follows the replacement
    mine(node)
    with pytest.raises(RPCClientError):
        node.call("getrawtransaction", txid)  # the original is gone
    assert node.call("getrawtransaction", new, True)["confirmations"] == 1
    funder.sync()
    hist = funder.history(include_inactive=True)
    status = {h.txid: h.status for h in hist}
    assert status[txid] == "replaced" and status[new] == "confirmed"
    assert txid not in {h.txid for h in funder.history()}
    new_fee = next(h.fee for h in hist if h.txid == new)
    assert new_fee is not None and entry.fee is not None and new_fee > entry.fee
    assert funder.balance().confirmed == before - sum(v for _, v in outputs) - new_fee
    payees.sync()
    assert payees.balance().confirmed == sum(v for _, v in outputs)
    assert len(payees.utxos()) == 50

    # gap-limit discovery: a restore (birth 0) finds all 50 outputs although 50 > gap limit 20,
    # because each used address extends the window
    mnemonic = payees.show_mnemonic("pw").mnemonic
    restored, _ = Wallet.create(tmp_path / "restored", REGTEST, "pw2", mnemonic=validate_mnemonic(mnemonic),
                                rpc=node.rpc, kdf=FAST_KDF)
    assert restored.birth_height == 0
    restored.sync()
    assert restored.balance().confirmed == payees.balance().confirmed
    payees.close()
    restored.close()


def test_reorg_removes_coinbase(node: NodeProcess, tmp_path: Path) -> None:
    w = new_wallet(node, tmp_path / "w")
    [h] = mine(node, 1, w.new_address())
    w.sync()
    assert w.balance().immature > 0
    node.call("invalidateblock", h)
    report = w.sync()
    assert report.rolled_back_to is not None
    assert w.balance().total == 0 and w.history(include_inactive=True) == []
    node.call("reconsiderblock", h)  # back as it was: the coinbase is seen again
    w.sync()
    assert w.balance().immature > 0
    w.close()


def test_reorg_removes_received_transaction(node: NodeProcess, funder: Wallet, tmp_path: Path) -> None:
    w = new_wallet(node, tmp_path / "w")
    coin = ext_coinbase(node, 11)  # the outside key's first coinbase, long mature
    pay = TxOut(100_000_000, bytes.fromhex(node.call("validateaddress", w.new_address())["scriptPubKey"]))
    x = sign_tx([coin], [pay, TxOut(coin.value - pay.value - 2_000, EXT_KEY.p2wpkh)])
    node.call("sendrawtransaction", x.serialize().hex())
    [b1] = mine(node)
    w.sync()
    assert w.balance().confirmed == 100_000_000
    assert w.history()[0].confirmations == 1

    node.call("invalidateblock", b1)  # x goes back to the mempool
    w.sync()
    b = w.balance()
    assert (b.confirmed, b.unconfirmed) == (0, 100_000_000)
    assert w.history()[0].confirmations == 0 and w.history()[0].block_hash is None

    # the other branch confirms a double spend of x's input: x is gone for good
    x2 = sign_tx([coin], [TxOut(coin.value - 3_000, EXT_KEY.p2wpkh)])
    node.call("generateblock", SINK, [x2.serialize().hex()])
    assert x.txid_hex not in node.call("getrawmempool")
    w.sync()
    assert w.balance().total == 0
    assert w.history() == []
    assert [h.status for h in w.history(include_inactive=True)] == ["dropped"]
    w.close()


def test_watch_only_psbt_round_trip(node: NodeProcess, funder: Wallet, tmp_path: Path) -> None:
    signer = new_wallet(node, tmp_path / "signer")
    fund(node, funder, signer, 3_000_000)
    watch = Wallet.create_watch_only(tmp_path / "watch", REGTEST, signer.descriptors()[0],
                                     birth_height=signer.birth_height, rpc=node.rpc)
    watch.sync()
    assert watch.balance().confirmed == 3_000_000
    with pytest.raises(WatchOnlyError):
        watch.send(SINK, 10_000)
    unsigned = watch.create_psbt([(SINK, 1_000_000)], FeeRate.from_sat_per_vb(5))
    assert watch.describe_psbt(unsigned)["complete"] is False
    signer.lock()  # a freshly created wallet is unlocked; a reopened one is not
    with pytest.raises(WalletLockedError):
        signer.sign_psbt(unsigned)
    signer.unlock("pw")
    signed, n, complete = signer.sign_psbt(unsigned)
    assert (n, complete) == (1, True)
    raw, txid = watch.finalize_psbt(signed)
    theirs = embit_finalize(PSBT.from_string(signed))  # an independent finalizer agrees
    assert bytes(theirs.serialize()).hex() == raw
    assert watch.broadcast_raw(raw) == txid
    mine(node)
    watch.sync()
    signer.sync()
    assert watch.balance() == signer.balance()
    assert watch.balance().confirmed < 2_000_000
    assert watch.history()[0].txid == txid
    watch.close()
    signer.close()


def test_taproot_receive_and_spend(node: NodeProcess, funder: Wallet, tmp_path: Path) -> None:
    w = new_wallet(node, tmp_path / "w")
    addr = w.new_address(ScriptType.P2TR)
    assert addr.startswith("bcrt1p")
    fund(node, funder, w, 500_000, addr)
    [u] = w.utxos()
    assert u.address == addr and u.path.startswith("m/86h/1h/0h/0/")
    w.unlock("pw")
    txid = w.send(SINK, 400_000, FeeRate.from_sat_per_vb(2))
    assert txid in node.call("getrawmempool")  # the node verified our BIP341 key-path signature
    mine(node)
    w.sync()
    assert w.balance().confirmed == 500_000 - 400_000 - w.history()[0].fee  # type: ignore[operator]
    w.close()


def test_bad_sends_change_nothing(node: NodeProcess, funder: Wallet) -> None:
    funder.sync()
    before = (funder.balance(), len(funder.history(include_inactive=True)))
    with pytest.raises(InvalidAddressError, match="wrong network"):
        funder.send("bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu", 10_000)
    with pytest.raises(InvalidAddressError):
        funder.send("bcrt1qnotanaddress", 10_000)
    with pytest.raises(DustError):
        funder.send(SINK, 293)
    with pytest.raises(InsufficientFundsError):
        funder.send(SINK, before[0].confirmed + 1)
    assert (funder.balance(), len(funder.history(include_inactive=True))) == before
    locked = Wallet.open(funder.datadir, REGTEST, node.rpc)
    with pytest.raises(WalletLockedError):
        locked.send(SINK, 10_000)
    locked.close()


def test_unlock_checks_passphrase(node: NodeProcess, tmp_path: Path) -> None:
    from hashforge.wallet import WrongPassphraseError

    w = new_wallet(node, tmp_path / "w")
    w.close()
    w = Wallet.open(tmp_path / "w", REGTEST)
    with pytest.raises(WrongPassphraseError):
        w.unlock("nope")
    w.unlock("pw")
    assert "pw" not in repr(w)
    w.close()


def test_fee_estimate_and_fallback() -> None:
    class Stub:
        def __init__(self, reply: object) -> None:
            self.reply = reply

        def call(self, method: str, *params: object) -> object:
            assert method == "estimatesmartfee"
            return self.reply

    from hashforge.wallet.sending import DEFAULT_FALLBACK_FEE, Sender

    class W:
        rpc: Stub
        params = REGTEST  # the relay policy's network (the stub has no getnetworkinfo: defaults)

        def require_rpc(self) -> Stub:
            return self.rpc

    w = W()
    w.rpc = Stub({"feerate": 0.00012, "blocks": 2})
    assert Sender(w).estimate_fee_rate(2) == (FeeRate(12_000), "estimatesmartfee")  # type: ignore[arg-type]
    w.rpc = Stub({"errors": ["Insufficient data or no feerate found"], "blocks": 0})
    assert Sender(w).estimate_fee_rate(6) == (DEFAULT_FALLBACK_FEE, "fallback")  # type: ignore[arg-type]
    w.rpc = Stub({"feerate": -1, "blocks": 25})  # Dogecoin Core 1.14's way of saying "no estimate"
    assert Sender(w).estimate_fee_rate(6) == (DEFAULT_FALLBACK_FEE, "fallback")  # type: ignore[arg-type]


def test_ext_key_is_not_ours() -> None:
    assert Key.from_int(0xBEEF) == EXT_KEY


def test_prepare_then_broadcast_split_and_abandon(node: NodeProcess, funder: Wallet) -> None:
    """The payout pattern: sign and record first (store raw_hex/txid), broadcast afterwards."""
    funder.sync()
    start = funder.balance()
    p = funder.prepare_send([(SINK, 50_000)], 3, idempotency_key="split-1")  # 3 sat/vB as a number
    assert p.status == "signed" and p.fee_source == "explicit"
    assert Transaction.from_hex(p.raw_hex).txid_hex == p.txid
    assert p.txid not in node.call("getrawmempool")
    assert p.outputs == ((SINK, 50_000),)
    # the recorded transaction already reserves its coins: a second payment cannot reuse them
    q = funder.prepare_send([(SINK, 60_000)], 3)
    spent_p = {(i.prevout.hash, i.prevout.n) for i in Transaction.from_hex(p.raw_hex).vin}
    spent_q = {(i.prevout.hash, i.prevout.n) for i in Transaction.from_hex(q.raw_hex).vin}
    assert not spent_p & spent_q
    assert funder.broadcast(p.txid) == p.txid and p.txid in node.call("getrawmempool")
    assert funder.broadcast(p.txid) == p.txid  # again: a no-op
    funder.abandon(q.txid)  # never broadcast: its coins come back
    with pytest.raises(Exception, match="abandoned"):
        funder.broadcast(q.txid)
    mine(node)
    funder.sync()
    b = funder.balance()
    assert b.confirmed + b.unconfirmed == start.confirmed - 50_000 - p.fee
    assert funder.prepare_send([(SINK, 50_000)], 3, idempotency_key="split-1").txid == p.txid
