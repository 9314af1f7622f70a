"""tests.helpers.peers: ../shared/bin first, then PATH, and a skip reason that says where it looked."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.peers import find_peer, requires_peer


def _program(folder: Path, name: str, executable: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755 if executable else 0o644)
    return path


def test_shared_bin_first_then_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shared, on_path = tmp_path / "shared" / "bin", tmp_path / "path"
    monkeypatch.setenv("PATH", str(on_path))
    assert find_peer("peerd", shared) is None
    in_path = _program(on_path, "peerd")
    assert find_peer("peerd", shared) == str(in_path)
    _program(shared, "peerd", executable=False)  # not runnable: PATH's still counts
    assert find_peer("peerd", shared) == str(in_path)
    in_shared = _program(shared, "peerd")
    assert find_peer("peerd", shared) == str(in_shared)


def test_skip_reason_names_both_places_and_the_test() -> None:
    mark = requires_peer("no-such-peer-binary", "the frobnicator interop test")
    assert mark.args == (True,)
    reason = mark.kwargs["reason"]
    assert reason.startswith("no-such-peer-binary not found in ../shared/bin or on PATH")
    assert reason.endswith("to run the frobnicator interop test")
