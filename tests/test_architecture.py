"""The import contract (issue 18), checked over the source with `ast`:

1. dependencies point one way, down this ladder (a module may import its own layer and those below):
   consensus ← kernels/stratum/rpcclient/jsonlimits/logs/cliutil/schema/settings ← wallet/node/miner/pool
   ← services' plumbing (events, errors, metrics, node, gateways, registry, paging, keys) ← ops
   ← services (the reads routes and pages share) ← httpedge (who may call, the sign-in cookie) ← api/web
   ← up/cli;
2. only hashforge.api's own modules, hashforge.up and hashforge.cli import hashforge.api (web included:
   what it shares with the API is in hashforge.httpedge); no module outside hashforge.api imports a
   route handler (hashforge.api.routers);
3. no module imports another component's CLI (hashforge.cli assembles the app and may);
4. no module imports an underscore name from another module.

Every import counts: module level, inside functions, under TYPE_CHECKING. Each rule is also run on
a small synthetic tree with a deliberate violation, so a checker that stopped seeing one fails here.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
ROOT = "hashforge"

# services' modules that ops may use (the bus, the gateways, the registry): they sit below ops; the
# rest of services (shared reads, earnings) may use ops and sits above it.
SERVICES_PLUMBING = frozenset({"events", "errors", "metrics", "node", "gateways", "registry", "paging", "keys"})

LAYERS: dict[str, int] = {
    "consensus": 0,
    "kernels": 1, "stratum": 1, "rpcclient": 1, "jsonlimits": 1, "logs": 1, "cliutil": 1, "schema": 1, "settings": 1,
    "wallet": 2, "node": 2, "miner": 2, "pool": 2,
    "services.plumbing": 3,
    "ops": 4,
    "services": 5,
    "httpedge": 6,
    "api": 7, "web": 7,
    "up": 8, "cli": 8, "__main__": 8,
}
MAY_IMPORT_API = frozenset({"api", "up", "cli", "__main__"})


@dataclass(frozen=True)
class Import:
    importer: str  # dotted module name
    target: str  # dotted module name imported (for `from M import n`: M, or M.n when that is a module)
    names: tuple[str, ...]  # names taken by `from M import ...` (empty for `import M`)
    line: int


def module_name(path: Path, src: Path) -> str:
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def imports_of(path: Path, src: Path) -> list[Import]:
    name = module_name(path, src)
    package = name if is_package(path) else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[Import] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend(Import(name, a.name, (), node.lineno) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append(Import(name, target, tuple(a.name for a in node.names), node.lineno))
    return found


def modules(src: Path) -> dict[str, Path]:
    return {module_name(p, src): p for p in sorted((src / ROOT).rglob("*.py"))}


def component(module: str) -> str | None:
    """The layer key of a module of ours: its top-level package or module (services split in two)."""
    parts = module.split(".")
    if parts[0] != ROOT or len(parts) < 2:
        return None
    if parts[1] == "services" and len(parts) > 2 and parts[2] in SERVICES_PLUMBING:
        return "services.plumbing"
    return parts[1]


def resolve(imp: Import, known: dict[str, Path]) -> list[str]:
    """The modules of ours an import names: `from pkg import mod` names pkg.mod, not pkg."""
    if imp.target.split(".")[0] != ROOT:
        return []
    submodules = [f"{imp.target}.{n}" for n in imp.names if f"{imp.target}.{n}" in known]
    return submodules or [imp.target]


def is_cli(module: str) -> bool:
    """A component's CLI: a module or package named cli below the component (hashforge.pool.cli)."""
    return "cli" in module.split(".")[2:]


def violations(src: Path) -> list[str]:
    known = modules(src)
    found: list[str] = []
    for name, path in known.items():
        own = component(name)
        where = f"{path.relative_to(src)}"
        for imp in imports_of(path, src):
            for target in resolve(imp, known):
                theirs = component(target)
                at = f"{where}:{imp.line}: {name} imports {target}"
                if own in LAYERS and theirs in LAYERS and LAYERS[theirs] > LAYERS[own]:
                    found.append(f"{at} (layer {own} may not import {theirs}, which is above it)")
                if theirs == "api" and own not in MAY_IMPORT_API:
                    found.append(f"{at} (only hashforge.up and hashforge.cli import hashforge.api)")
                if target.startswith(f"{ROOT}.api.routers") and own != "api":
                    found.append(f"{at} (a route handler; use hashforge.services)")
                if is_cli(target) and own not in ("cli", theirs):
                    found.append(f"{at} (another component's CLI)")
            if imp.target.split(".")[0] == ROOT and imp.target != name:
                for n in imp.names:
                    if n.startswith("_") and not n.startswith("__") and f"{imp.target}.{n}" not in known:
                        found.append(f"{where}:{imp.line}: {name} imports the private {n} from {imp.target}")
    return sorted(set(found))


def test_the_source_keeps_the_contract() -> None:
    assert violations(SRC) == []


def test_every_component_has_a_layer() -> None:
    unknown = {component(m) for m in modules(SRC)} - set(LAYERS) - {None}
    assert unknown == set(), f"give these a layer in LAYERS: {sorted(u for u in unknown if u)}"


# --- the checker itself, on synthetic trees -------------------------------------------------------

def tree(tmp_path: Path, files: dict[str, str]) -> Path:
    src = tmp_path / "src"
    for rel, text in {"hashforge/__init__.py": "", **files}.items():
        p = src / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        for parent in p.relative_to(src).parents:
            init = src / parent / "__init__.py"
            if parent != Path(".") and not init.exists():
                init.write_text("")
        p.write_text(text)
    return src


