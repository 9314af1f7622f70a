"""A throw-away PostgreSQL cluster for tests: initdb in a temp dir on a free port, run as the
`postgres` OS user when we are root (PostgreSQL refuses to run as root). Skips with the reason
when no PostgreSQL is installed or it cannot start."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.nodeproc import free_port


def _bindir() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    return Path(dirs[0]) if dirs else None


def _as_user(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    runuser = shutil.which("runuser")
    if runuser is None:
        pytest.skip("running as root and no runuser to start PostgreSQL as another user")
    return [runuser, "-u", "postgres", "--", *cmd]


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    bindir = _bindir()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed (initdb not found)")
    base = Path(tempfile.mkdtemp(prefix="hf-pg-"))
    data = base / "data"
    port = free_port()
    if os.geteuid() == 0:
        try:
            shutil.chown(base, "postgres")
        except (LookupError, PermissionError) as e:
            pytest.skip(f"cannot hand the cluster directory to the postgres user: {e}")
    try:
        subprocess.run(_as_user([str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "pool", "--no-sync"]),
                       check=True, capture_output=True, timeout=120)
        subprocess.run(_as_user([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(base / "log"), "-w", "-t", "60",
                                 "-o", f"-p {port} -k {base} -c listen_addresses=127.0.0.1", "start"]),
                       check=True, capture_output=True, timeout=90)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as e:
        out = getattr(e, "stderr", b"") or b""
        shutil.rmtree(base, ignore_errors=True)
        pytest.skip(f"PostgreSQL did not start: {e} {out[-500:]!r}")
    try:
        yield f"postgresql+psycopg://pool@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(_as_user([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                       capture_output=True, timeout=60)
        shutil.rmtree(base, ignore_errors=True)
