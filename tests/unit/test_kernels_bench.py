"""`hashforge bench`: the function and the Typer command (figures are never asserted)."""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import types
from pathlib import Path

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


# ---- bench/compare_cpuminer.py (parsing and skipping only; no external miner needed) ----


def load_compare_script() -> types.ModuleType:
    path = Path(__file__).resolve().parents[2] / "bench" / "compare_cpuminer.py"
    spec = importlib.util.spec_from_file_location("compare_cpuminer", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_compare_parses_both_miners_rate_lines() -> None:
    cmp = load_compare_script()
    pooler = "[2026-01-01 00:00:05] thread 0: 66982408 hashes, 13286 khash/s\n[2026-01-01 00:00:05] Total: 13286 khash/s\n"
    opt = "[2026-01-01 00:00:05]\x1b[01;37m Total: 36.81 MH/s, Temp: 0C\x1b[0m\n[x] Total: 27.93 kH/s, Temp: 0C\n"
    assert cmp.parse_rates(pooler) == [13286e3]
    assert cmp.parse_rates(opt) == [36.81e6, 27.93e3]
    assert cmp.parse_rates("no figures here\n") == []


def test_compare_skips_absent_miners_and_runs_a_fake_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cmp = load_compare_script()
    monkeypatch.setenv("PATH", str(tmp_path))  # neither minerd nor cpuminer on PATH
    miners, notes = cmp.find_miners(argparse.Namespace(minerd=None, cpuminer_opt=None))
    assert miners == {}
    assert any("cpuminer skipped" in n for n in notes)
    assert any("cpuminer-opt skipped" in n for n in notes)

    fake = tmp_path / "minerd"
    fake.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = "--version" ]; then echo "cpuminer 2.5.1"; exit 0; fi\n'
        'echo "Total: 1000 khash/s"; echo "Total: 3000 khash/s"; echo "Total: 2000 khash/s"\n'
        "exec sleep 30\n"
    )
    os.chmod(fake, 0o755)
    miners, notes = cmp.find_miners(argparse.Namespace(minerd=str(fake), cpuminer_opt=None))
    assert miners["cpuminer"]["version"] == "cpuminer 2.5.1"
    result = cmp.run_miner(str(fake), "sha256d", 1, 0.5)
    assert result["reports"] == 3
    assert result["hashrate"] == 2.5e6  # first report dropped, median of the rest
