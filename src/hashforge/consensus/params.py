"""Chain parameters for every network hashforge knows: Bitcoin's five and our own devnet/scryptnet."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from .block import Block, BlockHeader
from .script import push_data, push_int
from .tx import OutPoint, Transaction, TxIn, TxOut

COIN = 100_000_000
MAX_MONEY = 21_000_000 * COIN
COINBASE_MATURITY = 100
MAX_BLOCK_WEIGHT = 4_000_000
MAX_BLOCK_SERIALIZED_SIZE = 4_000_000
MAX_BLOCK_SIGOPS_COST = 80_000
MAX_FUTURE_BLOCK_TIME = 2 * 60 * 60
MEDIAN_TIME_SPAN = 11


class PowAlgorithm(StrEnum):
    SHA256D = "sha256d"
    SCRYPT = "scrypt"


class DifficultyRule(StrEnum):
    """How the next block's target is chosen."""

    BITCOIN = "bitcoin"  # retarget every 2016 blocks, x4 clamp
    ASERT = "asert"  # per-block exponential adjustment (our devnets)


@dataclass(frozen=True)
class ChainParams:
    name: str
    genesis: Block
    message_start: bytes
    default_port: int
    rpc_port: int
    bech32_hrp: str
    base58_pubkey_prefix: int
    base58_script_prefix: int
    base58_secret_prefix: int
    xpub_version: bytes
    xprv_version: bytes
    pow_limit: int
    pow_target_timespan: int = 14 * 24 * 60 * 60
    pow_target_spacing: int = 10 * 60
    pow_allow_min_difficulty_blocks: bool = False
    pow_no_retargeting: bool = False
    enforce_bip94: bool = False
    subsidy_halving_interval: int = 210_000
    bip34_height: int = 0
    bip65_height: int = 0
    bip66_height: int = 0
    csv_height: int = 0
    segwit_height: int = 0
    pow_algorithm: PowAlgorithm = PowAlgorithm.SHA256D
    difficulty_rule: DifficultyRule = DifficultyRule.BITCOIN
    # aserti3-2d (DifficultyRule.ASERT): the half-life in seconds, and the height of the anchor
    # block. The anchor is block 1, not genesis: ASERT schedules every block against the anchor's
    # time, and a genesis fixed in the code is old by the time anyone starts the network, so a
    # genesis anchor would leave the chain "behind schedule" forever, pinned at pow_limit. Block 1
    # is mined (at pow_limit) when the network really starts; its parent time for the formula is
    # taken as one spacing before it, so blocks exactly on schedule keep the anchor's target.
    asert_half_life: int = 0
    asert_anchor_height: int = 1
    coinbase_maturity: int = COINBASE_MATURITY
    # Named historical blocks that violate BIP30 but are grandfathered (mainnet only).
    bip30_exceptions: tuple[tuple[int, bytes], ...] = field(default=())

    @property
    def genesis_hash(self) -> bytes:
        return self.genesis.header.hash

    @property
    def difficulty_adjustment_interval(self) -> int:
        return self.pow_target_timespan // self.pow_target_spacing


SATOSHI_PUBKEY = bytes.fromhex(
    "04678afdb0fe5548271967f1a67130b7105cd6a828e03909a67962e0ea1f61deb6"
    "49f6bc3f4cef38c4f35504e51ec112de5c384df7ba0b8d578a4c702b6bf11d5f"
)
SATOSHI_MESSAGE = b"The Times 03/Jan/2009 Chancellor on brink of second bailout for banks"


def create_genesis_block(
    message: bytes, output_script: bytes, time: int, nonce: int, bits: int, version: int = 1, reward: int = 50 * COIN
) -> Block:
    """Builds a genesis block the way Core's CreateGenesisBlock does."""
    script_sig = push_int(486604799) + push_data(bytes([4])) + push_data(message)
    coinbase = Transaction(
        version=1,
        vin=(TxIn(OutPoint(), script_sig),),
        vout=(TxOut(reward, output_script),),
        locktime=0,
    )
    header = BlockHeader(version, b"\x00" * 32, coinbase.txid, time, bits, nonce)
    return Block(header, (coinbase,))


# Devnet/scryptnet genesis: mined once (first nonce from 0 that meets pow_limit), fixed here.
DEVNET_GENESIS_TIME = 1795829400  # 2026-11-28
DEVNET_GENESIS_NONCE = 230481
SCRYPTNET_GENESIS_TIME = 1795829400
SCRYPTNET_GENESIS_NONCE = 426

