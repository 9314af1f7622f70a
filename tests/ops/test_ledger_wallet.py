"""Income imported from a real hashforge wallet on a real regtest node: coinbase outputs (mature or
not) become `block` income, incoming payments `pool` income; unconfirmed ones wait; re-imports,
from the library and from `hashforge tax income import-wallet`, never duplicate."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from hashforge.consensus.address import address_to_script, script_to_address
from hashforge.consensus.params import REGTEST
from hashforge.consensus.tx import OutPoint, TxOut
from hashforge.ops.ledger import Ledger, LedgerError
from hashforge.wallet import ScryptParams, Wallet
from tests.helpers.nodeproc import NodeProcess
from tests.helpers.txbuilder import Key, Utxo, spend

pytestmark = pytest.mark.slow
POOL_KEY = Key.from_int(0x9001)  # the "pool" that pays the wallet
POOL_ADDR = script_to_address(POOL_KEY.p2wpkh, REGTEST)
SINK = script_to_address(Key.from_int(0x51C).p2wpkh, REGTEST)


class Farm:
    def __init__(self, node: NodeProcess, wallet_dir: Path) -> None:
        self.node, self.wallet_dir = node, wallet_dir
        self.wallet = Wallet.open(wallet_dir, REGTEST, rpc=node.rpc)  # type: ignore[arg-type]
        self.next_pool_coinbase = 1

    def mine(self, n: int, to: str) -> list[str]:
        return self.node.call("generatetoaddress", n, to)  # type: ignore[no-any-return]

    def pay(self, address: str, amount: int) -> tuple[str, int]:
        """The pool pays `amount` to `address` (output 1; change to the pool at 0): (txid, vout)."""
        block = self.node.call("getblock", self.node.call("getblockhash", self.next_pool_coinbase), 2)
        self.next_pool_coinbase += 1
        cb = block["tx"][0]
        utxo = Utxo(OutPoint(bytes.fromhex(cb["txid"])[::-1], 0),
                    TxOut(int(Decimal(str(cb["vout"][0]["value"])) * 100_000_000), POOL_KEY.p2wpkh), POOL_KEY)
        tx = spend(utxo, POOL_KEY, 1_000, extra_outputs=[TxOut(amount, address_to_script(address, REGTEST))])
        self.node.call("sendrawtransaction", tx.serialize().hex())
        return tx.txid_hex, 1


@pytest.fixture(scope="module")
def farm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Farm]:
    root = tmp_path_factory.mktemp("ledgerwallet")
    node = NodeProcess(root / "regtest").start()
    try:
        w, _ = Wallet.create(root / "wallet", REGTEST, "pw", rpc=node.rpc, kdf=ScryptParams(log_n=10))  # type: ignore[arg-type]
        w.close()
        f = Farm(node, root / "wallet")
        f.mine(5, POOL_ADDR)  # the pool's coinbases, spendable after 100 more blocks
        f.mine(100, SINK)
        yield f
        f.wallet.close()
    finally:
        node.stop()


def test_import_from_wallet(farm: Farm, tmp_path: Path) -> None:
    w = farm.wallet
    mining_addr, payout_addr, other_addr = w.new_address(), w.new_address(), w.new_address()
    blocks = farm.mine(2, mining_addr)  # two coinbase rewards, immature
    paid = farm.pay(payout_addr, 1_234_567)
    other = farm.pay(other_addr, 7_000)
    farm.mine(1, SINK)
    pending = farm.pay(payout_addr, 55_555)  # stays in the mempool for now
    w.sync()
    today = datetime.now(UTC).date()
    ledger = Ledger(tmp_path / "ops")
    ledger.import_prices(f"date,price\n{today.isoformat()},65000\n", "today.csv")

    r = ledger.import_wallet(w)
    assert (r.added, r.unchanged) == (4, 0) and r.skipped >= 1  # the mempool payment waits
    rows = ledger.income()
    coinbases = [farm.node.call("getblock", h, 2)["tx"][0] for h in blocks]
    rewards = {(cb["txid"], 0): int(Decimal(str(cb["vout"][0]["value"])) * 100_000_000) for cb in coinbases}
    assert {(i.txid, i.vout): i.amount_sat for i in rows if i.source == "block"} == rewards
    assert {(i.txid, i.vout): i.amount_sat for i in rows if i.source == "pool"} == {paid: 1_234_567, other: 7_000}
    for i in rows:  # the wallet's block times are today's: FMV from today's price
        assert i.day == today and i.fmv == Decimal(i.amount_sat) * 65000 / 100_000_000
    assert ledger.report(today.year).income_sat == sum(rewards.values()) + 1_234_567 + 7_000

    again = ledger.import_wallet(w)
    assert (again.added, again.unchanged) == (0, 4)
    assert len(ledger.income()) == 4

    [tip] = farm.mine(1, mining_addr)  # confirms the pending payout, one more reward
    w.sync()
    third = ledger.import_wallet(w)
    assert third.added == 2 and third.unchanged == 4
    assert pending in {(i.txid, i.vout) for i in ledger.income()}
    orphan = (farm.node.call("getblock", tip, 2)["tx"][0]["txid"], 0)
    assert orphan in {(i.txid, i.vout) for i in ledger.income()}

    farm.node.call("invalidateblock", tip)  # a reorg: the reward is gone, the payout unconfirmed again
    w.sync()
    fourth = ledger.import_wallet(w)
    assert fourth.removed == 2 and fourth.added == 0
    assert {(i.txid, i.vout) for i in ledger.income()}.isdisjoint({orphan, pending})
    [again_tip] = farm.mine(1, SINK)  # the payout confirms again, in another block
    w.sync()
    fifth = ledger.import_wallet(w)
    assert (fifth.added, fifth.removed) == (1, 0)
    assert pending in {(i.txid, i.vout) for i in ledger.income()} and len(ledger.income()) == 5

    # everything held is sold; a reorg that would take income back out is refused, nothing changes
    ledger.add_disposal(int(time.time()) + 60, sum(i.amount_sat for i in ledger.income()), Decimal("100"))
    farm.node.call("invalidateblock", again_tip)
    w.sync()
    with pytest.raises(LedgerError, match="a reorg took recorded income out of the chain, and then the disposal"):
        ledger.import_wallet(w)
    assert len(ledger.income()) == 5
    farm.node.call("reconsiderblock", again_tip)
    w.sync()
    assert ledger.import_wallet(w).removed == 0

    only = Ledger(tmp_path / "only-payout-address")
    r = only.import_wallet(w, payout_addresses={payout_addr})
    pool_rows = {(i.txid, i.vout) for i in only.income() if i.source == "pool"}
    assert pool_rows == {paid, pending}  # the payment to other_addr is not a pool payout
    none = Ledger(tmp_path / "no-payments")
    none.import_wallet(w, payments=False)
    assert {i.source for i in none.income()} == {"block"}


def test_cli_import_wallet_is_idempotent(farm: Farm, tmp_path: Path) -> None:
    farm.mine(1, farm.wallet.new_address())
    argv = [sys.executable, "-m", "hashforge", "tax", "income", "import-wallet", "--network", "regtest",
            "--wallet-dir", str(farm.wallet_dir), "--node-rpc", farm.node.url,
            "--rpc-cookie", str(farm.node.datadir / ".cookie"), "--ops-dir", str(tmp_path / "ops"), "--json"]
    first = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    added = json.loads(first.stdout)["added"]
    assert added >= 1
    second = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout) | {"skipped": 0} == {"added": 0, "unchanged": added, "skipped": 0, "removed": 0}
    listed = subprocess.run([sys.executable, "-m", "hashforge", "tax", "income", "list", "--ops-dir",
                             str(tmp_path / "ops"), "--json"], capture_output=True, text=True, timeout=60)
    assert len(json.loads(listed.stdout)) == added

    bad = subprocess.run([*argv[:8], "--wallet-dir", str(tmp_path / "nowallet"), "--offline",
                          "--ops-dir", str(tmp_path / "ops")], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2
    assert bad.stderr.startswith("error: ") and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr
