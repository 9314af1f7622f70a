"""`Wallet`: one HD wallet in a data directory (keystore.json + wallet.sqlite) on one network.

Lifecycle: `Wallet.create` / `Wallet.create_watch_only` / `Wallet.open`, then `unlock(passphrase)`
to sign. Reading (balance, UTXOs, history) works locked and offline from the database; `sync()`
brings it up to date from a node. Sending lives in `sending.Sender`, reachable through the
`Wallet` methods below.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from hashforge.consensus.params import ChainParams

from . import psbt as psbt_mod
from .addresses import DEFAULT_GAP_LIMIT, AddressBook
from .db import ACTIVE, TxStatus, WalletDB
from .errors import (
    NodeError,
    WalletError,
    WalletExistsError,
    WalletLockedError,
    WalletNotFoundError,
    WatchOnlyError,
)
from .fsutil import atomic_write, ensure_private_dir
from .keys import (
    Keyring,
    ScriptType,
    generate_mnemonic,
    path_str,
    validate_mnemonic,
    wallet_script_types,
    watch_only_account,
)
from .keystore import Keystore, KeystoreSecret, ScryptParams, encrypt
from .models import Balance, HistoryEntry, PreparedTx, Utxo
from .policy import FeeRate
from .sending import FeeRateLike, Sender
from .sync import ChainTracker, NodeRPC, SyncReport

log = logging.getLogger(__name__)
KEYSTORE_FILE = "keystore.json"
DB_FILE = "wallet.sqlite"


def default_datadir(network: str) -> Path:
    return Path.home() / ".hashforge" / network / "wallet"


class Wallet:
    def __init__(self, datadir: Path, params: ChainParams, db: WalletDB, rpc: NodeRPC | None = None) -> None:
        self.datadir = datadir
        self.params = params
        self.db = db
        self.rpc = rpc
        gap = int(db.get_meta("gap_limit") or DEFAULT_GAP_LIMIT)
        self.book = AddressBook(db, params, gap)
        self.keystore = Keystore(datadir / KEYSTORE_FILE)
        self._keyring: Keyring | None = None
        self.sender = Sender(self)

    def __repr__(self) -> str:
        state = "watch-only" if self.watch_only else ("unlocked" if self._keyring else "locked")
        return f"Wallet({str(self.datadir)!r}, {self.params.name}, {state})"

    # --- creation -----------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        datadir: Path,
        params: ChainParams,
        passphrase: str,
        *,
        mnemonic: str | None = None,
        bip39_passphrase: str = "",
        words: int = 24,
        birth_height: int | None = None,
        rpc: NodeRPC | None = None,
        gap_limit: int = DEFAULT_GAP_LIMIT,
        kdf: ScryptParams | None = None,
    ) -> tuple[Wallet, str]:
        """A new wallet (a fresh mnemonic, or `mnemonic` to restore). Returns it and the mnemonic.

        The birth height (where scans start) defaults to the node's tip for a fresh mnemonic
        (nothing older can pay it) and to 0 for a restored one."""
        restoring = mnemonic is not None
        mnemonic = validate_mnemonic(mnemonic) if mnemonic is not None else generate_mnemonic(words)
        keyring = Keyring.from_mnemonic(mnemonic, bip39_passphrase, params)
        if birth_height is None:
            birth_height = 0 if restoring or rpc is None else _node_height(rpc)
        accounts = [keyring.account(t, params) for t in wallet_script_types(params)]
        blob = encrypt(KeystoreSecret(mnemonic, bip39_passphrase), passphrase, kdf)

        def write_keystore(d: Path) -> None:
            atomic_write(d / KEYSTORE_FILE, blob, overwrite=False)

        wallet = cls._build(datadir, params, accounts, birth_height, gap_limit, False, rpc, write_keystore)
        wallet._keyring = keyring
        return wallet, mnemonic

    @classmethod
    def create_watch_only(
        cls,
        datadir: Path,
        params: ChainParams,
        key: str,
        *,
        script_type: ScriptType | None = None,
        birth_height: int = 0,
        rpc: NodeRPC | None = None,
        gap_limit: int = DEFAULT_GAP_LIMIT,
    ) -> Wallet:
        """A wallet that tracks an xpub/zpub or a wpkh()/tr() descriptor; it makes PSBTs to sign
        elsewhere (hardware wallet, offline hashforge)."""
        account = watch_only_account(key, params, script_type)
        return cls._build(datadir, params, [account], birth_height, gap_limit, True, rpc, None)

    @classmethod
    def _build(
        cls, datadir: Path, params: ChainParams, accounts: Sequence[Any], birth_height: int,
        gap_limit: int, watch_only: bool, rpc: NodeRPC | None, write_keystore: Callable[[Path], None] | None,
    ) -> Wallet:
        """Writes the database under a temporary name, then the keystore (never overwriting),
        then renames the database into place: a crash leaves no half-made wallet behind."""
        if (datadir / DB_FILE).exists() or (datadir / KEYSTORE_FILE).exists():
            raise WalletExistsError(f"a wallet already exists in {datadir}")
        ensure_private_dir(datadir)
        tmp = datadir / f".{DB_FILE}.{os.getpid()}.creating"
        for p in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
        db = WalletDB(tmp)
        try:
            for k, v in (("network", params.name), ("birth_height", str(birth_height)),
                         ("watch_only", "1" if watch_only else "0"), ("gap_limit", str(gap_limit)),
                         ("created", str(int(time.time())))):
                db.set_meta(k, v)
            book = AddressBook(db, params, gap_limit)
            for acc in accounts:
                book.add_account(acc)
            db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            db.close()
            if write_keystore is not None:
                try:
                    write_keystore(datadir)
                except FileExistsError:
                    raise WalletExistsError(f"a wallet keystore already exists in {datadir}") from None
            os.replace(tmp, datadir / DB_FILE)
        except BaseException:
            with contextlib.suppress(Exception):
                db.close()
            for p in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
                with contextlib.suppress(FileNotFoundError):
                    p.unlink()
            raise
        return cls(datadir, params, WalletDB(datadir / DB_FILE), rpc)

    @classmethod
    def open(cls, datadir: Path, params: ChainParams, rpc: NodeRPC | None = None) -> Wallet:
        path = datadir / DB_FILE
        if not path.exists():
            if (datadir / KEYSTORE_FILE).exists():
                raise WalletNotFoundError(f"{datadir} has a keystore but no wallet database; restore from the mnemonic")
            raise WalletNotFoundError(f"no wallet in {datadir} (create one with `hashforge wallet create`)")
        db = WalletDB(path)
        network = db.get_meta("network")
        if network != params.name:
            db.close()
            raise WalletError(f"the wallet in {datadir} is for {network}, not {params.name}")
        return cls(datadir, params, db, rpc)

    def close(self) -> None:
        self.lock()
        self.db.close()

    def __enter__(self) -> Wallet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- keys -----------------------------------------------------------------------------------

    @property
    def watch_only(self) -> bool:
        return self.db.get_meta("watch_only") == "1"

    @property
    def birth_height(self) -> int:
        return int(self.db.get_meta("birth_height") or 0)

    def unlock(self, passphrase: str) -> None:
        """Decrypts the keystore and keeps the master key in memory until `lock()`."""
        if self.watch_only:
            raise WatchOnlyError("this is a watch-only wallet: it has no keys to unlock")
        secret = self.keystore.open(passphrase)
        keyring = Keyring.from_mnemonic(secret.mnemonic, secret.bip39_passphrase, self.params)
        if any(acc.fingerprint != keyring.fingerprint for acc in self.book.accounts.values()):
            raise WalletError("the keystore does not belong to this wallet database")
        self._keyring = keyring

    def lock(self) -> None:
        self._keyring = None

    @property
    def keyring(self) -> Keyring:
        if self.watch_only:
            raise WatchOnlyError("watch-only wallet: create a PSBT and sign it where the keys are")
        if self._keyring is None:
            raise WalletLockedError("the wallet is locked: unlock it with its passphrase first")
        return self._keyring

    def show_mnemonic(self, passphrase: str) -> KeystoreSecret:
        if self.watch_only:
            raise WatchOnlyError("watch-only wallet: there is no mnemonic")
        return self.keystore.open(passphrase)

    def descriptors(self) -> list[str]:
        return [acc.descriptor() for acc in self.book.accounts.values()]

    # --- addresses --------------------------------------------------------------------------------

    def new_address(self, script_type: ScriptType | None = None) -> str:
        return self.book.new_address(script_type).address

    def addresses(self) -> list[dict[str, Any]]:
        out = []
        for row in self.db.list_addresses():
            acc = self.book.accounts[row.account]
            out.append({"address": row.address, "type": acc.script_type.value, "change": row.chain == 1,
                        "index": row.index, "path": path_str((*acc.origin, row.chain, row.index)), "used": row.used})
        return out

    def is_mine(self, script: bytes) -> bool:
        return self.db.address_row(script) is not None

    # --- chain ------------------------------------------------------------------------------------

    def require_rpc(self) -> NodeRPC:
        if self.rpc is None:
            raise NodeError("no node connection (give the wallet an RPC client / --node-rpc)")
        return self.rpc

    def sync(self, progress: Callable[[int, int], None] | None = None, mempool: bool = True,
             raw_blocks: bool = False) -> SyncReport:
        """Scans the node's new blocks (`raw_blocks`: read them raw even where the node has
        `getblock` verbosity 2) and its mempool."""
        tracker = ChainTracker(self.db, self.book, self.require_rpc(), self.birth_height, raw_blocks)
        return tracker.sync(progress, mempool)

    def tip_height(self) -> int | None:
        tip = self.db.tip()
        return None if tip is None else tip[0]

    def _confirmations(self, height: int | None) -> int:
        tip = self.tip_height()
        return 0 if height is None or tip is None else max(tip - height + 1, 0)

    def utxos(self) -> list[Utxo]:
        out = []
        maturity = self.params.coinbase_maturity
        for r in self.db.unspent():
            conf = self._confirmations(r.height if r.status is TxStatus.CONFIRMED else None)
            mature = not r.coinbase or conf >= maturity
            spendable = mature and r.status is not TxStatus.SIGNED and (conf >= 1 or r.trusted)
            acc = self.book.accounts[r.account]
            addr = self.db.address_row(r.script)
            assert addr is not None
            out.append(Utxo(r.txid, r.n, r.value, addr.address, conf, r.coinbase, mature, spendable,
                            str(r.status), path_str((*acc.origin, r.chain, r.index))))
        return out

    def balance(self) -> Balance:
        confirmed = unconfirmed = immature = 0
        for u in self.utxos():
            if not u.mature:
                immature += u.value
            elif u.confirmations >= 1:
                confirmed += u.value
            else:
                unconfirmed += u.value
        return Balance(confirmed, unconfirmed, immature, self.tip_height())

    def history(self, include_inactive: bool = False) -> list[HistoryEntry]:
        out = []
        for tx, received, spent in self.db.history_rows():
            if not include_inactive and tx.status not in ACTIVE:
                continue
            out.append(HistoryEntry(tx.txid, str(tx.status), received - spent, tx.fee,
                                    self._confirmations(tx.height), tx.height, tx.block_hash, tx.block_time,
                                    tx.coinbase, tx.replaced_by))
        return out

    # --- sending (see sending.Sender) ---------------------------------------------------------------

    def fee_rate(self, conf_target: int = 6) -> tuple[FeeRate, str]:
        return self.sender.estimate_fee_rate(conf_target)

    def prepare_send(self, outputs: Sequence[tuple[str, int]], fee_rate: FeeRateLike = None, *,
                     idempotency_key: str | None = None, conf_target: int = 6, rbf: bool = True) -> PreparedTx:
        """Builds, signs and records a transaction paying `outputs` [(address, sat)], without
        broadcasting it. With an `idempotency_key`, a second call with the same request returns
        the same transaction instead of paying twice (a different request is an error)."""
        return self.sender.prepare(outputs, fee_rate, idempotency_key=idempotency_key,
                                   conf_target=conf_target, rbf=rbf)

    def broadcast(self, txid: str) -> str:
        """Sends a recorded transaction to the node (again, if need be); returns the txid."""
        return self.sender.broadcast(txid)

    def send_many(self, outputs: Sequence[tuple[str, int]], fee_rate: FeeRateLike = None, *,
                  idempotency_key: str | None = None, conf_target: int = 6, rbf: bool = True) -> str:
        """prepare_send + broadcast. Returns the txid that now carries the payment (after a fee
        bump of an earlier attempt with the same key, the replacement's)."""
        return self.sender.send_many(outputs, fee_rate, idempotency_key=idempotency_key,
                                     conf_target=conf_target, rbf=rbf)

    def send(self, address: str, amount: int, fee_rate: FeeRateLike = None, **kw: Any) -> str:
        return self.send_many([(address, amount)], fee_rate, **kw)

    def bump_fee(self, txid: str, fee_rate: FeeRateLike = None) -> str:
        return self.sender.bump_fee(txid, fee_rate)

    def abandon(self, txid: str) -> None:
        self.sender.abandon(txid)

    def request_txid(self, idempotency_key: str) -> str | None:
        """The txid now carrying the request made with `idempotency_key`, if any."""
        return self.sender.request_txid(idempotency_key)

    # --- PSBT -----------------------------------------------------------------------------------------

    def create_psbt(self, outputs: Sequence[tuple[str, int]], fee_rate: FeeRateLike = None, *,
                    conf_target: int = 6, rbf: bool = True) -> str:
        return self.sender.create_psbt(outputs, fee_rate, conf_target=conf_target, rbf=rbf)

    def sign_psbt(self, text: str) -> tuple[str, int, bool]:
        """(PSBT base64 with our signatures, inputs signed, complete)."""
        p = psbt_mod.parse_psbt(text)
        n = psbt_mod.sign_psbt(p, self.keyring.fingerprint, self.keyring.private_key, self._lookup)
        return psbt_mod.to_base64(p), n, psbt_mod.is_complete(p)

    def finalize_psbt(self, text: str) -> tuple[str, str]:
        """(raw transaction hex, txid) of a fully signed PSBT."""
        tx = psbt_mod.finalize_psbt(psbt_mod.parse_psbt(text))
        return tx.serialize().hex(), tx.txid_hex

    def describe_psbt(self, text: str) -> dict[str, Any]:
        return psbt_mod.describe(psbt_mod.parse_psbt(text), self.params, self.is_mine)

    def broadcast_raw(self, raw_hex: str) -> str:
        return self.sender.broadcast_raw(raw_hex)

    def _lookup(self, script: bytes) -> tuple[bytes, tuple[int, ...]] | None:
        row = self.db.address_row(script)
        if row is None:
            return None
        acc = self.book.accounts[row.account]
        return row.pubkey, (*acc.origin, row.chain, row.index)


def _node_height(rpc: NodeRPC) -> int:
    try:
        return int(rpc.call("getblockcount"))
    except Exception as e:
        raise NodeError(f"node RPC getblockcount failed: {' '.join(str(e).split())[:200]}") from None
