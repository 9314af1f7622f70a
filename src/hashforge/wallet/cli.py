"""`hashforge wallet ...`: the wallet's command line (a Typer sub-app, `wallet_app`).

Every command takes --network, --datadir (default ~/.hashforge/NETWORK/wallet) and --json.
Commands that talk to a node take --node-rpc URL (http://user:pass@host:port, or a URL plus
--rpc-cookie PATH; default http://127.0.0.1:<network RPC port>/ with ~/.hashforge/NETWORK/.cookie)
and sync before answering unless --offline. Passphrases come from --passphrase-file, the
environment (HASHFORGE_WALLET_PASSPHRASE) or a hidden prompt, in that order.

Exit codes: 0 ok; 2 bad input (invalid address or amount, dust, insufficient funds, malformed
PSBT or mnemonic, wrong passphrase, usage); 1 anything else (node unreachable, broadcast
rejected, damaged keystore). Errors are one line on stderr: `error: ...`.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from hashforge.cliutil import fail
from hashforge.consensus.params import ChainParams, UnknownNetworkError, get_params

from .amounts import format_amount, parse_amount
from .errors import AmountError, BadInputError, WalletError
from .keys import ScriptType
from .keystore import DEFAULT_LOG_N, ScryptParams
from .policy import FeeRate
from .wallet import Wallet, default_datadir

PASSPHRASE_ENV = "HASHFORGE_WALLET_PASSPHRASE"
EXIT_ERROR, EXIT_USAGE = 1, 2

wallet_app = typer.Typer(
    name="wallet",
    help="HD wallet: receive mining rewards, send (RBF, batched payouts), PSBT.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
psbt_app = typer.Typer(help="BIP174 PSBTs: create, sign, finalize, decode.", no_args_is_help=True)
wallet_app.add_typer(psbt_app, name="psbt")


@wallet_app.callback()
def _setup() -> None:
    """HD wallet: receive mining rewards, send (RBF, batched payouts), PSBT."""
    # The commands report what matters (e.g. a fallback fee rate) themselves; keep library log
    # records off stderr unless the application configured logging.
    logging.getLogger("hashforge.wallet").addHandler(logging.NullHandler())

# --- shared options ------------------------------------------------------------------------------

Network = Annotated[str, typer.Option("--network", "-n", help="regtest, devnet, scryptnet, testnet4, signet, mainnet, ...")]
Datadir = Annotated[Path | None, typer.Option("--datadir", help="Wallet directory (default ~/.hashforge/NETWORK/wallet).")]
NodeRpc = Annotated[str | None, typer.Option("--node-rpc", envvar="HASHFORGE_NODE_RPC", help="Node RPC URL, e.g. http://user:pass@127.0.0.1:18443/.")]
RpcCookie = Annotated[Path | None, typer.Option("--rpc-cookie", help="Node RPC cookie file (default ~/.hashforge/NETWORK/.cookie).")]
Json = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
Offline = Annotated[bool, typer.Option("--offline", help="Do not contact the node; show what the wallet database knows.")]
PassFile = Annotated[Path | None, typer.Option("--passphrase-file", help="File holding the keystore passphrase.")]
FeeRateOpt = Annotated[str | None, typer.Option("--fee-rate", help="Fee rate in sat/vB (default: the node's estimatesmartfee).")]
ConfTarget = Annotated[int, typer.Option("--conf-target", help="Blocks to confirm within, for the fee estimate.")]


@contextmanager
def _errors() -> Iterator[None]:
    """Turns wallet errors into one line on stderr and the exit code for their kind."""
    try:
        yield
    except BadInputError as e:  # WalletSchemaError included: a wallet a newer hashforge wrote
        fail(str(e), EXIT_USAGE)
    except WalletError as e:
        fail(str(e), EXIT_ERROR)


def _params(network: str) -> ChainParams:
    try:
        return get_params(network)
    except UnknownNetworkError as e:
        fail(str(e))


def _datadir(datadir: Path | None, params: ChainParams) -> Path:
    return (datadir or default_datadir(params.name)).expanduser()


def _rpc(params: ChainParams, url: str | None, cookie: Path | None) -> Any:
    from hashforge.rpcclient import client_for_url

    try:
        return client_for_url(url or f"http://127.0.0.1:{params.rpc_port}/",
                              (cookie or Path.home() / ".hashforge" / params.name / ".cookie").expanduser())
    except ValueError as e:
        fail(f"--node-rpc: {e}")


def _passphrase(file: Path | None, *, confirm: bool = False, prompt: str = "Wallet passphrase") -> str:
    if file is not None:
        try:
            value = file.read_text().rstrip("\r\n")
        except OSError as e:
            fail(f"cannot read the passphrase file: {e.strerror}")
    elif os.environ.get(PASSPHRASE_ENV):
        value = os.environ[PASSPHRASE_ENV]
    elif sys.stdin.isatty():
        value = typer.prompt(prompt, hide_input=True, confirmation_prompt=confirm)
    else:
        fail(f"no passphrase: use --passphrase-file, set {PASSPHRASE_ENV}, or run in a terminal")
    if not value:
        fail("the passphrase must not be empty")
    return value


def _emit(as_json: bool, data: Any, human: str) -> None:
    typer.echo(json.dumps(data, indent=2, default=str) if as_json else human)


def _parse_outputs(args: list[str], coin: str = "BTC") -> list[tuple[str, int]]:
    """ADDRESS AMOUNT [ADDRESS AMOUNT ...] or ADDRESS=AMOUNT ..."""
    if args and all("=" in a for a in args):
        pairs = [tuple(a.split("=", 1)) for a in args]
    elif len(args) % 2 == 0 and args and not any("=" in a for a in args):
        pairs = list(zip(args[::2], args[1::2], strict=True))
    else:
        raise AmountError("give outputs as ADDRESS AMOUNT pairs (or ADDRESS=AMOUNT)")
    return [(a.strip(), parse_amount(v, coin)) for a, v in pairs]


def _fee_rate(text: str | None) -> FeeRate | None:
    return None if text is None else FeeRate.from_sat_per_vb(text)


class _Ctx:
    """What one command works with: chain params, datadir, node access, --json, the wallet it opened."""

    def __init__(self, network: str, datadir: Path | None, node_rpc: str | None = None,
                 rpc_cookie: Path | None = None, as_json: bool = False) -> None:
        self.params = _params(network)
        self.datadir = _datadir(datadir, self.params)
        self.node_rpc, self.rpc_cookie = node_rpc, rpc_cookie
        self.as_json = as_json
        self._opened: list[Wallet] = []

    def rpc(self) -> Any:
        return _rpc(self.params, self.node_rpc, self.rpc_cookie)

    def open(self, offline: bool = True, sync: bool = False) -> Wallet:
        """The wallet (closed when the command ends), with the node unless offline; synced if asked."""
        rpc = None if offline else self.rpc()
        w = Wallet.open(self.datadir, self.params, rpc)
        self.adopt(w)
        if sync and rpc is not None:
            _sync(w)
        return w

    def adopt(self, w: Wallet) -> Wallet:
        """A wallet the command made itself, closed with the others."""
        self._opened.append(w)
        return w

    def unlock(self, w: Wallet, passphrase_file: Path | None) -> None:
        w.unlock(_passphrase(passphrase_file))

    def report(self, data: Any, human: str) -> None:
        _emit(self.as_json, data, human)

    def close(self) -> None:
        while self._opened:
            self._opened.pop().close()


@contextmanager
def _command(network: str, datadir: Path | None, node_rpc: str | None = None, rpc_cookie: Path | None = None,
             as_json: bool = False) -> Iterator[_Ctx]:
    """Every command's frame: its context; wallet errors as one line and an exit code; wallets closed."""
    ctx = _Ctx(network, datadir, node_rpc, rpc_cookie, as_json)
    with _errors():
        try:
            yield ctx
        finally:
            ctx.close()


