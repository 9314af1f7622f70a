"""Chain parameters for every network hashforge knows: Bitcoin's five, Litecoin's and Dogecoin's three
each (exact to Litecoin Core 0.21 and Dogecoin Core 1.14), and our own devnet/scryptnet."""

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
    LITECOIN = "litecoin"  # Bitcoin's, but measured over the full interval (no off-by-one)
    DOGECOIN = "dogecoin"  # Litecoin's until DigiShield, then per-block; the rules change by era


@dataclass(frozen=True)
class DogecoinEra:
    """One of Dogecoin Core's height-selected Consensus::Params (`GetConsensus(height)`).

    Dogecoin changes rules by swapping whole parameter sets at fixed heights (DigiShield at 145,000,
    AuxPoW at 371,337 on mainnet); the set in force for a block is the one with the greatest
    `height` not above the block's height.
    """

    height: int
    pow_target_timespan: int
    digishield: bool
    allow_min_difficulty: bool
    simplified_rewards: bool
    coinbase_maturity: int
    allow_legacy_blocks: bool


@dataclass(frozen=True)
class ChainTxData:
    """Core's ChainTxData: the chain's transaction count at one moment and its recent rate, from
    which GuessVerificationProgress estimates how far a syncing node is (all zero: no estimate,
    a chain with transactions reads as fully verified, as on Core's regtest)."""

    time: int = 0  # UNIX time of the block the count was taken at
    tx_count: int = 0  # transactions from genesis up to and including that block
    tx_rate: float = 0.0  # transactions per second since then (getchaintxstats' txrate)


# Core v31.99 (the ../shared/bin build, src/kernel/chainparams.cpp; each triple also found as-is
# in that bitcoind binary): `getchaintxstats 4096 <defaultAssumeValid>` on each network.
MAINNET_TX_DATA = ChainTxData(1772055173, 1315805869, 5.40111006496122)
TESTNET3_TX_DATA = ChainTxData(1772051651, 536108416, 0.02691479016257117)
TESTNET4_TX_DATA = ChainTxData(1772013387, 14191421, 0.01848579579528412)
SIGNET_TX_DATA = ChainTxData(1772055248, 28676833, 0.06736623436338929)


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
    coin: str = "BTC"  # ticker of the network's coin
    # Litecoin encodes P2SH with its own prefix ('M'/'Q') but still accepts the old Bitcoin one ('3'/'2').
    base58_script_prefix_legacy: int | None = None
    bip16_height: int = 0
    # Merged mining (Dogecoin): headers with version bit 0x100 carry an AuxPoW from this height on,
    # and from then on only such headers (no "legacy" ones) are accepted.
    auxpow_chain_id: int | None = None
    auxpow_start_height: int | None = None
    auxpow_strict_chain_id: bool = False
    dogecoin_eras: tuple[DogecoinEra, ...] = field(default=())
    chain_tx_data: ChainTxData = ChainTxData()

    @property
    def genesis_hash(self) -> bytes:
        return self.genesis.header.hash

    @property
    def difficulty_adjustment_interval(self) -> int:
        return self.pow_target_timespan // self.pow_target_spacing

    @property
    def has_segwit_addresses(self) -> bool:
        return bool(self.bech32_hrp)

    def dogecoin_era(self, height: int) -> DogecoinEra:
        """The Dogecoin rule set in force at `height` (Dogecoin Core's GetConsensus)."""
        era = None
        for candidate in self.dogecoin_eras:
            if candidate.height <= height:
                era = candidate
        if era is None:
            raise ValueError(f"{self.name} has no Dogecoin rule set for height {height}")
        return era


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
    chain_tx_data=MAINNET_TX_DATA,
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
    chain_tx_data=TESTNET3_TX_DATA,
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
    chain_tx_data=TESTNET4_TX_DATA,
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
    chain_tx_data=SIGNET_TX_DATA,
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

# --- Litecoin (Litecoin Core 0.21 chainparams.cpp) and Dogecoin (Dogecoin Core 1.14 chainparams.cpp) --
#
# Their genesis blocks are built like Bitcoin's, from their own message and key. Heights that never
# activate (Dogecoin has no CSV or segwit) are NEVER.

