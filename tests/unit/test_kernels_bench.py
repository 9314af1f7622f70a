"""`hashforge bench`: the function and the Typer command (figures are never asserted)."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from hashforge.kernels import available_backends
from hashforge.kernels.bench import bench, register


def make_app() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.callback()
    def root() -> None:
        """test root so `bench` stays a subcommand"""

    return app


@pytest.mark.parametrize("algo", ["sha256d", "scrypt"])
def test_bench_reports_figures(algo: str) -> None:
    result = bench(algo, "auto", 2, 0.05, baseline=True)
    assert result["algo"] == algo
    assert result["backend"] == available_backends(algo)[0]
    assert result["threads"] == 2
    assert result["hashes"] > 0 and result["seconds"] > 0 and result["hashrate"] > 0
    assert result["hashlib_hashrate"] > 0 and result["speedup"] > 0


def test_bench_version_rolling_and_python_backend() -> None:
    assert bench("sha256d", "auto", 1, 0.05, version_rolling=True)["version_rolling"] is True
    assert bench("sha256d", "python", 1, 0.05)["backend"] == "python"


def test_cli_json_output() -> None:
    out = CliRunner().invoke(make_app(), ["bench", "--seconds", "0.05", "--no-baseline", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert {"algo", "backend", "threads", "hashes", "seconds", "hashrate"} <= data.keys()


def test_cli_human_output() -> None:
    out = CliRunner().invoke(make_app(), ["bench", "--algo", "scrypt", "--seconds", "0.05", "--baseline"])
    assert out.exit_code == 0, out.output
    assert "speedup" in out.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["--backend", "avx1024"],
        ["--algo", "x11"],
        ["--algo", "scrypt", "--backend", "shani"],
        ["--threads", "0"],
    ],
)
def test_cli_bad_choice_is_one_line_exit_2(args: list[str]) -> None:
    out = CliRunner().invoke(make_app(), ["bench", "--seconds", "0.01", "--no-baseline", *args])
    assert out.exit_code == 2
    assert out.exception is None or isinstance(out.exception, SystemExit)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hashforge bench:")
    assert "Traceback" not in out.output


def test_cli_unavailable_backend_is_exit_2() -> None:
    missing = [b for b in ("sse2", "avx2", "avx512", "shani") if b not in available_backends("sha256d")]
    if not missing:
        pytest.skip("this CPU runs every backend; nothing unavailable to ask for")
    out = CliRunner().invoke(make_app(), ["bench", "--backend", missing[0], "--no-baseline"])
    assert out.exit_code == 2
    assert "lacks" in out.stderr or "not built" in out.stderr
