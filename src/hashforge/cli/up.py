"""`hashforge up`: run the whole stack on one network (see hashforge.up); `--show` prints the network."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from hashforge import __version__
from hashforge.consensus.params import ChainParams, DifficultyRule
from hashforge.consensus.pow import difficulty, get_compact
from hashforge.settings import passed
from hashforge.up.config import LITECOIN_OF
from hashforge.up.operation import (
    DEFAULT_API_PORT,
    DEFAULT_MINER_API_PORT,
    DEFAULT_POOL_API_PORT,
    DEFAULT_STRATUM_PORT,
    DEFAULT_WS_PORT,
    default_datadir,
)

from .errors import fail


def network_summary(params: ChainParams) -> dict[str, Any]:
    """The facts about a network a user (or a script) wants before connecting anything to it."""
    header = params.genesis.header
    if params.difficulty_rule is DifficultyRule.ASERT:
        rule = {
            "rule": "aserti3-2d",
            "half_life_s": params.asert_half_life,
            "anchor_height": params.asert_anchor_height,
        }
    else:
        rule = {
            "rule": "bitcoin",
            "retarget_interval": params.difficulty_adjustment_interval,
            "min_difficulty_blocks": params.pow_allow_min_difficulty_blocks,
            "no_retargeting": params.pow_no_retargeting,
        }
    return {
        "network": params.name,
        "genesis_hash": params.genesis.hash_hex,
        "genesis_time": header.time,
        "genesis_bits": f"{header.bits:08x}",
        "genesis_nonce": header.nonce,
        "pow_algorithm": params.pow_algorithm.value,
        "pow_limit": f"{params.pow_limit:064x}",
        "pow_limit_bits": f"{get_compact(params.pow_limit):08x}",
        "min_difficulty": difficulty(get_compact(params.pow_limit)),
        "block_spacing_s": params.pow_target_spacing,
        "difficulty": rule,
        "subsidy_halving_interval": params.subsidy_halving_interval,
        "coinbase_maturity": params.coinbase_maturity,
        "magic": params.message_start.hex(),
        "p2p_port": params.default_port,
        "rpc_port": params.rpc_port,
        "bech32_hrp": params.bech32_hrp,
    }


def up(
    ctx: typer.Context,
    network: Annotated[str, typer.Option("--network", "-n", help="Network to run.")] = "devnet",
    datadir: Annotated[Path | None, typer.Option("--datadir", help="Where everything lives (default ~/.hashforge/up/NETWORK).")] = None,
    threads: Annotated[int | None, typer.Option("--threads", "-t", help="CPU mining threads (default: one per core).")] = None,
    no_miner: Annotated[bool, typer.Option("--no-miner", help="Run node, pool, wallet and API, but no CPU miner.")] = False,
    rpc_port: Annotated[int | None, typer.Option("--rpc-port", help="Node JSON-RPC port (default: the network's).")] = None,
    stratum_port: Annotated[int, typer.Option("--stratum-port", help="Pool Stratum port.")] = DEFAULT_STRATUM_PORT,
    api_port: Annotated[int, typer.Option("--api-port", help="REST API and dashboard port.")] = DEFAULT_API_PORT,
    pool_api_port: Annotated[int, typer.Option("--pool-api-port", help="The pool's own REST port.")] = DEFAULT_POOL_API_PORT,
    miner_api_port: Annotated[int, typer.Option("--miner-api-port", help="The miner's cgminer API port.")] = DEFAULT_MINER_API_PORT,
    ws_port: Annotated[int, typer.Option("--ws-port", help="Pool Stratum-over-WebSocket port (browser mining at /mine).")] = DEFAULT_WS_PORT,
    scheme: Annotated[str, typer.Option("--scheme", help="Pool payout scheme: solo (rewards straight to the wallet), pplns, pps, prop.")] = "solo",
    show: Annotated[bool, typer.Option("--show", help="Only show the network's parameters and exit.")] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON lines (one object per event).")] = False,
    restart_max: Annotated[int, typer.Option("--restart-max", help="Crashes of one part restarted within the window; one more stops everything.")] = 3,
    restart_window: Annotated[float, typer.Option("--restart-window", help="The restart budget's window, seconds.")] = 600.0,
    log_max_mb: Annotated[float, typer.Option("--log-max-mb", help="Each part's log (DATADIR/logs) rolls over at this size, MiB.")] = 10.0,
    log_backups: Annotated[int, typer.Option("--log-backups", help="Rolled-over logs kept per part.")] = 3,
    aux: Annotated[str, typer.Option("--aux", help="Litecoin networks: the chain merge-mined on top (default: the Dogecoin network of the same kind; none: Litecoin alone).")] = "auto",
    aux_address: Annotated[str | None, typer.Option("--aux-address", help="Litecoin networks: the address the merge-mined (Dogecoin) blocks pay (default: a wallet of up's for that coin, where hashforge's wallet supports it).")] = None,
    aux_rpc_port: Annotated[int | None, typer.Option("--aux-rpc-port", help="Litecoin networks: RPC port of the dogecoind up starts (default: the network's).")] = None,
    node_rpc: Annotated[str | None, typer.Option("--node-rpc", help="Litecoin networks: attach to this running litecoind (http://USER:PASS@HOST:PORT/, or with --node-cookie) instead of starting one.")] = None,
    node_cookie: Annotated[Path | None, typer.Option("--node-cookie", help="The attached litecoind's cookie file.")] = None,
    aux_rpc: Annotated[str | None, typer.Option("--aux-rpc", help="Litecoin networks: attach to this running dogecoind (http://USER:PASS@HOST:PORT/) instead of starting one.")] = None,
    bin_dir: Annotated[Path | None, typer.Option("--bin-dir", help="The folder of litecoind/dogecoind (default: ../shared/bin beside the checkout, then PATH).")] = None,
    replay_blocks: Annotated[Path | None, typer.Option("--replay-blocks", help="litecoin-regtest: raw blocks (hex, one a line from block 1) submitted to the new chain first, e.g. a chain past MWEB activation; without it MWEB stays off.")] = None,
    config: Annotated[Path | None, typer.Option("--config", help="TOML file of these settings (keys as the flags, with _); then $HASHFORGE_UP_*, then flags.")] = None,
) -> None:
    """Run a whole mining operation: node, wallet, pool, miner, REST API and dashboard.

    Every part is its own process on 127.0.0.1, speaking its real protocol (JSON-RPC, Stratum,
    cgminer API, HTTP). Ctrl-C or SIGTERM stops them all cleanly; a second `up` resumes.
    """
    from hashforge.settings import SettingsError, load
    from hashforge.up.config import UpSettings

    given = passed(
        ctx, network=("network", network), datadir=("datadir", datadir), threads=("threads", threads),
        miner=("no_miner", False if no_miner else None), rpc_port=("rpc_port", rpc_port),
        stratum_port=("stratum_port", stratum_port), api_port=("api_port", api_port),
        pool_api_port=("pool_api_port", pool_api_port), miner_api_port=("miner_api_port", miner_api_port),
        ws_port=("ws_port", ws_port), scheme=("scheme", scheme), restart_max=("restart_max", restart_max),
        restart_window=("restart_window", restart_window), log_max_mb=("log_max_mb", log_max_mb),
        log_backups=("log_backups", log_backups), aux=("aux", aux), aux_address=("aux_address", aux_address),
        aux_rpc_port=("aux_rpc_port", aux_rpc_port), node_rpc=("node_rpc", node_rpc),
        node_cookie=("node_cookie", node_cookie), aux_rpc=("aux_rpc", aux_rpc), bin_dir=("bin_dir", bin_dir),
        replay_blocks=("replay_blocks", replay_blocks),
    )
    try:
        settings = load(UpSettings, config, given)
    except SettingsError as e:
        fail(str(e))
    params = settings.params
    if show:
        _show(params, json_output)
        return
    if params.coin == "DOGE":
        fail(f"Dogecoin is merge-mined on top of Litecoin: run `hashforge up --network "
             f"{LITECOIN_OF[params.name]} --aux {params.name}`")
    from hashforge.up.run import run_operation
    from hashforge.up.supervisor import RestartPolicy

    s = settings
    ports = s.ports
    operation = None
    datadir = s.datadir or default_datadir(params)
    if params.coin == "LTC":
        from hashforge.up.daemons import DaemonMissing
        from hashforge.up.litecoin import LitecoinOperation

        try:
            operation = LitecoinOperation(params, datadir, ports, s.threads, s.miner, s.scheme, s.litecoin_setup())
        except DaemonMissing as e:
            fail(f"{e}" + ("; or mine Litecoin alone with --aux none" if s.aux == "auto" and "dogecoind" in str(e) else ""))
    code = run_operation(params, datadir, ports, s.threads, s.miner, s.scheme, json_output,
                         RestartPolicy(s.restart_max, s.restart_window), int(s.log_max_mb * 1024 * 1024),
                         s.log_backups, operation=operation)
    raise typer.Exit(code)


def _show(params: ChainParams, json_output: bool) -> None:
    info = network_summary(params)
    if json_output:
        typer.echo(json.dumps({**info, "version": __version__}))
        return
    rule = info["difficulty"]
    if rule["rule"] == "aserti3-2d":
        rule_text = f"aserti3-2d, half-life {rule['half_life_s']} s, anchor block {rule['anchor_height']}"
    else:
        rule_text = f"retarget every {rule['retarget_interval']} blocks"
    typer.echo(
        "\n".join(
            [
                f"hashforge {__version__}: {params.name}",
                f"genesis:      {info['genesis_hash']}",
                f"             time {info['genesis_time']}, bits {info['genesis_bits']}, nonce {info['genesis_nonce']}",
                f"pow:          {info['pow_algorithm']}, {info['block_spacing_s']} s blocks, {rule_text}",
                f"pow limit:    bits {info['pow_limit_bits']} (difficulty {info['min_difficulty']:.8g})",
                f"subsidy:      halving every {info['subsidy_halving_interval']} blocks, "
                f"coinbase maturity {info['coinbase_maturity']}",
                f"network:      magic {info['magic']}, p2p port {info['p2p_port']}, "
                f"rpc port {info['rpc_port']}, bech32 hrp {info['bech32_hrp']}",
            ]
        )
    )