def _sync(w: Wallet) -> None:
    if sys.stderr.isatty():
        from rich.progress import Progress

        with Progress(transient=True) as progress:
            task = progress.add_task("scanning blocks", total=None)

            def show(h: int, top: int) -> None:
                progress.update(task, completed=h, total=top)

            w.sync(show)
    else:
        w.sync()


# --- create / restore / keys --------------------------------------------------------------------------


@wallet_app.command()
def create(
    network: Network = "regtest",
    datadir: Datadir = None,
    node_rpc: NodeRpc = None,
    rpc_cookie: RpcCookie = None,
    words: Annotated[int, typer.Option("--words", help="Mnemonic length: 12 or 24 words.")] = 24,
    bip39_passphrase_file: Annotated[Path | None, typer.Option("--bip39-passphrase-file", help="Optional BIP39 passphrase (the '25th word').")] = None,
    watch_only: Annotated[str | None, typer.Option("--watch-only", help="Track an xpub/zpub or wpkh()/tr() descriptor instead of making keys.")] = None,
    script_type: Annotated[ScriptType | None, typer.Option("--type", help="Script type of a bare --watch-only xpub.")] = None,
    birth_height: Annotated[int | None, typer.Option("--birth-height", help="Scan from this height (default: the node's tip, or 0 offline).")] = None,
    passphrase_file: PassFile = None,
    kdf_log_n: Annotated[int, typer.Option("--kdf-log-n", hidden=True, help="scrypt cost (log2 N).")] = DEFAULT_LOG_N,
    offline: Offline = False,
    as_json: Json = False,
) -> None:
    """Create a wallet with a new mnemonic (printed once: write it down), or a watch-only one."""
    with _command(network, datadir, node_rpc, rpc_cookie, as_json) as ctx:
        rpc = None if offline else _optional_rpc(ctx)
        if watch_only is not None:
            w = ctx.adopt(Wallet.create_watch_only(ctx.datadir, ctx.params, watch_only, script_type=script_type,
                                                   birth_height=birth_height or 0, rpc=rpc))
            ctx.report({"datadir": str(ctx.datadir), "watch_only": True, "descriptors": w.descriptors(),
                        "birth_height": w.birth_height},
                       f"watch-only wallet created in {ctx.datadir}\n" + "\n".join(w.descriptors()))
            return
        if words not in (12, 15, 18, 21, 24):
            fail("--words must be 12, 15, 18, 21 or 24")
        bip39_pass = _read_optional(bip39_passphrase_file)
        passphrase = _passphrase(passphrase_file, confirm=True, prompt="New wallet passphrase")
        w, mnemonic = Wallet.create(ctx.datadir, ctx.params, passphrase, words=words, bip39_passphrase=bip39_pass,
                                    birth_height=birth_height, rpc=rpc, kdf=ScryptParams(log_n=kdf_log_n))
        ctx.adopt(w)
        ctx.report({"datadir": str(ctx.datadir), "mnemonic": mnemonic, "birth_height": w.birth_height,
                    "descriptors": w.descriptors(), "receive_address": w.new_address()},
                   f"wallet created in {ctx.datadir}\n\nmnemonic (write it down, it is shown once):\n  {mnemonic}\n")


