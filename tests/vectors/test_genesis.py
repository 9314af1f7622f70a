"""Genesis blocks: Bitcoin's five networks against Core's chainparams, and our two devnets."""

from __future__ import annotations

from typing import Any

import pytest

from hashforge.consensus.block import Block
from hashforge.consensus.params import (
    NETWORKS,
    ChainParams,
    DifficultyRule,
    PowAlgorithm,
    get_params,
)
from hashforge.consensus.pow import (
    check_proof_of_work,
    get_compact,
    mine_header,
    pow_hash,
)
from tests.vectorfiles import load_json

CORE_NAMES = {"main": "mainnet", "testnet3": "testnet3", "testnet4": "testnet4", "signet": "signet", "regtest": "regtest"}


@pytest.fixture(scope="module")
def core() -> dict[str, Any]:
    networks: dict[str, Any] = load_json("bitcoin-core/chainparams_genesis.json")["networks"]
    return networks


@pytest.mark.parametrize("core_name", sorted(CORE_NAMES))
def test_genesis_matches_core(core: dict[str, Any], core_name: str) -> None:
    expected = core[core_name]["genesis"]
    params = get_params(CORE_NAMES[core_name])
    block = params.genesis
    assert block.hash_hex == expected["hash"]
    assert block.header.merkle_root[::-1].hex() == expected["merkle_root"]
    assert block.header.serialize().hex() == expected["header_hex"]
    assert block.serialize().hex() == expected["block_hex"]
    assert block.vtx[0].serialize().hex() == expected["coinbase_tx_hex"]
    assert (block.header.time, block.header.bits, block.header.nonce, block.header.version) == (
        expected["nTime"],
        int(expected["nBits"], 16),
        expected["nNonce"],
        expected["nVersion"],
    )
    assert block.vtx[0].vout[0].value == expected["reward_sats"]
    assert Block.from_bytes(bytes.fromhex(expected["block_hex"])) == block
    assert check_proof_of_work(block.hash, block.header.bits, params)


@pytest.mark.parametrize("core_name", sorted(CORE_NAMES))
def test_params_match_core(core: dict[str, Any], core_name: str) -> None:
    p = core[core_name]["params"]
    params = get_params(CORE_NAMES[core_name])
    ours = {
        "magic": params.message_start.hex(),
        "default_p2p_port": params.default_port,
        "default_rpc_port": params.rpc_port,
        "bech32_hrp": params.bech32_hrp,
        "base58_pubkey_address_prefix": params.base58_pubkey_prefix,
        "base58_script_address_prefix": params.base58_script_prefix,
        "wif_prefix": params.base58_secret_prefix,
        "xpub_version": params.xpub_version.hex(),
        "xprv_version": params.xprv_version.hex(),
        "subsidy_halving_interval": params.subsidy_halving_interval,
        "pow_limit": f"{params.pow_limit:064x}",
        "pow_target_timespan": params.pow_target_timespan,
        "pow_target_spacing": params.pow_target_spacing,
        "pow_allow_min_difficulty_blocks": params.pow_allow_min_difficulty_blocks,
        "pow_no_retargeting": params.pow_no_retargeting,
        "enforce_bip94": params.enforce_bip94,
        "bip34_height": params.bip34_height,
        "bip65_height": params.bip65_height,
        "bip66_height": params.bip66_height,
        "csv_height": params.csv_height,
        "segwit_height": params.segwit_height,
    }
    compared = [k for k in p if k in ours]
    assert compared, core_name
    for key in compared:
        assert ours[key] == p[key], (core_name, key)


OUR_NETWORKS = ["devnet", "scryptnet"]


@pytest.mark.parametrize("name", OUR_NETWORKS)
def test_devnet_genesis_is_valid_and_its_nonce_is_the_first(name: str) -> None:
    params = get_params(name)
    header = params.genesis.header
    assert params.difficulty_rule is DifficultyRule.ASERT
    assert header.bits == get_compact(params.pow_limit), "genesis is mined at the easiest target"
    assert check_proof_of_work(pow_hash(header, params), header.bits, params)
    assert header.merkle_root == params.genesis.vtx[0].txid
    # Mined once by scanning nonces from 0: the fixed nonce is the first that works.
    assert mine_header(header, params, start_nonce=0, max_nonce=header.nonce) == header


def test_scryptnet_uses_scrypt_and_devnet_sha256d() -> None:
    assert get_params("devnet").pow_algorithm is PowAlgorithm.SHA256D
    assert get_params("scryptnet").pow_algorithm is PowAlgorithm.SCRYPT
    scrypt = get_params("scryptnet")
    assert pow_hash(scrypt.genesis.header, scrypt) != scrypt.genesis.hash


def test_every_network_is_distinct() -> None:
    params: list[ChainParams] = list(NETWORKS.values())
    assert len(params) == 13
    assert len({p.genesis_hash for p in params}) == 13
    ours = [get_params(n) for n in OUR_NETWORKS]
    others = [p for p in params if p.name not in OUR_NETWORKS]
    for p in ours:
        assert p.message_start not in {o.message_start for o in params if o is not p}
        assert p.default_port not in {o.default_port for o in params if o is not p}
        assert p.rpc_port not in {o.rpc_port for o in params if o is not p}
        assert p.bech32_hrp not in {o.bech32_hrp for o in others}
        assert (p.bip34_height, p.bip65_height, p.bip66_height, p.csv_height, p.segwit_height) == (1,) * 5
        assert p.pow_target_spacing == 30 and p.asert_half_life == 600 and p.asert_anchor_height == 1
    assert ours[0].bech32_hrp != ours[1].bech32_hrp