NEVER = 0x7FFFFFFF
_LITECOIN_MESSAGE = "NY Times 05/Oct/2011 Steve Jobs, Apple’s Visionary, Dies at 56".encode()
_LITECOIN_SCRIPT = push_data(bytes.fromhex(
    "040184710fa689ad5023690c80f3a49c8f13f8d45b8c857fbcbc8bc4a8e4d3eb4b10f4d4604fa08dce601aaf0f470216fe1b51850b4acf21b179c45070ac7b03a9"
)) + b"\xac"
_DOGECOIN_MESSAGE = b"Nintondo"
_DOGECOIN_SCRIPT = _LITECOIN_SCRIPT  # Dogecoin's genesis pays the same key as Litecoin's
_SCRYPT_POW_LIMIT = (1 << 236) - 1  # 00000fff...: ~uint256(0) >> 20
_LITECOIN_COMMON = dict(
    pow_target_timespan=302_400,  # 3.5 days
    pow_target_spacing=150,  # 2.5 minutes
    subsidy_halving_interval=840_000,
    pow_algorithm=PowAlgorithm.SCRYPT,
    difficulty_rule=DifficultyRule.LITECOIN,
    coin="LTC",
)
_LITECOIN_TEST_KEYS = dict(
    base58_pubkey_prefix=111,
    base58_script_prefix=58,  # 'Q': what Litecoin Core encodes (SCRIPT_ADDRESS2)
    base58_script_prefix_legacy=196,  # '2' still decodes
    base58_secret_prefix=239,
    xpub_version=bytes.fromhex("043587cf"),
    xprv_version=bytes.fromhex("04358394"),
)

LITECOIN = ChainParams(
    name="litecoin",
    genesis=create_genesis_block(_LITECOIN_MESSAGE, _LITECOIN_SCRIPT, 1317972665, 2084524493, 0x1E0FFFF0),
    message_start=bytes.fromhex("fbc0b6db"),
    default_port=9333,
    rpc_port=9332,
    bech32_hrp="ltc",
    base58_pubkey_prefix=48,  # 'L'
    base58_script_prefix=50,  # 'M'
    base58_script_prefix_legacy=5,  # '3'
    base58_secret_prefix=176,
    xpub_version=bytes.fromhex("0488b21e"),
    xprv_version=bytes.fromhex("0488ade4"),
    pow_limit=_SCRYPT_POW_LIMIT,
    bip16_height=218579,
    bip34_height=710000,
    bip65_height=918684,
    bip66_height=811879,
    csv_height=1201536,
    segwit_height=1201536,
    **_LITECOIN_COMMON,  # type: ignore[arg-type]
)

LITECOIN_TESTNET4 = ChainParams(
    name="litecoin-testnet4",
    genesis=create_genesis_block(_LITECOIN_MESSAGE, _LITECOIN_SCRIPT, 1486949366, 293345, 0x1E0FFFF0),
    message_start=bytes.fromhex("fdd2c8f1"),
    default_port=19335,
    rpc_port=19332,
    bech32_hrp="tltc",
    pow_limit=_SCRYPT_POW_LIMIT,
    pow_allow_min_difficulty_blocks=True,
    bip34_height=76,
    bip65_height=76,
    bip66_height=76,
    csv_height=6048,
    segwit_height=6048,
    **_LITECOIN_COMMON,  # type: ignore[arg-type]
    **_LITECOIN_TEST_KEYS,  # type: ignore[arg-type]
)

LITECOIN_REGTEST = ChainParams(
    name="litecoin-regtest",
    genesis=create_genesis_block(_LITECOIN_MESSAGE, _LITECOIN_SCRIPT, 1296688602, 0, 0x207FFFFF),
    message_start=bytes.fromhex("fabfb5da"),
    default_port=19444,
    rpc_port=19443,
    bech32_hrp="rltc",
    pow_limit=0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF,
    pow_allow_min_difficulty_blocks=True,
    pow_no_retargeting=True,
    bip34_height=500,
    bip65_height=1351,
    bip66_height=1251,
    csv_height=432,
    segwit_height=0,
    **{**_LITECOIN_COMMON, "subsidy_halving_interval": 150},  # type: ignore[arg-type]
    **_LITECOIN_TEST_KEYS,  # type: ignore[arg-type]
)

_DOGECOIN_COMMON = dict(
    bech32_hrp="",  # Dogecoin has no segwit, so no Bech32 addresses
    pow_target_timespan=4 * 60 * 60,  # before DigiShield; the eras say what applies at a height
    subsidy_halving_interval=100_000,
    csv_height=NEVER,
    segwit_height=NEVER,
    pow_algorithm=PowAlgorithm.SCRYPT,
    difficulty_rule=DifficultyRule.DOGECOIN,
    coin="DOGE",
    auxpow_chain_id=0x62,
)

