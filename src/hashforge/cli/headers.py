"""`hashforge headers ...`: block-header tools."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from hashforge.consensus.auxpow import AuxPowHeader, iter_headers, read_headers
from hashforge.consensus.block import HEADER_SIZE
from hashforge.consensus.headerchain import HeaderChainError, HeaderChainSummary, verify_headers
from hashforge.consensus.params import ChainParams, UnknownNetworkError, get_params
from hashforge.consensus.serialize import DeserializationError

from .errors import EXIT_INVALID, fail

headers_app = typer.Typer(help="Block-header tools.", no_args_is_help=True)

PROGRESS_MIN_HEADERS = 20_000  # below this a run takes well under a second: no bar


def _read_headers_file(path: Path, params: ChainParams) -> tuple[Iterable[AuxPowHeader], int]:
    """The headers of `path` and how many there are (plain headers are parsed as they are used)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        fail(f"{path}: no such file")
    except IsADirectoryError:
        fail(f"{path}: is a directory")
    except OSError as e:
        fail(f"{path}: cannot read: {e.strerror or e}")
    auxpow = params.auxpow_chain_id is not None
    if not data:
        fail(f"{path}: empty file, expected {'block headers' if auxpow else '80-byte headers'}")
    try:
        if not auxpow:
            return iter_headers(data, False), len(data) // HEADER_SIZE
        headers = read_headers(data, True)
    except DeserializationError as e:
        fail(f"{path}: {e}")
    return headers, len(headers)


def _summary_json(s: HeaderChainSummary) -> dict[str, Any]:
    return {
        "ok": True,
        "network": s.network,
        "count": s.count,
        "first_height": s.first_height,
        "last_height": s.last_height,
        "tip_hash": s.tip_hash_hex,
        "chainwork_hex": f"{s.chainwork:064x}",
        "chainwork_decimal": str(s.chainwork),
        "checked": {
            "pow": s.checked_pow,
            "links": s.checked_links,
            "bits": s.checked_bits,
            "retargets": s.checked_retargets,
            "median_time_past": s.checked_median_time,
            "timewarp": s.checked_timewarp,
            "auxpow": s.checked_auxpow,
        },
    }


def _print_summary(s: HeaderChainSummary) -> None:
    unchecked_bits = s.count - 1 - s.checked_bits
    lines = [
        f"network:    {s.network}",
        f"headers:    {s.count} (heights {s.first_height} to {s.last_height})",
        f"tip:        {s.tip_hash_hex}",
        f"chainwork:  0x{s.chainwork:064x}",
        f"            {s.chainwork} (decimal)",
        f"checked:    proof of work {s.checked_pow}, links {s.checked_links}, "
        f"nBits {s.checked_bits} (retargets {s.checked_retargets}), "
        f"median time past {s.checked_median_time}"
        + (f", timewarp {s.checked_timewarp}" if s.checked_timewarp else "")
        + (f", auxpow {s.checked_auxpow}" if s.checked_auxpow else ""),
    ]
    if unchecked_bits > 0:
        lines.append(
            f"note:       nBits of {unchecked_bits} header(s) after the first not checked: "
            "the rule needs ancestors before the file"
        )
    lines.append("result:     OK")
    typer.echo("\n".join(lines))


def _run(
    headers: Iterable[AuxPowHeader], total: int, params: ChainParams, height: int, show_progress: bool
) -> HeaderChainSummary:
    if not show_progress:
        return verify_headers(headers, params, height)
    with Progress(
        TextColumn("verifying headers"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("verify", total=total)

        def update(done: int) -> None:
            bar.update(task, completed=done)

        return verify_headers(headers, params, height, progress=update)


@headers_app.command("verify")
def verify(
    file: Annotated[
        Path,
        typer.Argument(
            help="File of consecutive headers (wire format): 80 bytes each; on Dogecoin each "
            "header with the auxpow version bit is followed by its AuxPoW."
        ),
    ],
    network: Annotated[str, typer.Option("--network", "-n", help="Network the headers belong to.")] = "mainnet",
    height: Annotated[int, typer.Option("--height", help="Height of the first header in FILE.")] = 0,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Verify a run of headers: linkage, proof of work (AuxPoW on Dogecoin), retargets, time rules.

    Every rule is checked where FILE itself supplies the context it needs (see the counts printed);
    a file starting at a retarget boundary, or at genesis, checks every retarget inside it. Exits 1
    naming the height and rule at the first violation, 2 on bad input.
    """
    if height < 0:
        fail(f"--height must not be negative (got {height})")
    try:
        params = get_params(network)
    except UnknownNetworkError as e:
        fail(str(e))
    headers, total = _read_headers_file(file, params)
    show_progress = not json_output and sys.stderr.isatty() and total >= PROGRESS_MIN_HEADERS
    try:
        summary = _run(headers, total, params, height, show_progress)
    except HeaderChainError as e:
        if json_output:
            error = {"height": e.height, "reason": e.reason, "detail": e.detail, "message": str(e)}
            typer.echo(json.dumps({"ok": False, "network": params.name, "error": error}))
            raise typer.Exit(EXIT_INVALID) from None
        fail(str(e), EXIT_INVALID)
    if json_output:
        typer.echo(json.dumps(_summary_json(summary)))
    else:
        _print_summary(summary)
