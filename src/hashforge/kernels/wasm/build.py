"""Builds hf_kernels.wasm (the browser miner's kernel) from the project's own scalar C code.

    python -m hashforge.kernels.wasm.build [--out PATH]

Compiler: zig's bundled clang (`python -m ziglang`, PyPI) if installed, else a system clang
with wasm-ld (Debian: clang lld). No compiler: a note and exit 0 — the page then mines with
its plain-JS kernel. Compile errors exit 1.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "hf_wasm.c"
INCLUDE = HERE / "include"
DEFAULT_OUT = HERE.parents[1] / "web" / "static" / "webmine" / "hf_kernels.wasm"
FLAGS = ["-O3", "-nostdlib", "-ffreestanding", "-fno-builtin-malloc", "-Wall", "-Wl,--no-entry",
         f"-I{INCLUDE}"]


def compilers() -> list[list[str]]:
    """Command prefixes able to build for wasm32, best first."""
    found: list[list[str]] = []
    if importlib.util.find_spec("ziglang") is not None:
        found.append([sys.executable, "-m", "ziglang", "cc", "-target", "wasm32-freestanding"])
    clang = shutil.which("clang")
    if clang and (shutil.which("wasm-ld") or shutil.which("wasm-ld-14") or shutil.which("lld")):
        found.append([clang, "--target=wasm32", "-fuse-ld=lld"])
    return found


def build(out: Path) -> Path | None:
    """Compiles to `out`; None when no compiler is available. RuntimeError on compile errors."""
    options = compilers()
    if not options:
        return None
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".wasm.tmp")
    result = subprocess.run([*options[0], *FLAGS, str(SOURCE), "-o", str(tmp)],
                            capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise RuntimeError(f"wasm build failed:\n{result.stderr.strip()}")
    tmp.replace(out)  # atomic: a page never fetches a half-written module
    return out


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    out = DEFAULT_OUT
    if args[:1] == ["--out"] and len(args) == 2:
        out = Path(args[1])
    elif args:
        print("usage: python -m hashforge.kernels.wasm.build [--out PATH]", file=sys.stderr)
        return 2
    try:
        built = build(out)
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if built is None:
        print("note: no wasm32 compiler (pip install ziglang, or apt-get install clang lld); "
              "browser mining will use the plain-JS kernel", file=sys.stderr)
        return 0
    print(built)
    return 0


if __name__ == "__main__":
    sys.exit(main())
