"""Repositories: every query the pool makes, grouped by aggregate. Each method takes the
Connection of the caller's transaction, so a caller composes several into one atomic unit
(a payout writes its row, its items and its ledger entries in one commit)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, case, func, insert, or_, select, true, update

from ..records import BlockFound, ShareRecord
from .models import aux_addresses, blocks, credits, payout_items, payouts, pool_state, shares


def on_chain(column: Any, chain: str | None) -> Any:
    """`column` names `chain` (None: the pool's own chain, stored as NULL)."""
    return column.is_(None) if chain is None else column == chain


_SHARE_COLUMNS = ("ts", "instance", "address", "worker", "difficulty", "actual_difficulty", "network_difficulty",
                  "height", "block_reward", "hash", "is_block", "aux_chains")


def aux_chains_text(chains: Iterable[str]) -> str:
    """`shares.aux_chains` of a share serving `chains`: ",a,b," (each name between commas, so one
    is matched exactly); "" for none."""
    names = sorted(set(chains))
    return f",{','.join(names)}," if names else ""


def with_work_of(chain: str | None) -> Any:
    """Shares that could have found a block of `chain`: every share for the pool's own chain
    (None), those whose job carried that aux chain's work for an aux chain."""
    if chain is None:
        return true()
    return shares.c.aux_chains.contains(f",{chain},", autoescape=True)


class ShareRepository:
    @staticmethod
    def insert_many(conn: Connection, records: Sequence[ShareRecord]) -> None:
        """The hot path: one executemany at the driver level (SQLAlchemy's per-row parameter
        processing costs twice the insert itself)."""
        if not records:
            return
        cols = _SHARE_COLUMNS
        mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        sql = f"INSERT INTO shares ({', '.join(cols)}) VALUES ({', '.join([mark] * len(cols))})"
        conn.exec_driver_sql(sql, [
            (r.ts, r.instance, r.address, r.worker, r.difficulty, r.actual_difficulty, r.network_difficulty,
             r.height, r.block_reward, r.hash, r.is_block, aux_chains_text(r.aux_chains))
            for r in records
        ])

    @staticmethod
    def id_by_hash(conn: Connection, pow_hash: bytes) -> int | None:
        return conn.execute(select(func.max(shares.c.id)).where(shares.c.hash == pow_hash)).scalar()

    @staticmethod
    def max_id(conn: Connection) -> int:
        return int(conn.execute(select(func.max(shares.c.id))).scalar() or 0)

    @staticmethod
    def last_n_difficulty(conn: Connection, up_to_id: int, target: float, chunk: int = 5000,
                          chain: str | None = None) -> dict[str, float]:
        """PPLNS: walking back from share `up_to_id`, difficulty per address until `target` is
        reached (the share that crosses it counts only for the part inside the window); for an
        aux chain, over the shares that carried its work only."""
        out: dict[str, float] = {}
        total = 0.0
        cursor = up_to_id + 1
        while total < target:
            rows = conn.execute(
                select(shares.c.id, shares.c.address, shares.c.difficulty)
                .where(shares.c.id < cursor, with_work_of(chain)).order_by(shares.c.id.desc()).limit(chunk)
            ).all()
            if not rows:
                break
            for row in rows:
                d = min(row.difficulty, target - total)
                out[row.address] = out.get(row.address, 0.0) + d
                total += d
                if total >= target:
                    break
            cursor = rows[-1].id
        return out

    @staticmethod
    def difficulty_between(conn: Connection, after_id: int, up_to_id: int,
                           chain: str | None = None) -> dict[str, float]:
        """PROP (and an aux chain's PPS): difficulty per address in (after_id, up_to_id], of the
        shares that carried `chain`'s work (None: every share)."""
        rows = conn.execute(
            select(shares.c.address, func.sum(shares.c.difficulty))
            .where(shares.c.id > after_id, shares.c.id <= up_to_id, with_work_of(chain)).group_by(shares.c.address)
        ).all()
        return {a: float(d) for a, d in rows}

    @staticmethod
    def pps_value_between(conn: Connection, after_id: int, up_to_id: int) -> dict[str, float]:
        """PPS: expected value (satoshis, before fee) per address of shares in (after_id, up_to_id]."""
        value = func.sum(shares.c.difficulty / shares.c.network_difficulty * shares.c.block_reward)
        rows = conn.execute(
            select(shares.c.address, value)
            .where(shares.c.id > after_id, shares.c.id <= up_to_id).group_by(shares.c.address)
        ).all()
        return {a: float(v) for a, v in rows}

    @staticmethod
    def difficulty_since(conn: Connection, since: float, address: str | None = None) -> float:
        q = select(func.coalesce(func.sum(shares.c.difficulty), 0.0)).where(shares.c.ts >= since)
        if address is not None:
            q = q.where(shares.c.address == address)
        return float(conn.execute(q).scalar() or 0.0)

    @staticmethod
    def workers_since(conn: Connection, since: float, address: str | None = None) -> list[dict[str, Any]]:
        q = (
            select(shares.c.address, shares.c.worker, func.sum(shares.c.difficulty).label("diff"),
                   func.count().label("shares"), func.max(shares.c.ts).label("last"))
            .where(shares.c.ts >= since).group_by(shares.c.address, shares.c.worker)
            .order_by(shares.c.address, shares.c.worker)
        )
        if address is not None:
            q = q.where(shares.c.address == address)
        return [dict(r._mapping) for r in conn.execute(q)]

    @staticmethod
    def difficulty_buckets(conn: Connection, since: float, bucket: int, address: str | None = None) -> list[tuple[int, float]]:
        b = func.floor(shares.c.ts / bucket)
        q = select(b.label("b"), func.sum(shares.c.difficulty)).where(shares.c.ts >= since).group_by(b).order_by(b)
        if address is not None:
            q = q.where(shares.c.address == address)
        return [(int(k) * bucket, float(v)) for k, v in conn.execute(q)]

    @staticmethod
    def difficulty_after(conn: Connection, after_id: int, chain: str | None = None) -> float:
        q = select(func.coalesce(func.sum(shares.c.difficulty), 0.0)).where(shares.c.id > after_id,
                                                                            with_work_of(chain))
        return float(conn.execute(q).scalar() or 0.0)


class BlockRepository:
    @staticmethod
    def insert(conn: Connection, found: BlockFound, *, scheme: str, share_id: int | None,
               effort: float | None, status: str, credited: bool) -> int:
        result = conn.execute(insert(blocks).values(
            height=found.height, hash=found.hash_hex, share_id=share_id, instance=found.instance,
            address=found.address, worker=found.worker, reward=found.reward,
            network_difficulty=found.network_difficulty, effort=effort, scheme=scheme, status=status,
            submit_result=None if found.submit_result is None else str(found.submit_result)[:500],
            credited=credited, found_at=found.ts, chain=found.chain,
        ))
        pk = result.inserted_primary_key
        assert pk is not None
        return int(pk[0])

    @staticmethod
    def exists(conn: Connection, block_hash_hex: str) -> bool:
        return conn.execute(select(blocks.c.id).where(blocks.c.hash == block_hash_hex)).first() is not None

    @staticmethod
    def by_status(conn: Connection, status: str, chain: str | None = None) -> list[Any]:
        return list(conn.execute(select(blocks).where(blocks.c.status == status, on_chain(blocks.c.chain, chain))
                                 .order_by(blocks.c.id)))

    @staticmethod
    def uncredited(conn: Connection, chain: str | None = None) -> list[Any]:
        return list(conn.execute(
            select(blocks).where(blocks.c.credited.is_(False), blocks.c.status == "pending",
                                 on_chain(blocks.c.chain, chain)).order_by(blocks.c.id)
        ))

    @staticmethod
    def set_credited(conn: Connection, block_id: int) -> None:
        conn.execute(update(blocks).where(blocks.c.id == block_id).values(credited=True))

    @staticmethod
    def set_status(conn: Connection, block_id: int, status: str, *, expect: str) -> bool:
        r = conn.execute(update(blocks).where(blocks.c.id == block_id, blocks.c.status == expect)
                         .values(status=status, settled_at=time.time()))
        return r.rowcount == 1

    @staticmethod
    def previous_share_id(conn: Connection, before_block_id: int, chain: str | None = None) -> int:
        """The share id of the chain's last accepted block before this one (PROP round start), or 0."""
        q = select(func.max(blocks.c.share_id)).where(
            blocks.c.id < before_block_id, blocks.c.status.in_(("pending", "confirmed", "orphaned")),
            on_chain(blocks.c.chain, chain))
        return int(conn.execute(q).scalar() or 0)

    @staticmethod
    def last_share_id(conn: Connection, chain: str | None = None) -> int:
        q = select(func.max(blocks.c.share_id)).where(blocks.c.status.in_(("pending", "confirmed", "orphaned")),
                                                      on_chain(blocks.c.chain, chain))
        return int(conn.execute(q).scalar() or 0)

    ALL_CHAINS = "*"

    @staticmethod
    def page(conn: Connection, limit: int, offset: int, address: str | None = None,
             chain: str | None = ALL_CHAINS) -> list[dict[str, Any]]:
        """Newest first; every chain's blocks unless `chain` names one (None: the pool's own)."""
        q = select(blocks).order_by(blocks.c.id.desc()).limit(limit).offset(offset)
        if address is not None:
            q = q.where(blocks.c.address == address)
        if chain != BlockRepository.ALL_CHAINS:
            q = q.where(on_chain(blocks.c.chain, chain))
        return [dict(r._mapping) for r in conn.execute(q)]

    @staticmethod
    def chains(conn: Connection) -> list[str | None]:
        """The chains the pool has found blocks on (None: its own)."""
        return [c for (c,) in conn.execute(select(blocks.c.chain).distinct())]

    @staticmethod
    def count_by_status(conn: Connection, chain: str | None = None) -> dict[str, int]:
        q = select(blocks.c.status, func.count()).where(on_chain(blocks.c.chain, chain)).group_by(blocks.c.status)
        return {s: int(n) for s, n in conn.execute(q)}


class LedgerRepository:
    @staticmethod
    def add(conn: Connection, entries: Iterable[dict[str, Any]]) -> None:
        rows = [{"ts": time.time(), "block_id": None, "payout_id": None, "chain": None, **e} for e in entries]
        if rows:
            conn.execute(insert(credits), rows)

    @staticmethod
    def block_credits(conn: Connection, block_id: int) -> list[tuple[str, int]]:
        rows = conn.execute(select(credits.c.address, func.sum(credits.c.amount))
                            .where(credits.c.block_id == block_id).group_by(credits.c.address))
        return [(a, int(v)) for a, v in rows]

    @staticmethod
    def _payable_filter() -> Any:
        confirmed = select(blocks.c.id).where(blocks.c.status == "confirmed")
        return or_(credits.c.block_id.is_(None), credits.c.block_id.in_(confirmed))

    @staticmethod
    def payable_balances(conn: Connection, chain: str | None = None) -> dict[str, int]:
        """Per address, what is payable in the coin of `chain` (None: the pool's own)."""
        rows = conn.execute(select(credits.c.address, func.sum(credits.c.amount))
                            .where(LedgerRepository._payable_filter(), on_chain(credits.c.chain, chain))
                            .group_by(credits.c.address))
        return {a: int(v) for a, v in rows}

    @staticmethod
    def balance(conn: Connection, address: str, chain: str | None = None) -> dict[str, int]:
        mine = (credits.c.address == address, on_chain(credits.c.chain, chain))
        payable = conn.execute(select(func.coalesce(func.sum(credits.c.amount), 0)).where(
            *mine, LedgerRepository._payable_filter())).scalar()
        pending_blocks = select(blocks.c.id).where(blocks.c.status == "pending")
        immature = conn.execute(select(func.coalesce(func.sum(credits.c.amount), 0)).where(
            *mine, credits.c.block_id.in_(pending_blocks))).scalar()
        paid = conn.execute(select(func.coalesce(func.sum(payout_items.c.amount), 0))
                            .join(payouts, payouts.c.id == payout_items.c.payout_id)
                            .where(payout_items.c.address == address, on_chain(payouts.c.chain, chain))).scalar()
        return {"payable": int(payable or 0), "immature": int(immature or 0), "paid": int(paid or 0)}

    @staticmethod
    def summary(conn: Connection, address: str | None = None) -> list[dict[str, Any]]:
        """Per address and chain: payable, immature and paid (every balance the ledger holds)."""
        pending_blocks = select(blocks.c.id).where(blocks.c.status == "pending")
        payable = func.sum(case((LedgerRepository._payable_filter(), credits.c.amount), else_=0))
        immature = func.sum(case((credits.c.block_id.in_(pending_blocks), credits.c.amount), else_=0))
        q = select(credits.c.address, credits.c.chain, payable, immature).group_by(credits.c.address, credits.c.chain)
        paid_q = (select(payout_items.c.address, payouts.c.chain, func.sum(payout_items.c.amount))
                  .join(payouts, payouts.c.id == payout_items.c.payout_id)
                  .group_by(payout_items.c.address, payouts.c.chain))
        if address is not None:
            q, paid_q = q.where(credits.c.address == address), paid_q.where(payout_items.c.address == address)
        paid = {(a, c): int(v) for a, c, v in conn.execute(paid_q)}
        rows = [{"address": a, "chain": c, "payable": int(p or 0), "immature": int(i or 0), "paid": paid.get((a, c), 0)}
                for a, c, p, i in conn.execute(q)]
        return sorted(rows, key=lambda r: (r["address"], r["chain"] is not None, r["chain"] or ""))

    @staticmethod
    def chains_of(conn: Connection, address: str) -> list[str | None]:
        """The chains `address` has credits in (None: the pool's own first)."""
        found = {c for (c,) in conn.execute(select(credits.c.chain).where(credits.c.address == address).distinct())}
        return sorted(found, key=lambda c: (c is not None, c or ""))


class PayoutRepository:
    @staticmethod
    def create(conn: Connection, txid: str, raw_tx: str, items: Sequence[tuple[str, int]],
               chain: str | None = None, pay_to: dict[str, str] | None = None) -> int:
        """A built payout in the coin of `chain`: its row, its items and the ledger's debits.
        `pay_to` maps a miner's address to the aux address the transaction pays (aux coins)."""
        now = time.time()
        r = conn.execute(insert(payouts).values(created_at=now, updated_at=now, status="built", txid=txid,
                                                raw_tx=raw_tx, total=sum(a for _, a in items), chain=chain))
        pk = r.inserted_primary_key
        assert pk is not None
        pid = int(pk[0])
        to = pay_to or {}
        conn.execute(insert(payout_items), [{"payout_id": pid, "address": a, "amount": v, "pay_to": to.get(a)}
                                            for a, v in items])
        LedgerRepository.add(conn, [{"address": a, "amount": -v, "kind": "payout", "payout_id": pid, "chain": chain}
                                    for a, v in items])
        return pid

    @staticmethod
    def unfinished(conn: Connection, chain: str | None = None) -> list[Any]:
        return list(conn.execute(select(payouts).where(payouts.c.status.in_(("built", "broadcast")),
                                                       on_chain(payouts.c.chain, chain))
                                 .order_by(payouts.c.id)))

    @staticmethod
    def set_status(conn: Connection, payout_id: int, status: str) -> None:
        conn.execute(update(payouts).where(payouts.c.id == payout_id).values(status=status, updated_at=time.time()))

    @staticmethod
    def page(conn: Connection, limit: int, offset: int, address: str | None = None) -> list[dict[str, Any]]:
        if address is None:
            q = select(payouts).order_by(payouts.c.id.desc()).limit(limit).offset(offset)
            return [{k: v for k, v in dict(r._mapping).items() if k != "raw_tx"} for r in conn.execute(q)]
        q = (select(payouts.c.id, payouts.c.txid, payouts.c.status, payouts.c.created_at, payouts.c.chain,
                    payout_items.c.amount, payout_items.c.pay_to)
             .join(payout_items, payout_items.c.payout_id == payouts.c.id)
             .where(payout_items.c.address == address)
             .order_by(payouts.c.id.desc()).limit(limit).offset(offset))
        return [dict(r._mapping) for r in conn.execute(q)]

    @staticmethod
    def items(conn: Connection, payout_id: int) -> list[tuple[str, int]]:
        rows = conn.execute(select(payout_items.c.address, payout_items.c.amount)
                            .where(payout_items.c.payout_id == payout_id).order_by(payout_items.c.id))
        return [(a, int(v)) for a, v in rows]


class AuxAddressRepository:
    """Each miner's payout address on each aux chain (the miner known by its parent-chain address)."""

    @staticmethod
    def get(conn: Connection, address: str, chain: str) -> str | None:
        v = conn.execute(select(aux_addresses.c.aux_address).where(
            aux_addresses.c.address == address, aux_addresses.c.chain == chain)).scalar()
        return None if v is None else str(v)

    @staticmethod
    def set(conn: Connection, address: str, chain: str, aux_address: str) -> None:
        r = conn.execute(update(aux_addresses).where(aux_addresses.c.address == address, aux_addresses.c.chain == chain)
                         .values(aux_address=aux_address, set_at=time.time()))
        if r.rowcount == 0:
            conn.execute(insert(aux_addresses).values(address=address, chain=chain, aux_address=aux_address,
                                                      set_at=time.time()))

    @staticmethod
    def of_chain(conn: Connection, chain: str) -> dict[str, str]:
        rows = conn.execute(select(aux_addresses.c.address, aux_addresses.c.aux_address)
                            .where(aux_addresses.c.chain == chain))
        return {a: str(x) for a, x in rows}

    @staticmethod
    def of_address(conn: Connection, address: str) -> dict[str, str]:
        rows = conn.execute(select(aux_addresses.c.chain, aux_addresses.c.aux_address)
                            .where(aux_addresses.c.address == address))
        return {c: str(x) for c, x in rows}


class StateRepository:
    @staticmethod
    def get(conn: Connection, key: str, default: str | None = None) -> str | None:
        v = conn.execute(select(pool_state.c.value).where(pool_state.c.key == key)).scalar()
        return default if v is None else str(v)

    @staticmethod
    def set(conn: Connection, key: str, value: str) -> None:
        r = conn.execute(update(pool_state).where(pool_state.c.key == key).values(value=value))
        if r.rowcount == 0:
            conn.execute(insert(pool_state).values(key=key, value=value))


__all__ = ["AuxAddressRepository", "BlockRepository", "LedgerRepository", "PayoutRepository", "ShareRepository", "StateRepository"]
