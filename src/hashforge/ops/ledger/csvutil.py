"""Strict CSV reading: a header with exactly the allowed columns, rows of the header's width;
every problem is a CSVError naming file:line and the field."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from .errors import CSVError


def rows(text: str, name: str, required: tuple[str, ...], optional: tuple[str, ...] = (),
         one_of: tuple[str, ...] = ()) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, {column: value}) per data row; blank lines are skipped."""
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        header: list[str] | None = None
        for record in reader:
            line = reader.line_num
            if not record or all(not v.strip() for v in record):
                continue
            if header is None:
                header = [h.strip().lower() for h in record]
                _check_header(header, name, line, required, optional, one_of)
                continue
            if len(record) != len(header):
                raise CSVError(name, line, None, f"expected {len(header)} fields ({', '.join(header)}), found {len(record)}")
            yield line, {h: v.strip() for h, v in zip(header, record, strict=True)}
    except csv.Error as e:
        raise CSVError(name, reader.line_num, None, f"not valid CSV ({e})") from None
    if header is None:
        raise CSVError(name, 1, None, f"empty file; expected a header: {', '.join(required + one_of[:1])}")


def _check_header(header: list[str], name: str, line: int, required: tuple[str, ...],
                  optional: tuple[str, ...], one_of: tuple[str, ...]) -> None:
    allowed = set(required) | set(optional) | set(one_of)
    expected = ", ".join([*required, *(f"[{' | '.join(one_of)}]" for _ in one_of[:1]), *(f"[{o}]" for o in optional)])
    for col in header:
        if col not in allowed:
            raise CSVError(name, line, col, f"unknown column; expected columns: {expected}")
        if header.count(col) > 1:
            raise CSVError(name, line, col, "column appears twice")
    for col in required:
        if col not in header:
            raise CSVError(name, line, col, f"missing column; expected columns: {expected}")
    if one_of and sum(c in header for c in one_of) != 1:
        raise CSVError(name, line, " | ".join(one_of), f"exactly one of these columns is needed; expected columns: {expected}")
