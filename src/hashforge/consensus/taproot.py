"""BIP341 script trees: tapleaf/tapbranch hashes, control blocks and output-key commitments."""

from __future__ import annotations

from .ecc import check_tap_tweak, tweak_xonly_pubkey
from .hashes import tagged_hash
from .serialize import ser_string

TAPROOT_LEAF_MASK = 0xFE
TAPROOT_LEAF_TAPSCRIPT = 0xC0
TAPROOT_CONTROL_BASE_SIZE = 33
TAPROOT_CONTROL_NODE_SIZE = 32
TAPROOT_CONTROL_MAX_NODE_COUNT = 128
TAPROOT_CONTROL_MAX_SIZE = (
    TAPROOT_CONTROL_BASE_SIZE + TAPROOT_CONTROL_NODE_SIZE * TAPROOT_CONTROL_MAX_NODE_COUNT
)

# BIP341's provably unspendable internal key ("H" in the BIP; Core's XOnlyPubKey::NUMS_H).
NUMS_H = bytes.fromhex("50929b74c1a04954b78b4b6035e97a5e078a5a0f28ec96d547bfee9ace803ac0")


def tapleaf_hash(leaf_version: int, script: bytes) -> bytes:
    return tagged_hash("TapLeaf", bytes([leaf_version]) + ser_string(script))


def tapbranch_hash(a: bytes, b: bytes) -> bytes:
    """Hash of two child nodes, in lexicographic order."""
    return tagged_hash("TapBranch", a + b if a < b else b + a)


def is_valid_control_size(control: bytes) -> bool:
    n = len(control)
    return (
        TAPROOT_CONTROL_BASE_SIZE <= n <= TAPROOT_CONTROL_MAX_SIZE
        and (n - TAPROOT_CONTROL_BASE_SIZE) % TAPROOT_CONTROL_NODE_SIZE == 0
    )


def taproot_merkle_root(control: bytes, leaf_hash: bytes) -> bytes:
    """The script-tree root implied by a leaf hash and the path in a (size-checked) control block."""
    k = leaf_hash
    for pos in range(TAPROOT_CONTROL_BASE_SIZE, len(control), TAPROOT_CONTROL_NODE_SIZE):
        k = tapbranch_hash(k, control[pos : pos + TAPROOT_CONTROL_NODE_SIZE])
    return k


def verify_taproot_commitment(control: bytes, output_key: bytes, leaf_hash: bytes) -> bool:
    """Does `output_key` commit to the leaf through the control block's internal key and path?"""
    internal_key = control[1:TAPROOT_CONTROL_BASE_SIZE]
    root = taproot_merkle_root(control, leaf_hash)
    return check_tap_tweak(output_key, internal_key, root, control[0] & 1)


def taproot_output_key(internal_key: bytes, merkle_root: bytes | None) -> tuple[bytes, int]:
    """(x-only output key, its Y parity) for an internal key and optional script-tree root."""
    out = tweak_xonly_pubkey(internal_key, merkle_root)
    if out is None:
        raise ValueError("internal key is not a valid x-only public key")
    return out


def single_leaf_spend(internal_key: bytes, script: bytes) -> tuple[bytes, bytes]:
    """(output key, control block) for a tree holding only `script` as a tapscript leaf."""
    leaf = tapleaf_hash(TAPROOT_LEAF_TAPSCRIPT, script)
    output_key, parity = taproot_output_key(internal_key, leaf)
    return output_key, bytes([TAPROOT_LEAF_TAPSCRIPT | parity]) + internal_key