def _optional_rpc(ctx: _Ctx) -> Any:
    """The node client if the node answers (to date a new wallet), else None."""
    try:
        rpc = ctx.rpc()
        rpc.call("getblockcount")
        return rpc
    except Exception:
        if ctx.node_rpc is not None:
            raise WalletError(f"cannot reach the node at {ctx.node_rpc} (use --offline to create without it)") from None
        return None


def _read_optional(path: Path | None) -> str:
    if path is None:
        return ""
    try:
        return path.read_text().rstrip("\r\n")
    except OSError as e:
        fail(f"cannot read {path}: {e.strerror}")


@wallet_app.command()
def restore(
    network: Network = "regtest",
    datadir: Datadir = None,
    mnemonic_file: Annotated[Path | None, typer.Option("--mnemonic-file", help="File holding the mnemonic (default: prompt).")] = None,
    bip39_passphrase_file: Annotated[Path | None, typer.Option("--bip39-passphrase-file", help="The BIP39 passphrase, if one was used.")] = None,
    birth_height: Annotated[int, typer.Option("--birth-height", help="Scan from this height.")] = 0,
    node_rpc: NodeRpc = None,
    rpc_cookie: RpcCookie = None,
    passphrase_file: PassFile = None,
    kdf_log_n: Annotated[int, typer.Option("--kdf-log-n", hidden=True)] = DEFAULT_LOG_N,
    as_json: Json = False,
) -> None:
    """Restore a wallet from its BIP39 mnemonic (scans from --birth-height on the next sync)."""
    with _command(network, datadir, node_rpc, rpc_cookie, as_json) as ctx:
        if mnemonic_file is not None:
            mnemonic = _read_optional(mnemonic_file)
        elif sys.stdin.isatty():
            mnemonic = typer.prompt("Mnemonic", hide_input=True)
        else:
            mnemonic = sys.stdin.readline().strip()
        from .keys import validate_mnemonic

        mnemonic = validate_mnemonic(mnemonic)  # before asking for a passphrase
        passphrase = _passphrase(passphrase_file, confirm=True, prompt="New wallet passphrase")
        w, _ = Wallet.create(ctx.datadir, ctx.params, passphrase, mnemonic=mnemonic,
                             bip39_passphrase=_read_optional(bip39_passphrase_file), birth_height=birth_height,
                             kdf=ScryptParams(log_n=kdf_log_n))
        ctx.adopt(w)
        ctx.report({"datadir": str(ctx.datadir), "birth_height": birth_height, "descriptors": w.descriptors()},
                   f"wallet restored in {ctx.datadir} (scans from height {birth_height} on the next sync)")


