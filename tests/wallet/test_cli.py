"""`hashforge wallet ...` in subprocesses against a real regtest node: exit codes, --json, and
one-line errors for bad input (exit 2) with nothing written."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.nodeproc import NodeProcess
from tests.vectorfiles import REPO_ROOT

from .conftest import EXT_ADDR

pytestmark = pytest.mark.slow
MAINNET_ADDR = "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu"


class CLI:
    """Runs the wallet CLI in a subprocess (`run`), or in-process with Typer's runner (`inproc`,
    for the many bad-input cases where process start-up would dominate)."""

    def __init__(self, node: NodeProcess, home: Path) -> None:
        self.node = node
        self.home = home
        self.datadir = home / "wallet"

    def run(self, *args: str, passphrase: str | None = "secret pw", datadir: Path | None = None,
            stdin: str | None = None, node: bool = True) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "HOME": str(self.home)}
        env.pop("HASHFORGE_WALLET_PASSPHRASE", None)
        if passphrase is not None:
            env["HASHFORGE_WALLET_PASSPHRASE"] = passphrase
        cmd = [sys.executable, "-m", "hashforge.wallet.cli", *args, "--datadir", str(datadir or self.datadir)]
        if node:
            cmd += ["--node-rpc", self.node.url, "--rpc-cookie", str(self.node.datadir / ".cookie")]
        return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO_ROOT, input=stdin, timeout=60)

    def inproc(self, *args: str, passphrase: str = "secret pw", datadir: Path | None = None) -> tuple[int, str, str]:
        from typer.testing import CliRunner

        from hashforge.wallet.cli import wallet_app

        cmd = [*args, "--datadir", str(datadir or self.datadir), "--node-rpc", self.node.url,
               "--rpc-cookie", str(self.node.datadir / ".cookie")]
        r = CliRunner().invoke(wallet_app, cmd, env={"HOME": str(self.home), "HASHFORGE_WALLET_PASSPHRASE": passphrase})
        return r.exit_code, r.stdout, r.stderr

    def ok(self, *args: str, **kw: Any) -> Any:
        p = self.run(*args, "--json", **kw)
        assert p.returncode == 0, p.stderr
        return json.loads(p.stdout)

    def bad(self, *args: str, code: int = 2, match: str = "", **kw: Any) -> str:
        p = self.run(*args, **kw)
        assert p.returncode == code, (p.returncode, p.stdout, p.stderr)
        err = p.stderr.strip()
        assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err, err
        assert match in err, err
        return err


NODE_CMDS = {"create", "send", "bump-fee", "balance", "utxos", "history", "sync"}


@pytest.fixture(scope="module")
def cli(node: NodeProcess, tmp_path_factory: pytest.TempPathFactory) -> CLI:
    return CLI(node, tmp_path_factory.mktemp("home"))


@pytest.fixture(scope="module")
def created(cli: CLI) -> dict[str, Any]:
    out = cli.ok("create", "--kdf-log-n", "10")
    cli.node.call("generatetoaddress", 1, out["receive_address"])
    cli.node.call("generatetoaddress", 100, EXT_ADDR)
    cli.node.call("generatetoaddress", 1, out["receive_address"])  # stays immature
    return out  # type: ignore[no-any-return]


def test_create_outputs_and_files(cli: CLI, created: dict[str, Any]) -> None:
    assert len(created["mnemonic"].split()) == 24
    assert created["receive_address"].startswith("bcrt1q")
    assert created["descriptors"][0].startswith("wpkh([") and created["descriptors"][1].startswith("tr([")
    for name in ("keystore.json", "wallet.sqlite"):
        assert stat.S_IMODE(os.stat(cli.datadir / name).st_mode) == 0o600
    assert created["mnemonic"] not in (cli.datadir / "keystore.json").read_text()
    cli.bad("create", "--kdf-log-n", "10", match="already exists")


def test_balance_addresses_history(cli: CLI, created: dict[str, Any]) -> None:
    b = cli.ok("balance")
    assert b["confirmed"] > 0 and b["immature"] > 0 and b["total"] == b["confirmed"] + b["immature"]
    assert cli.ok("address")["address"].startswith("bcrt1q")
    assert cli.ok("address", "--type", "tr", node=False)["address"].startswith("bcrt1p")
    utxos = cli.ok("utxos")
    assert sorted(u["mature"] for u in utxos) == [False, True] and all(u["coinbase"] for u in utxos)
    assert len(cli.ok("history", "--offline")) == 2
    human = cli.run("balance", "--offline")
    assert human.returncode == 0 and "confirmed:" in human.stdout


BAD_SENDS = [
    (("bcrt1qinvalid", "0.1"), "invalid"),
    ((MAINNET_ADDR, "0.1"), "wrong network"),
    ((EXT_ADDR, "293sat"), "dust"),
    ((EXT_ADDR, "100000"), "insufficient funds"),
    ((EXT_ADDR, "abc"), "not an amount"),
    ((EXT_ADDR, "0"), "positive"),
    ((EXT_ADDR, "0.123456789"), "whole number"),
    ((EXT_ADDR, "30000000"), "21 million"),
    ((EXT_ADDR,), "pairs"),
    ((EXT_ADDR, "0.1", "--fee-rate", "0.5"), "minimum relay fee"),
    ((EXT_ADDR, "0.1", "--fee-rate", "x"), "fee rate"),
]


def _history(cli: CLI) -> list[Any]:
    from hashforge.consensus.params import REGTEST
    from hashforge.wallet import Wallet

    with Wallet.open(cli.datadir, REGTEST) as w:
        return [h.as_dict() for h in w.history(include_inactive=True)]


def test_send_bad_input_subprocess(cli: CLI, created: dict[str, Any]) -> None:
    """Two representative cases end to end in a real process: one line, exit 2, nothing sent."""
    mempool = cli.node.call("getrawmempool")
    cli.bad("send", MAINNET_ADDR, "0.1", match="wrong network")
    cli.bad("send", EXT_ADDR, "293sat", match="dust")
    assert cli.node.call("getrawmempool") == mempool


@pytest.mark.parametrize(("args", "match"), BAD_SENDS, ids=[m for _, m in BAD_SENDS])
def test_send_bad_input(cli: CLI, created: dict[str, Any], args: tuple[str, ...], match: str) -> None:
    assert cli.inproc("sync")[0] == 0  # send syncs first: compare against a synced history
    mempool = cli.node.call("getrawmempool")
    hist = _history(cli)
    code, out, err = cli.inproc("send", *args)
    assert code == 2 and out == "" and err.startswith("error: ") and err.count("\n") == 1, (code, out, err)
    assert match in err, err
    assert cli.node.call("getrawmempool") == mempool
    assert _history(cli) == hist  # nothing recorded


def test_send_wrong_passphrase(cli: CLI, created: dict[str, Any]) -> None:
    cli.bad("send", EXT_ADDR, "0.1", passphrase="wrong", match="wrong passphrase")
    cli.bad("send", EXT_ADDR, "0.1", passphrase=None, match="no passphrase")


def test_send_bump_and_history(cli: CLI, created: dict[str, Any]) -> None:
    sent = cli.ok("send", EXT_ADDR, "0.5", "--fee-rate", "2", "--idempotency-key", "k1")
    assert sent["broadcast"] and sent["txid"] in cli.node.call("getrawmempool")
    again = cli.ok("send", EXT_ADDR, "0.5", "--fee-rate", "2", "--idempotency-key", "k1")
    assert again["txid"] == sent["txid"]
    cli.bad("bump-fee", sent["txid"], "--fee-rate", "2.5", match="at least")
    bumped = cli.ok("bump-fee", sent["txid"], "--fee-rate", "20")
    assert cli.node.call("getrawmempool") == [bumped["txid"]]
    cli.node.call("generatetoaddress", 1, EXT_ADDR)
    hist = cli.ok("history")
    assert hist[0]["txid"] == bumped["txid"] and hist[0]["confirmations"] == 1
    assert sent["txid"] not in {h["txid"] for h in hist}
    assert sent["txid"] in {h["txid"] for h in cli.ok("history", "--all", "--offline")}
    cli.bad("bump-fee", bumped["txid"], code=1, match="confirmed")


def test_psbt_create_sign_finalize_broadcast(cli: CLI, created: dict[str, Any], tmp_path: Path) -> None:
    made = cli.ok("psbt", "create", EXT_ADDR, "10000000sat", "--fee-rate", "3")
    assert made["complete"] is False
    assert any(o["value"] == 10_000_000 and not o["is_mine"] for o in made["outputs"])
    pw = tmp_path / "pw"
    pw.write_text("secret pw\n")
    signed = cli.ok("psbt", "sign", made["psbt"], "--passphrase-file", str(pw), passphrase=None, node=False)
    assert signed["complete"] and signed["signed_inputs"] >= 1
    f = tmp_path / "signed.psbt"
    f.write_text(signed["psbt"])
    assert cli.ok("psbt", "decode", f"@{f}", node=False)["complete"] is True
    final = cli.ok("psbt", "finalize", "-", "--broadcast", stdin=signed["psbt"])
    assert final["txid"] in cli.node.call("getrawmempool")
    cli.node.call("generatetoaddress", 1, EXT_ADDR)


@pytest.mark.parametrize(
    ("cmd", "text"),
    [(("psbt", "decode"), "garbage"), (("psbt", "sign"), "cHNidP8BAAAA"), (("psbt", "finalize"), "")],
)
def test_psbt_malformed(cli: CLI, created: dict[str, Any], cmd: tuple[str, str], text: str) -> None:
    cli.bad(*cmd, text, match="PSBT")


def test_show_mnemonic_and_restore(cli: CLI, created: dict[str, Any], tmp_path: Path) -> None:
    shown = cli.ok("show-mnemonic", node=False)
    assert shown["mnemonic"] == created["mnemonic"]
    cli.bad("show-mnemonic", node=False, passphrase="nope", match="wrong passphrase")
    words = created["mnemonic"].split()
    bad_checksum = " ".join([*words[:-1], "zoo" if words[-1] != "zoo" else "abandon"])
    target = tmp_path / "restored"
    for text, match in ((bad_checksum, "checksum"), (" ".join([*words[:-1], "bitcoinz"]), "wordlist"),
                        (" ".join(words[:5]), "12, 15, 18, 21 or 24")):
        mf = tmp_path / "m.txt"
        mf.write_text(text)
        code, _, err = cli.inproc("restore", "--mnemonic-file", str(mf), "--kdf-log-n", "10", datadir=target)
        assert code == 2 and err.startswith("error: ") and err.count("\n") == 1 and match in err, err
        assert text.split()[0] not in err  # the mnemonic is never echoed
        assert not target.exists() or not any(target.iterdir())  # nothing half-written
    restored = cli.ok("restore", "--kdf-log-n", "10", "--birth-height", str(created["birth_height"]),
                      datadir=target, node=False, stdin=created["mnemonic"] + "\n")
    assert restored["descriptors"] == created["descriptors"]
    b = cli.ok("balance", datadir=target)
    assert b["total"] == cli.ok("balance")["total"]


def test_missing_wallet_and_unreachable_node(cli: CLI, created: dict[str, Any], tmp_path: Path) -> None:
    cli.bad("balance", "--offline", datadir=tmp_path / "none", node=False, match="no wallet")
    p = subprocess.run(
        [sys.executable, "-m", "hashforge.wallet.cli", "balance", "--datadir", str(cli.datadir),
         "--node-rpc", "http://u:p@127.0.0.1:1/"], capture_output=True, text=True, cwd=REPO_ROOT, timeout=60)
    assert p.returncode == 1 and p.stderr.startswith("error: ") and p.stderr.count("\n") == 1
    cli.bad("balance", "--network", "nonet", node=False, match="unknown network")


def test_watch_only_cli(cli: CLI, created: dict[str, Any], tmp_path: Path) -> None:
    target = tmp_path / "watch"
    out = cli.ok("create", "--watch-only", created["descriptors"][0], "--birth-height", str(created["birth_height"]),
                 datadir=target, passphrase=None)
    assert out["watch_only"]
    assert cli.ok("balance", datadir=target)["total"] > 0
    cli.bad("send", EXT_ADDR, "0.01", datadir=target, code=1, match="watch-only")
    cli.bad("create", "--watch-only", "xpubnonsense", datadir=tmp_path / "w2", passphrase=None, match="extended")


def test_every_command_closes_and_locks_its_wallet(cli: CLI, created: dict[str, Any],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The keys of an unlocked wallet leave memory when the command ends, whether it worked or not."""
    import sqlite3

    from hashforge.wallet import Wallet

    opened: list[Wallet] = []
    real_open = Wallet.open.__func__  # type: ignore[attr-defined]

    def recording_open(cls: type[Wallet], *args: Any, **kw: Any) -> Wallet:
        w = real_open(cls, *args, **kw)
        opened.append(w)
        return w  # type: ignore[no-any-return]

    monkeypatch.setattr(Wallet, "open", classmethod(recording_open))
    for args, code in [(("info",), 0), (("balance", "--offline"), 0), (("send", EXT_ADDR, "100000"), 2)]:
        assert cli.inproc(*args)[0] == code, args  # the send fails after unlocking (insufficient funds)
    assert len(opened) == 3
    for w in opened:
        assert w._keyring is None
        with pytest.raises(sqlite3.ProgrammingError):
            w.db.conn.execute("SELECT 1")
