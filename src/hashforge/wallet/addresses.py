"""The wallet's address book: accounts, gap-limit derivation, receive and change addresses."""

from __future__ import annotations

from dataclasses import dataclass

from hashforge.consensus.address import script_to_address
from hashforge.consensus.params import ChainParams
from hashforge.consensus.tx import OutPoint, TxOut

from .db import AddressRow, OutputRow, WalletDB
from .errors import BadInputError
from .keys import CHANGE, RECEIVE, Account, ScriptType, parse_path, path_str
from .signer import Coin

DEFAULT_GAP_LIMIT = 20


@dataclass(frozen=True)
class AccountRef:
    id: int
    account: Account


class AddressBook:
    def __init__(self, db: WalletDB, params: ChainParams, gap_limit: int = DEFAULT_GAP_LIMIT) -> None:
        self.db = db
        self.params = params
        self.gap_limit = gap_limit
        self.accounts: dict[int, Account] = {}
        for aid, st, xpub, fp, origin in db.accounts():
            path = parse_path(origin) if origin != "m" else ()
            self.accounts[aid] = Account(ScriptType(st), xpub, bytes.fromhex(fp), path)

    def add_account(self, account: Account) -> int:
        aid = self.db.add_account(account.script_type.value, account.xpub, account.fingerprint.hex(),
                                  path_str(account.origin))
        self.accounts[aid] = account
        self.fill_gaps()
        return aid

    def account_id(self, script_type: ScriptType) -> int:
        for aid, acc in self.accounts.items():
            if acc.script_type is script_type:
                return aid
        have = ", ".join(acc.script_type.value for acc in self.accounts.values())
        raise BadInputError(f"this wallet has no {script_type.value} account (it has: {have})")

    @property
    def default_type(self) -> ScriptType:
        return self.accounts[min(self.accounts)].script_type

    def fill_gaps(self) -> bool:
        """Derives addresses so each chain has `gap_limit` unused ones past the last used; True if
        any were added (a scan must then look at the current block again)."""
        added = False
        for aid, acc in self.accounts.items():
            for chain in (RECEIVE, CHANGE):
                have = self.db.address_count(aid, chain)
                want = self.db.last_used_index(aid, chain) + 1 + self.gap_limit
                if have < want:
                    rows = []
                    for i in range(have, want):
                        d = acc.derive(chain, i)
                        addr = script_to_address(d.script_pubkey, self.params)
                        assert addr is not None
                        rows.append((d.script_pubkey, aid, chain, i, addr, d.pubkey))
                    self.db.add_addresses(rows)
                    added = True
        return added

    def scripts(self) -> dict[bytes, tuple[int, int, int]]:
        return self.db.all_scripts()

    def _next(self, script_type: ScriptType | None, chain: int) -> AddressRow:
        aid = self.account_id(script_type or self.default_type)
        with self.db.transaction():
            row = self.db.next_unused(aid, chain)
            if row is None:
                self.fill_gaps()
                row = self.db.next_unused(aid, chain)
            assert row is not None
            self.db.mark_handed_out(row.script)
            self.fill_gaps()
        return row

    def new_address(self, script_type: ScriptType | None = None) -> AddressRow:
        """The next receive address never handed out or used (then counted as used for the gap)."""
        return self._next(script_type, RECEIVE)

    def new_change(self, script_type: ScriptType | None = None) -> AddressRow:
        return self._next(script_type, CHANGE)

    def coin(self, row: OutputRow) -> Coin:
        acc = self.accounts[row.account]
        addr = self.db.address_row(row.script)
        assert addr is not None
        return Coin(
            OutPoint(bytes.fromhex(row.txid)[::-1], row.n),
            TxOut(row.value, row.script),
            acc.script_type,
            addr.pubkey,
            (*acc.origin, row.chain, row.index),
            acc.fingerprint,
        )

    def is_change(self, script: bytes) -> bool:
        info = self.scripts().get(script)
        return info is not None and info[1] == CHANGE