@wallet_app.command("show-mnemonic")
def show_mnemonic(network: Network = "regtest", datadir: Datadir = None, node_rpc: NodeRpc = None,
                  rpc_cookie: RpcCookie = None, passphrase_file: PassFile = None, as_json: Json = False) -> None:
    """Print the wallet's mnemonic (asks for the passphrase)."""
    with _command(network, datadir, node_rpc, rpc_cookie, as_json) as ctx:
        w = ctx.open()
        secret = w.show_mnemonic(_passphrase(passphrase_file))
        ctx.report({"mnemonic": secret.mnemonic, "has_bip39_passphrase": bool(secret.bip39_passphrase)},
                   secret.mnemonic + ("\n(with a BIP39 passphrase)" if secret.bip39_passphrase else ""))


@wallet_app.command()
def info(network: Network = "regtest", datadir: Datadir = None, node_rpc: NodeRpc = None,
         rpc_cookie: RpcCookie = None, as_json: Json = False) -> None:
    """Network, descriptors (to make a watch-only copy), birth height, last synced block."""
    with _command(network, datadir, node_rpc, rpc_cookie, as_json) as ctx:
        w = ctx.open()
        data = {"network": ctx.params.name, "datadir": str(ctx.datadir), "watch_only": w.watch_only,
                "descriptors": w.descriptors(), "birth_height": w.birth_height, "synced_height": w.tip_height()}
        ctx.report(data, "\n".join(f"{k}: {v}" for k, v in data.items()))


@wallet_app.command()
def address(
    network: Network = "regtest",
    datadir: Datadir = None,
    script_type: Annotated[ScriptType | None, typer.Option("--type", help="wpkh (BIP84, default), tr (BIP86), or pkh (BIP44: Litecoin, Dogecoin).")] = None,
    list_all: Annotated[bool, typer.Option("--list", help="List the addresses handed out or used.")] = False,
    node_rpc: NodeRpc = None,
    rpc_cookie: RpcCookie = None,
    as_json: Json = False,
) -> None:
    """A new receive address (or --list them)."""
    with _command(network, datadir, node_rpc, rpc_cookie, as_json) as ctx:
        w = ctx.open()
        if list_all:
            rows = w.addresses()
            ctx.report(rows, "\n".join(f"{r['address']}  {r['path']}{'  used' if r['used'] else ''}" for r in rows))
            return
        addr = w.new_address(script_type)
        ctx.report({"address": addr}, addr)