def test_clean_tree_passes(tmp_path: Path) -> None:
    src = tree(tmp_path, {
        "hashforge/consensus/block.py": "import hashlib\n",
        "hashforge/node/chain.py": "from hashforge.consensus.block import Block\nfrom ..consensus import block\n",
        "hashforge/services/events.py": "",
        "hashforge/ops/alerts.py": "from hashforge.services.events import EventBus\n",
        "hashforge/services/pool.py": "from hashforge.ops import alerts\n",
        "hashforge/httpedge/access.py": "from hashforge.services.keys import Scope\n",
        "hashforge/web/pages.py": "from hashforge.services import pool\nfrom hashforge.httpedge.access import ReadAccess\n",
        "hashforge/api/deps.py": "from hashforge.httpedge.access import ReadAccess\n",
        "hashforge/api/routers/pool.py": "from hashforge.services.pool import stats\n",
        "hashforge/cli/commands.py": "from hashforge.pool.cli import pool\nfrom hashforge.api.cli import api\n",
        "hashforge/pool/cli.py": "from .helpers import thing\n", "hashforge/pool/helpers.py": "",
    })
    assert violations(src) == []


@pytest.mark.parametrize(("files", "words"), [
    ({"hashforge/consensus/tx.py": "from hashforge.node.chain import Chain\n", "hashforge/node/chain.py": ""},
     "layer consensus may not import node"),
    ({"hashforge/node/chain.py": "def f():\n    from hashforge.pool import stratifier\n",
      "hashforge/pool/stratifier.py": "", "hashforge/consensus/__init__.py": ""},
     None),  # same layer: allowed
    ({"hashforge/pool/x.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from hashforge.ops import y\n",
      "hashforge/ops/y.py": ""}, "layer pool may not import ops"),
    ({"hashforge/ops/y.py": "from ..services import pool\n", "hashforge/services/pool.py": ""},
     "layer ops may not import services"),
    ({"hashforge/services/events.py": "from hashforge.ops import y\n", "hashforge/ops/y.py": ""},
     "layer services.plumbing may not import ops"),
    ({"hashforge/rpcclient.py": "import hashforge.wallet.db\n", "hashforge/wallet/db.py": ""},
     "layer rpcclient may not import wallet"),
])
def test_a_layer_importing_upward_is_caught(tmp_path: Path, files: dict[str, str], words: str | None) -> None:
    found = violations(tree(tmp_path, files))
    if words is None:
        assert found == []
    else:
        assert len(found) == 1 and words in found[0], found


def test_importing_the_api_is_caught(tmp_path: Path) -> None:
    src = tree(tmp_path, {
        "hashforge/api/errors.py": "", "hashforge/api/routers/pool.py": "", "hashforge/api/deps.py": "",
        "hashforge/services/chain.py": "from hashforge.api.errors import NotFound\n",
        "hashforge/web/pages.py": "from hashforge.api.routers import pool\nfrom hashforge.api.deps import ReadAccess\n",
        "hashforge/web/other.py": "from hashforge.api import errors\n",
    })
    found = violations(src)
    assert any("services/chain.py:1" in f and "only hashforge.up and hashforge.cli" in f for f in found), found
    assert any("web/pages.py:1" in f and "a route handler" in f for f in found), found
    assert any("web/other.py:1" in f and "only hashforge.up" in f for f in found), found
    # the API's own dependencies and middleware too: web's share of them is hashforge.httpedge
    assert any("web/pages.py:2" in f and "only hashforge.up" in f for f in found), found


def test_the_http_edge_imports_neither_api_nor_web(tmp_path: Path) -> None:
    src = tree(tmp_path, {
        "hashforge/api/settings.py": "", "hashforge/web/render.py": "",
        "hashforge/httpedge/access.py": "from hashforge.api.settings import ApiSettings\n",
        "hashforge/httpedge/session.py": "def f():\n    from hashforge.web import render\n",
    })
    found = violations(src)
    assert any("httpedge/access.py:1" in f and "layer httpedge may not import api" in f for f in found), found
    assert any("httpedge/session.py:2" in f and "layer httpedge may not import web" in f for f in found), found


def test_importing_another_components_cli_is_caught(tmp_path: Path) -> None:
    src = tree(tmp_path, {
        "hashforge/pool/cli.py": "", "hashforge/wallet/cli.py": "",
        "hashforge/ops/profit/cli.py": "from hashforge.pool.cli import split\n",
        "hashforge/ops/ledger/cli.py": "from hashforge.wallet import cli\n",
        "hashforge/pool/contracts/cli.py": "from ..cli import x\n",
        "hashforge/cli/commands.py": "from hashforge.pool.cli import pool\n",
    })
    found = violations(src)
    assert any("ops/profit/cli.py:1" in f and "another component's CLI" in f for f in found), found
    assert any("ops/ledger/cli.py:1" in f and "another component's CLI" in f for f in found), found
    assert len(found) == 2, found  # its own component's CLI, and the assembler: allowed


def test_importing_a_private_name_is_caught(tmp_path: Path) -> None:
    src = tree(tmp_path, {
        "hashforge/wallet/cli.py": "def _rpc(): ...\n",
        "hashforge/wallet/send.py": "from .cli import _rpc\n",
        "hashforge/wallet/ok.py": "from .cli import __doc__\nfrom . import _private\n",
        "hashforge/wallet/_private.py": "",
    })
    found = violations(src)
    assert len(found) == 1 and "wallet/send.py:1" in found[0] and "private _rpc" in found[0], found
