"""`hashforge up`: start the whole stack on one network (for now: show the network it will run)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from hashforge import __version__
from hashforge.consensus.params import ChainParams, DifficultyRule, UnknownNetworkError, get_params
from hashforge.consensus.pow import difficulty, get_compact

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
    network: Annotated[str, typer.Option("--network", "-n", help="Network to run.")] = "devnet",
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Run the whole stack (node, pool, miner, API) on one network. For now: show the network."""
    try:
        params = get_params(network)
    except UnknownNetworkError as e:
        fail(str(e))
    info = network_summary(params)
    if json_output:
        typer.echo(json.dumps({**info, "version": __version__, "node": "coming soon"}))
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
                "node coming soon",
            ]
        )
    )
