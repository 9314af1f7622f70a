"""Unspent outputs as the validation rules see them: a Coin and the read-only UtxoView interface."""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO, Protocol

from .serialize import (
    deser_compact_size,
    deser_i64,
    deser_string,
    ser_compact_size,
    ser_i64,
    ser_string,
)
from .tx import OutPoint, TxOut


@dataclass(frozen=True, slots=True)
class Coin:
    """An unspent output with where it was created. Slotted like OutPoint and TxOut: the chainstate
    cache holds hundreds of thousands of them (~120 bytes less each than with a __dict__)."""

    out: TxOut
    height: int
    is_coinbase: bool

    def serialize(self) -> bytes:
        """Compact form used in undo data: height*2+coinbase, value, script."""
        return ser_compact_size(self.height * 2 + int(self.is_coinbase)) + ser_i64(self.out.value) + ser_string(
            self.out.script_pubkey
        )

    @classmethod
    def deserialize(cls, f: BinaryIO) -> Coin:
        code = deser_compact_size(f, range_check=False)
        value = deser_i64(f)
        return cls(TxOut(value, deser_string(f)), code >> 1, bool(code & 1))


class UtxoView(Protocol):
    def get_coin(self, outpoint: OutPoint) -> Coin | None: ...