DOGECOIN = ChainParams(
    name="dogecoin",
    genesis=create_genesis_block(
        _DOGECOIN_MESSAGE, _DOGECOIN_SCRIPT, 1386325540, 99943, 0x1E0FFFF0, reward=88 * COIN
    ),
    message_start=bytes.fromhex("c0c0c0c0"),
    default_port=22556,
    rpc_port=22555,
    base58_pubkey_prefix=30,  # 'D'
    base58_script_prefix=22,  # '9' / 'A'
    base58_secret_prefix=158,
    xpub_version=bytes.fromhex("02facafd"),
    xprv_version=bytes.fromhex("02fac398"),
    pow_limit=_SCRYPT_POW_LIMIT,
    pow_target_spacing=60,
    # Dogecoin never enforced BIP34 on its v2 blocks; it counts from the first v3 block.
    bip34_height=1034383,
    bip65_height=3464751,
    bip66_height=1034383,
    coinbase_maturity=240,
    auxpow_start_height=371337,
    auxpow_strict_chain_id=True,
    dogecoin_eras=(
        DogecoinEra(0, 4 * 60 * 60, False, False, False, 30, True),
        DogecoinEra(145_000, 60, True, False, True, 240, True),  # DigiShield, fixed rewards
        DogecoinEra(371_337, 60, True, False, True, 240, False),  # AuxPoW
    ),
    **_DOGECOIN_COMMON,  # type: ignore[arg-type]
)

DOGECOIN_TESTNET = ChainParams(
    name="dogecoin-testnet",
    genesis=create_genesis_block(
        _DOGECOIN_MESSAGE, _DOGECOIN_SCRIPT, 1391503289, 997879, 0x1E0FFFF0, reward=88 * COIN
    ),
    message_start=bytes.fromhex("fcc1b7dc"),
    default_port=44556,
    rpc_port=44555,
    base58_pubkey_prefix=113,  # 'n'
    base58_script_prefix=196,
    base58_secret_prefix=241,
    xpub_version=bytes.fromhex("043587cf"),
    xprv_version=bytes.fromhex("04358394"),
    pow_limit=_SCRYPT_POW_LIMIT,
    pow_target_spacing=60,
    pow_allow_min_difficulty_blocks=True,
    bip34_height=708658,
    bip65_height=1854705,
    bip66_height=708658,
    coinbase_maturity=240,
    auxpow_start_height=158100,
    auxpow_strict_chain_id=False,
    dogecoin_eras=(
        DogecoinEra(0, 4 * 60 * 60, False, True, False, 30, True),
        DogecoinEra(145_000, 60, True, False, True, 240, True),
        DogecoinEra(157_500, 60, True, True, True, 240, True),  # min-difficulty blocks again
        DogecoinEra(158_100, 60, True, True, True, 240, False),  # AuxPoW
    ),
    **_DOGECOIN_COMMON,  # type: ignore[arg-type]
)

DOGECOIN_REGTEST = ChainParams(
    name="dogecoin-regtest",
    genesis=create_genesis_block(
        _DOGECOIN_MESSAGE, _DOGECOIN_SCRIPT, 1296688602, 2, 0x207FFFFF, reward=88 * COIN
    ),
    message_start=bytes.fromhex("fabfb5da"),
    default_port=18444,
    rpc_port=18332,
    base58_pubkey_prefix=111,
    base58_script_prefix=196,
    base58_secret_prefix=239,
    xpub_version=bytes.fromhex("043587cf"),
    xprv_version=bytes.fromhex("04358394"),
    pow_limit=0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF,
    pow_target_spacing=1,
    pow_allow_min_difficulty_blocks=True,
    pow_no_retargeting=True,  # informational: Dogecoin's rules never read it
    bip34_height=100_000_000,
    bip65_height=1351,
    bip66_height=1251,
    coinbase_maturity=60,
    auxpow_start_height=20,
    auxpow_strict_chain_id=True,
    dogecoin_eras=(
        DogecoinEra(0, 4 * 60 * 60, False, True, True, 60, True),
        DogecoinEra(10, 1, True, True, True, 60, True),
        DogecoinEra(20, 1, True, True, True, 60, False),
    ),
    **{**_DOGECOIN_COMMON, "subsidy_halving_interval": 150},  # type: ignore[arg-type]
)

NETWORKS: dict[str, ChainParams] = {
    p.name: p
    for p in (
        MAINNET, TESTNET3, TESTNET4, SIGNET, REGTEST, DEVNET, SCRYPTNET,
        LITECOIN, LITECOIN_TESTNET4, LITECOIN_REGTEST, DOGECOIN, DOGECOIN_TESTNET, DOGECOIN_REGTEST,
    )
}
ALIASES = {
    "main": "mainnet",
    "test": "testnet3",
    "testnet": "testnet3",
    "ltc": "litecoin",
    "litecoin-mainnet": "litecoin",
    "litecoin-testnet": "litecoin-testnet4",
    "doge": "dogecoin",
    "dogecoin-mainnet": "dogecoin",
}


class UnknownNetworkError(ValueError):
    pass


def get_params(name: str) -> ChainParams:
    """Looks a network up by name (mainnet, testnet3, ..., scryptnet, litecoin..., dogecoin...)."""
    key = ALIASES.get(name.lower(), name.lower())
    try:
        return NETWORKS[key]
    except KeyError:
        raise UnknownNetworkError(
            f"unknown network {name!r}; known: {', '.join(sorted(NETWORKS))}"
        ) from None