# --- chain views ------------------------------------------------------------------------------------


@wallet_app.command()
def sync(network: Network = "regtest", datadir: Datadir = None, node_rpc: NodeRpc = None,
         rpc_cookie: RpcCookie = None, as_json: Json = False) -> None:
    """Scan new blocks and the mempool (handles reorgs)."""
    with _command(network, datadir, node_rpc, rpc_cookie, as_json) as ctx:
        w = ctx.open(offline=False)
        r = w.sync()
        data = {"tip_height": r.tip_height, "tip_hash": r.tip_hash, "blocks_scanned": r.blocks_scanned,
                "rolled_back_to": r.rolled_back_to, "new_transactions": r.new_transactions}
        ctx.report(data, f"synced to height {r.tip_height} ({r.blocks_scanned} blocks scanned, "
                         f"{len(r.new_transactions)} new transactions)")


@wallet_app.command()
def balance(network: Network = "regtest", datadir: Datadir = None, node_rpc: NodeRpc = None,
            rpc_cookie: RpcCookie = None, offline: Offline = False, as_json: Json = False) -> None:
    """Confirmed (spendable), unconfirmed and immature (coinbase < 100 confirmations) balances."""
    with _command(network, datadir, node_rpc, rpc_cookie, as_json) as ctx:
        b = ctx.open(offline, sync=True).balance()
        ctx.report({**b.as_dict(), "coin": ctx.params.coin},
                   f"confirmed:   {format_amount(b.confirmed, ctx.params.coin)}\nunconfirmed: {format_amount(b.unconfirmed, ctx.params.coin)}\n"
                   f"immature:    {format_amount(b.immature, ctx.params.coin)}\ntotal:       {format_amount(b.total, ctx.params.coin)}")


@wallet_app.command()
def utxos(network: Network = "regtest", datadir: Datadir = None, node_rpc: NodeRpc = None,
          rpc_cookie: RpcCookie = None, offline: Offline = False, as_json: Json = False) -> None:
    """Unspent outputs with confirmations; immature coinbases are marked."""
    with _command(network, datadir, node_rpc, rpc_cookie, as_json) as ctx:
        rows = ctx.open(offline, sync=True).utxos()
        ctx.report([u.as_dict() for u in rows], "\n".join(
            f"{u.txid}:{u.vout}  {format_amount(u.value, ctx.params.coin)}  conf={u.confirmations}"
            f"{'  immature' if not u.mature else ''}{'' if u.spendable else '  (not spendable yet)'}" for u in rows))


@wallet_app.command()
def history(network: Network = "regtest", datadir: Datadir = None, node_rpc: NodeRpc = None,
            rpc_cookie: RpcCookie = None, offline: Offline = False,
            include_all: Annotated[bool, typer.Option("--all", help="Also replaced, dropped and abandoned transactions.")] = False,
            as_json: Json = False) -> None:
    """Transactions, newest first, with their net amount for the wallet."""
    with _command(network, datadir, node_rpc, rpc_cookie, as_json) as ctx:
        rows = ctx.open(offline, sync=True).history(include_all)
        ctx.report([h.as_dict() for h in rows], "\n".join(
            f"{h.txid}  {'+' if h.amount >= 0 else '-'}{format_amount(abs(h.amount), ctx.params.coin)}  {h.status}  conf={h.confirmations}"
            f"{'  coinbase' if h.coinbase else ''}" for h in rows))


# --- sending ------------------------------------------------------------------------------------------


