"""Types of the C extension (module.c); use the hashforge.kernels facade instead."""

from collections.abc import Sequence

def cpu_features() -> list[str]: ...
def backends() -> list[tuple[str, str, int]]: ...
def scan(
    algo: str,
    backend: str,
    header: bytes,
    versions: Sequence[int],
    target: bytes,
    start: int,
    end: int,
    /,
) -> tuple[list[tuple[int, int]], int]: ...
def hash(algo: str, header: bytes, /) -> bytes: ...