_SATOSHI_SCRIPT = push_data(SATOSHI_PUBKEY) + b"\xac"  # <pubkey> OP_CHECKSIG

MAINNET = ChainParams(
    name="mainnet",
    genesis=create_genesis_block(SATOSHI_MESSAGE, _SATOSHI_SCRIPT, 1231006505, 2083236893, 0x1D00FFFF),
    message_start=bytes.fromhex("f9beb4d9"),
    default_port=8333,
    rpc_port=8332,
    bech32_hrp="bc",
    base58_pubkey_prefix=0,
    base58_script_prefix=5,
    base58_secret_prefix=128,
    xpub_version=bytes.fromhex("0488b21e"),
    xprv_version=bytes.fromhex("0488ade4"),
    pow_limit=0x00000000FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF,
    bip34_height=227931,
    bip65_height=388381,
    bip66_height=363725,
    csv_height=419328,
    segwit_height=481824,
    bip30_exceptions=(
        (91842, bytes.fromhex("00000000000a4d0a398161ffc163c503763b1f4360639393e0e4c8e300e0caec")[::-1]),
        (91880, bytes.fromhex("00000000000743f190a18c5577a3c2d2a1f610ae9601ac046a38084ccb7cd721")[::-1]),
    ),
)

_TESTNET_KEYS = dict(
    base58_pubkey_prefix=111,
    base58_script_prefix=196,
    base58_secret_prefix=239,
    xpub_version=bytes.fromhex("043587cf"),
    xprv_version=bytes.fromhex("04358394"),
)

TESTNET3 = ChainParams(
    name="testnet3",
    genesis=create_genesis_block(SATOSHI_MESSAGE, _SATOSHI_SCRIPT, 1296688602, 414098458, 0x1D00FFFF),
    message_start=bytes.fromhex("0b110907"),
    default_port=18333,
    rpc_port=18332,
    bech32_hrp="tb",
    pow_limit=0x00000000FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF,
    pow_allow_min_difficulty_blocks=True,
    bip34_height=21111,
    bip65_height=581885,
    bip66_height=330776,
    csv_height=770112,
    segwit_height=834624,
    **_TESTNET_KEYS,  # type: ignore[arg-type]
)

TESTNET4 = ChainParams(
    name="testnet4",
    genesis=create_genesis_block(
        b"03/May/2024 000000000000000000001ebd58c244970b3aa9d783bb001011fbe8ea8e98e00e",
        push_data(b"\x00" * 33) + b"\xac",
        1714777860,
        393743547,
        0x1D00FFFF,
    ),
    message_start=bytes.fromhex("1c163f28"),
    default_port=48333,
    rpc_port=48332,
    bech32_hrp="tb",
    pow_limit=0x00000000FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF,
    pow_allow_min_difficulty_blocks=True,
    enforce_bip94=True,
    bip34_height=1,
    bip65_height=1,
    bip66_height=1,
    csv_height=1,
    segwit_height=1,
    **_TESTNET_KEYS,  # type: ignore[arg-type]
)

SIGNET = ChainParams(
    name="signet",
    genesis=create_genesis_block(SATOSHI_MESSAGE, _SATOSHI_SCRIPT, 1598918400, 52613770, 0x1E0377AE),
    message_start=bytes.fromhex("0a03cf40"),  # default signet; custom challenges derive their own
    default_port=38333,
    rpc_port=38332,
    bech32_hrp="tb",
    pow_limit=0x00000377AE000000000000000000000000000000000000000000000000000000,
    bip34_height=1,
    bip65_height=1,
    bip66_height=1,
    csv_height=1,
    segwit_height=1,
    **_TESTNET_KEYS,  # type: ignore[arg-type]
)

REGTEST = ChainParams(
    name="regtest",
    genesis=create_genesis_block(SATOSHI_MESSAGE, _SATOSHI_SCRIPT, 1296688602, 2, 0x207FFFFF),
    message_start=bytes.fromhex("fabfb5da"),
    default_port=18444,
    rpc_port=18443,
    bech32_hrp="bcrt",
    pow_target_timespan=24 * 60 * 60,
    pow_limit=0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF,
    pow_allow_min_difficulty_blocks=True,
    pow_no_retargeting=True,
    subsidy_halving_interval=150,
    bip34_height=1,
    bip65_height=1,
    bip66_height=1,
    csv_height=1,
    segwit_height=0,
    **_TESTNET_KEYS,  # type: ignore[arg-type]
)

