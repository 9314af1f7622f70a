"""The pool's tables. Times are Unix seconds (float); money is integer satoshis (BigInteger).

Balances are a ledger (`credits`): block credits (immature until their block is confirmed),
PPS credits, reversals of an orphaned block's credits, and payouts (negative, tied to a payout).
Nothing is ever updated in place except status columns, so the books can be audited.

Merged mining keeps one set of books per coin in the same tables: `chain` is NULL for the pool's
own (parent) chain and the aux chain's network name (`dogecoin-regtest`) for an aux chain's
blocks, credits and payouts. A miner is known by its parent-chain address everywhere; the address
its aux-coin payouts go to is in `aux_addresses` (named at authorize, `doge=ADDR` in the password).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

# SQLite only autoincrements INTEGER PRIMARY KEY
BigId = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData()

shares = Table(
    "shares",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("ts", Float, nullable=False),
    Column("instance", Integer, nullable=False),
    Column("address", String(128), nullable=False),
    Column("worker", String(64), nullable=False),
    Column("difficulty", Float, nullable=False),
    Column("actual_difficulty", Float, nullable=False),
    Column("network_difficulty", Float, nullable=False),
    Column("height", Integer, nullable=False),
    Column("block_reward", BigInteger, nullable=False),
    Column("hash", LargeBinary(32), nullable=False),
    Column("is_block", Boolean, nullable=False),
    # merged mining: the aux chains whose work the share's job carried, ",dogecoin-regtest," ("" none);
    # an aux chain's books count only its shares (Alembic 0004 says what shares from before it carry)
    Column("aux_chains", String(255), nullable=False, server_default=""),
    Index("ix_shares_ts", "ts"),
    Index("ix_shares_address_ts", "address", "ts"),
    Index("ix_shares_hash", "hash"),
)

blocks = Table(
    "blocks",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("height", Integer, nullable=False),
    Column("hash", String(64), nullable=False, unique=True),
    Column("share_id", BigInteger, nullable=True),
    Column("instance", Integer, nullable=False),
    Column("address", String(128), nullable=False),
    Column("worker", String(64), nullable=False),
    Column("reward", BigInteger, nullable=False),
    Column("network_difficulty", Float, nullable=False),
    Column("effort", Float, nullable=True),
    Column("scheme", String(8), nullable=False),
    Column("status", String(16), nullable=False),  # pending, confirmed, orphaned, rejected
    Column("submit_result", Text, nullable=True),
    Column("credited", Boolean, nullable=False),
    Column("found_at", Float, nullable=False),
    Column("settled_at", Float, nullable=True),
    Column("chain", String(32), nullable=True),  # NULL: the pool's own chain; else the aux network
    Index("ix_blocks_status", "status"),
    Index("ix_blocks_chain_status", "chain", "status"),
)

credits = Table(
    "credits",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("ts", Float, nullable=False),
    Column("address", String(128), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("kind", String(16), nullable=False),  # block, pps, reversal, payout, refund
    Column("block_id", BigInteger, ForeignKey("blocks.id"), nullable=True),
    Column("payout_id", BigInteger, ForeignKey("payouts.id"), nullable=True),
    Column("chain", String(32), nullable=True),  # the coin credited: NULL the pool's own, else the aux network
    Index("ix_credits_address", "address"),
    Index("ix_credits_block", "block_id"),
)

payouts = Table(
    "payouts",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("status", String(16), nullable=False),  # built, broadcast, confirmed
    Column("txid", String(64), nullable=False, unique=True),
    Column("raw_tx", Text, nullable=False),
    Column("total", BigInteger, nullable=False),
    Column("chain", String(32), nullable=True),  # NULL: paid in the pool's own coin; else the aux network's
    Index("ix_payouts_status", "status"),
)

payout_items = Table(
    "payout_items",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("payout_id", BigInteger, ForeignKey("payouts.id"), nullable=False),
    Column("address", String(128), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("pay_to", String(128), nullable=True),  # aux-coin payouts: the aux address paid (`address` is the miner's)
    Index("ix_payout_items_address", "address"),
)

# The aux-coin payout address of each miner (its parent-chain address), per aux chain.
aux_addresses = Table(
    "aux_addresses",
    metadata,
    Column("address", String(128), primary_key=True),
    Column("chain", String(32), primary_key=True),
    Column("aux_address", String(128), nullable=False),
    Column("set_at", Float, nullable=False),
)

pool_state = Table(
    "pool_state",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

# --- cloud mining (hash-rate contracts, pool/contracts/) ---------------------------------------

contract_customers = Table(
    "contract_customers",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(128), nullable=False),
    Column("created_at", Float, nullable=False),
)

contracts = Table(
    "contracts",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("customer_id", String(64), ForeignKey("contract_customers.id"), nullable=False),
    Column("payout_address", String(128), nullable=False),
    Column("hashrate", BigInteger, nullable=False),  # H/s sold
    Column("start_time", Float, nullable=False),
    Column("end_time", Float, nullable=False),
    Column("price_sat", BigInteger, nullable=True),
    Column("price_fiat", String(40), nullable=True),  # Decimal as text, for information
    Column("fiat_currency", String(8), nullable=True),
    Column("fee_sat_per_day", BigInteger, nullable=False),
    Column("fee_percent", String(16), nullable=False),  # Decimal as text
    Column("created_at", Float, nullable=False),
    Column("cancelled_at", Float, nullable=True),
    Index("ix_contracts_customer", "customer_id"),
)

# One row per accounting period: the farm's credits of one block (PPLNS/PROP) or one PPS run.
contract_periods = Table(
    "contract_periods",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("source", String(64), nullable=False, unique=True),  # block:<id> or pps:<first credit id>
    Column("block_id", BigInteger, ForeignKey("blocks.id"), nullable=True),
    Column("start_time", Float, nullable=False),
    Column("end_time", Float, nullable=False),
    Column("earned", BigInteger, nullable=False),  # the farm's credits in the period
    Column("farm_hashrate", Float, nullable=False),  # measured over the period
    Column("allocated", BigInteger, nullable=False),  # net, credited to contracts
    Column("fees", BigInteger, nullable=False),  # maintenance fees kept by the operator
    Column("created_at", Float, nullable=False),
)

# The journal: one row per (period, contract active in it); every allocated sat is here.
contract_allocations = Table(
    "contract_allocations",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("period_id", BigInteger, ForeignKey("contract_periods.id"), nullable=False),
    Column("contract_id", BigInteger, ForeignKey("contracts.id"), nullable=False),
    Column("address", String(128), nullable=False),
    Column("active_seconds", Float, nullable=False),
    Column("share", Float, nullable=False),  # of the period's earnings, before fees
    Column("hashes", Float, nullable=False),  # the farm's measured work credited to the contract
    Column("gross", BigInteger, nullable=False),
    Column("fee", BigInteger, nullable=False),
    Column("net", BigInteger, nullable=False),
    Index("ix_contract_allocations_contract", "contract_id"),
    Index("ux_contract_allocations_period_contract", "period_id", "contract_id", unique=True),
)