@wallet_app.command()
def send(
    outputs: Annotated[list[str], typer.Argument(help="ADDRESS AMOUNT [ADDRESS AMOUNT ...]; AMOUNT in the network's coin (BTC, LTC, DOGE) or like 5000sat.")],
    network: Network = "regtest",
    datadir: Datadir = None,
    node_rpc: NodeRpc = None,
    rpc_cookie: RpcCookie = None,
    fee_rate: FeeRateOpt = None,
    conf_target: ConfTarget = 6,
    no_rbf: Annotated[bool, typer.Option("--no-rbf", help="Do not signal BIP125 replaceability.")] = False,
    idempotency_key: Annotated[str | None, typer.Option("--idempotency-key", help="Retrying with the same key never pays twice.")] = None,
    no_broadcast: Annotated[bool, typer.Option("--no-broadcast", help="Sign and record only; print the raw transaction.")] = False,
    passphrase_file: PassFile = None,
    as_json: Json = False,
) -> None:
    """Pay one or more addresses (one transaction)."""
    with _command(network, datadir, node_rpc, rpc_cookie, as_json) as ctx:
        outs = _parse_outputs(outputs, ctx.params.coin)
        rate = _fee_rate(fee_rate)
        w = ctx.open(offline=False, sync=True)
        w.sender.parse_outputs(outs)  # reject bad addresses before asking for the passphrase
        ctx.unlock(w, passphrase_file)
        prepared = w.prepare_send(outs, rate, idempotency_key=idempotency_key, conf_target=conf_target, rbf=not no_rbf)
        txid = prepared.txid if no_broadcast else w.broadcast(prepared.txid)
        data = {**prepared.as_dict(), "txid": txid, "broadcast": not no_broadcast, "coin": ctx.params.coin}
        if prepared.fee_source == "fallback":
            typer.echo(f"warning: the node has no fee estimate; paid the fallback rate {prepared.fee_rate_sat_vb} sat/vB "
                       "(use --fee-rate to choose)", err=True)
        ctx.report(data, prepared.raw_hex if no_broadcast else txid)


@wallet_app.command("bump-fee")
def bump_fee(
    txid: Annotated[str, typer.Argument(help="The unconfirmed transaction to replace.")],
    network: Network = "regtest",
    datadir: Datadir = None,
    node_rpc: NodeRpc = None,
    rpc_cookie: RpcCookie = None,
    fee_rate: FeeRateOpt = None,
    passphrase_file: PassFile = None,
    as_json: Json = False,
) -> None:
    """Replace an unconfirmed transaction with one paying a higher fee (BIP125)."""
    with _command(network, datadir, node_rpc, rpc_cookie, as_json) as ctx:
        rate = _fee_rate(fee_rate)
        w = ctx.open(offline=False, sync=True)
        ctx.unlock(w, passphrase_file)
        new = w.bump_fee(txid.strip().lower(), rate)
        row = w.db.tx(new)
        ctx.report({"original": txid, "txid": new, "fee": row.fee if row else None}, new)


@wallet_app.command("broadcast")
def broadcast_cmd(
    txid: Annotated[str, typer.Argument(help="A transaction the wallet recorded (e.g. sent with --no-broadcast).")],
    network: Network = "regtest",
    datadir: Datadir = None,
    node_rpc: NodeRpc = None,
    rpc_cookie: RpcCookie = None,
    as_json: Json = False,
) -> None:
    """(Re)broadcast a transaction recorded by the wallet."""
    with _command(network, datadir, node_rpc, rpc_cookie, as_json) as ctx:
        w = ctx.open(offline=False)
        done = w.broadcast(txid.strip().lower())
        ctx.report({"txid": done}, done)


@wallet_app.command()
def abandon(
    txid: Annotated[str, typer.Argument(help="An unbroadcast or dropped transaction; its coins become free.")],
    network: Network = "regtest",
    datadir: Datadir = None,
    node_rpc: NodeRpc = None,
    rpc_cookie: RpcCookie = None,
    as_json: Json = False,
) -> None:
    """Give up a transaction that never reached the node (or was dropped)."""
    with _command(network, datadir, node_rpc, rpc_cookie, as_json) as ctx:
        ctx.open().abandon(txid.strip().lower())
        ctx.report({"txid": txid, "status": "abandoned"}, f"abandoned {txid}")


# --- PSBT ---------------------------------------------------------------------------------------------


def _read_psbt(value: str) -> str:
    if value == "-":
        return sys.stdin.read()
    if value.startswith("@"):
        try:
            return Path(value[1:]).read_text()
        except OSError as e:
            fail(f"cannot read {value[1:]}: {e.strerror}")
    return value


