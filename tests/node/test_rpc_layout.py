"""The node's RPC layer stays readable: one module per group of plain functions, none over 80 lines."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import hashforge.node.rpc
from hashforge.node.rpc import methods

RPC_DIR = Path(hashforge.node.rpc.__file__).parent
MAX_LINES = 80


def long_functions(source: str, limit: int = MAX_LINES) -> list[tuple[str, int]]:
    """(name, lines) of every function or method in `source`, nested ones too, longer than `limit`."""
    found = []
    for n in ast.walk(ast.parse(source)):
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)):
            assert n.end_lineno is not None
            lines = n.end_lineno - min([n.lineno, *(d.lineno for d in n.decorator_list)]) + 1
            if lines > limit:
                found.append((n.name, lines))
    return found


def _function_of(lines: int, name: str = "f", indent: str = "") -> str:
    body = "".join(f"{indent}    x{i} = {i}\n" for i in range(lines - 2))
    return f"{indent}def {name}() -> int:\n{body}{indent}    return 0\n"


def test_checker_flags_only_functions_over_the_limit() -> None:
    assert long_functions(_function_of(MAX_LINES)) == []
    assert long_functions(_function_of(MAX_LINES + 1, "too_long")) == [("too_long", MAX_LINES + 1)]
    assert long_functions("def outer() -> None:\n" + _function_of(MAX_LINES - 1, "inner", "    ")) == []
    nested = "def outer() -> None:\n" + _function_of(MAX_LINES + 1, "closure", "    ")
    assert long_functions(nested) == [("outer", MAX_LINES + 2), ("closure", MAX_LINES + 1)]
    method = "class C:\n    @staticmethod\n" + _function_of(MAX_LINES, "m", "    ")
    assert long_functions(method) == [("m", MAX_LINES + 1)]


def test_no_rpc_function_is_longer_than_80_lines() -> None:
    modules = sorted(RPC_DIR.glob("*.py"))
    assert len(modules) >= 6
    offenders = {p.name: found for p in modules if (found := long_functions(p.read_text()))}
    assert offenders == {}


def test_each_group_exports_plain_functions_taking_the_node_first() -> None:
    for group in methods.GROUPS:
        assert group.RPCS, group.__name__
        for name, fn in group.RPCS.items():
            assert fn.__name__ == name and fn.__module__ == group.__name__
            first = next(iter(inspect.signature(fn).parameters.values()))
            assert first.annotation == "Node", (group.__name__, name)
