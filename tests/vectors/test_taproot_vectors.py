"""BIP341 wallet vectors (scriptPubKey part): leaf hashes, merkle roots, tweaks, control blocks."""

from __future__ import annotations

from typing import Any

import pytest

from hashforge.consensus.ecc import taptweak_hash
from hashforge.consensus.taproot import (
    tapbranch_hash,
    tapleaf_hash,
    taproot_merkle_root,
    taproot_output_key,
    verify_taproot_commitment,
)
from tests.vectorfiles import load_json

CASES = load_json("bitcoin-core/bip341_wallet_vectors.json")["scriptPubKey"]


def _walk(tree: Any) -> tuple[bytes, list[tuple[dict[str, Any], bytes, list[bytes]]]]:
    """(node hash, [(leaf, leaf hash, sibling path from the leaf up)]) of a vector's script tree."""
    if isinstance(tree, dict):
        h = tapleaf_hash(tree["leafVersion"], bytes.fromhex(tree["script"]))
        return h, [(tree, h, [])]
    left_hash, left = _walk(tree[0])
    right_hash, right = _walk(tree[1])
    leaves = [(leaf, h, [*path, right_hash]) for leaf, h, path in left]
    leaves += [(leaf, h, [*path, left_hash]) for leaf, h, path in right]
    return tapbranch_hash(left_hash, right_hash), leaves


@pytest.mark.parametrize("case", CASES, ids=[f"spk{i}" for i in range(len(CASES))])
def test_script_tree_commitments(case: Any) -> None:
    internal = bytes.fromhex(case["given"]["internalPubkey"])
    tree = case["given"]["scriptTree"]
    inter, expected = case["intermediary"], case["expected"]
    root = None
    leaves: list[tuple[dict[str, Any], bytes, list[bytes]]] = []
    if tree is not None:
        root, leaves = _walk(tree)
        leaves.sort(key=lambda item: int(item[0]["id"]))
        assert [h.hex() for _, h, _ in leaves] == inter["leafHashes"]
        assert root.hex() == inter["merkleRoot"]
    else:
        assert inter["merkleRoot"] is None
    assert taptweak_hash(internal, root).hex() == inter["tweak"]
    output_key, parity = taproot_output_key(internal, root)
    assert output_key.hex() == inter["tweakedPubkey"]
    assert (b"\x51\x20" + output_key).hex() == expected["scriptPubKey"]

    blocks = expected.get("scriptPathControlBlocks", [])
    assert len(blocks) == len(leaves)
    for (leaf, h, path), block_hex in zip(leaves, blocks, strict=True):
        control = bytes([leaf["leafVersion"] | parity]) + internal + b"".join(path)
        assert control.hex() == block_hex
        assert taproot_merkle_root(control, h) == root
        assert verify_taproot_commitment(control, output_key, h)
        # the wrong parity bit, or another leaf, breaks the commitment
        assert not verify_taproot_commitment(bytes([control[0] ^ 1]) + control[1:], output_key, h)
        assert not verify_taproot_commitment(control, output_key, tapleaf_hash(0xC0, b"\x51"))