@psbt_app.command("create")
def psbt_create(
    outputs: Annotated[list[str], typer.Argument(help="ADDRESS AMOUNT [ADDRESS AMOUNT ...]")],
    network: Network = "regtest",
    datadir: Datadir = None,
    node_rpc: NodeRpc = None,
    rpc_cookie: RpcCookie = None,
    fee_rate: FeeRateOpt = None,
    conf_target: ConfTarget = 6,
    no_rbf: Annotated[bool, typer.Option("--no-rbf")] = False,
    as_json: Json = False,
) -> None:
    """An unsigned PSBT funded by this wallet (works watch-only), printed in base64."""
    with _command(network, datadir, node_rpc, rpc_cookie, as_json) as ctx:
        outs = _parse_outputs(outputs, ctx.params.coin)
        rate = _fee_rate(fee_rate)
        w = ctx.open(offline=False, sync=True)
        b64 = w.create_psbt(outs, rate, conf_target=conf_target, rbf=not no_rbf)
        ctx.report({"psbt": b64, **w.describe_psbt(b64)}, b64)


@psbt_app.command("sign")
def psbt_sign(
    psbt: Annotated[str, typer.Argument(help="PSBT in base64, @FILE, or - for stdin.")],
    network: Network = "regtest",
    datadir: Datadir = None,
    node_rpc: NodeRpc = None,
    rpc_cookie: RpcCookie = None,
    passphrase_file: PassFile = None,
    as_json: Json = False,
) -> None:
    """Add this wallet's signatures to a PSBT."""
    with _command(network, datadir, node_rpc, rpc_cookie, as_json) as ctx:
        text = _read_psbt(psbt)
        w = ctx.open()
        from .psbt import parse_psbt

        parse_psbt(text)  # reject malformed input before asking for the passphrase
        ctx.unlock(w, passphrase_file)
        b64, n, complete = w.sign_psbt(text)
        ctx.report({"psbt": b64, "signed_inputs": n, "complete": complete}, b64)


@psbt_app.command("finalize")
def psbt_finalize(
    psbt: Annotated[str, typer.Argument(help="PSBT in base64, @FILE, or - for stdin.")],
    network: Network = "regtest",
    datadir: Datadir = None,
    node_rpc: NodeRpc = None,
    rpc_cookie: RpcCookie = None,
    broadcast: Annotated[bool, typer.Option("--broadcast", help="Send the finished transaction to the node.")] = False,
    as_json: Json = False,
) -> None:
    """Finalize a fully signed PSBT into a raw transaction (and optionally broadcast it)."""
    with _command(network, datadir, node_rpc, rpc_cookie, as_json) as ctx:
        from .psbt import finalize_psbt, parse_psbt

        tx = finalize_psbt(parse_psbt(_read_psbt(psbt)))
        raw, txid = tx.serialize().hex(), tx.txid_hex
        if broadcast:
            w = ctx.open(offline=False)
            w.broadcast_raw(raw)
            w.sync()
        ctx.report({"hex": raw, "txid": txid, "broadcast": broadcast}, txid if broadcast else raw)


@psbt_app.command("decode")
def psbt_decode(
    psbt: Annotated[str, typer.Argument(help="PSBT in base64, @FILE, or - for stdin.")],
    network: Network = "regtest",
    datadir: Datadir = None,
    node_rpc: NodeRpc = None,
    rpc_cookie: RpcCookie = None,
    as_json: Json = False,
) -> None:
    """Inputs, outputs (with addresses and which are ours), fee, completeness."""
    with _command(network, datadir, node_rpc, rpc_cookie, as_json) as ctx:
        text = _read_psbt(psbt)
        if (ctx.datadir / "wallet.sqlite").exists():
            data = ctx.open().describe_psbt(text)
        else:
            from .psbt import describe, parse_psbt

            data = describe(parse_psbt(text), ctx.params, lambda _s: False)
        ctx.report(data, json.dumps(data, indent=2))


def main() -> None:
    wallet_app()


if __name__ == "__main__":
    main()