# --- our own networks for local mining ------------------------------------------------------
#
# Both run 30-second blocks under aserti3-2d with a 10-minute half-life (20 blocks): the target
# moves every block, in closed form from one anchor, without LWMA's window state or the
# oscillation of windowed averages, and fast enough that moving from one Python core
# (~10^5-10^6 H/s) to a GPU (~10^9 H/s, ~12 doublings) settles within a few hours of blocks, while
# one block's luck moves the target by only ~3 % (2^(30/600)). BCH's 2-day half-life suits 10-minute
# blocks and steady hash rate; a developer's machine turns miners on and off.
#
# pow_limit (also the genesis target) is chosen so that one core in pure Python finds a block in
# well under a second at the easiest difficulty: 2^18 expected SHA-256d hashes on devnet, 2^11
# expected scrypt hashes on scryptnet (hashlib does ~10^6 and ~4*10^3 per second). Difficulty can
# only rise from there, following the hash rate.
#
# Subsidy halves every 210,000 blocks, as on mainnet (about 73 days of 30-second blocks): coin
# supply, coinbase maturity (100) and every money path of pool and wallet then behave as on
# Bitcoin; regtest (150) is the network for exercising halvings. BIP34/65/66, CSV and segwit are
# active from block 1. Address keys are testnet's (tpub, WIF 239), bech32 has its own hrp.

_DEVNET_SCRIPT = push_data(b"\x00" * 33) + b"\xac"  # unspendable, like testnet4's

_DEVNET_COMMON = dict(
    pow_target_spacing=30,
    pow_target_timespan=24 * 60 * 60,  # informational only: ASERT has no retarget interval
    difficulty_rule=DifficultyRule.ASERT,
    asert_half_life=10 * 60,
    asert_anchor_height=1,
    subsidy_halving_interval=210_000,
    bip34_height=1,
    bip65_height=1,
    bip66_height=1,
    csv_height=1,
    segwit_height=1,
    **_TESTNET_KEYS,
)

DEVNET = ChainParams(
    name="devnet",
    genesis=create_genesis_block(
        b"hashforge devnet: SHA-256d, 30 s blocks, aserti3-2d", _DEVNET_SCRIPT,
        DEVNET_GENESIS_TIME, DEVNET_GENESIS_NONCE, 0x1E3FFFFF,
    ),
    message_start=bytes.fromhex("e8f3a1d5"),
    default_port=28333,
    rpc_port=28332,
    bech32_hrp="hfd",
    pow_limit=(1 << 238) - 1,  # compact 0x1e3fffff
    pow_algorithm=PowAlgorithm.SHA256D,
    **_DEVNET_COMMON,  # type: ignore[arg-type]
)

SCRYPTNET = ChainParams(
    name="scryptnet",
    genesis=create_genesis_block(
        b"hashforge scryptnet: scrypt(1024,1,1), 30 s blocks, aserti3-2d", _DEVNET_SCRIPT,
        SCRYPTNET_GENESIS_TIME, SCRYPTNET_GENESIS_NONCE, 0x1F1FFFFF,
    ),
    message_start=bytes.fromhex("e9c7b2d6"),
    default_port=29333,
    rpc_port=29332,
    bech32_hrp="hfs",
    pow_limit=(1 << 245) - 1,  # compact 0x1f1fffff
    pow_algorithm=PowAlgorithm.SCRYPT,
    **_DEVNET_COMMON,  # type: ignore[arg-type]
)

NETWORKS: dict[str, ChainParams] = {
    p.name: p for p in (MAINNET, TESTNET3, TESTNET4, SIGNET, REGTEST, DEVNET, SCRYPTNET)
}
ALIASES = {"main": "mainnet", "test": "testnet3", "testnet": "testnet3"}


class UnknownNetworkError(ValueError):
    pass


def get_params(name: str) -> ChainParams:
    """Looks a network up by name (mainnet, testnet3, testnet4, signet, regtest, devnet, scryptnet)."""
    key = ALIASES.get(name.lower(), name.lower())
    try:
        return NETWORKS[key]
    except KeyError:
        raise UnknownNetworkError(
            f"unknown network {name!r}; known: {', '.join(sorted(NETWORKS))}"
        ) from None
