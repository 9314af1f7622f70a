"""The node's dispatch table: each RPC group module's plain functions with the running node bound in.

Every group module (as Core's rpc/*.cpp) holds module-level functions whose first parameter is the
node, and exports them in `RPCS`. The dispatcher must see only the RPC's own parameters (it binds
JSON params by name and type), so the bound handler carries the signature and annotations of the
function without its first parameter, and keeps its name and docstring (`help` shows them).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import blockchain, control, mining, network, rawtx, utxoset
from .server import Handler, RPCDispatcher

if TYPE_CHECKING:
    from ..service import Node

GROUPS = (blockchain, utxoset, mining, rawtx, network, control)


def bind(fn: Callable[..., Any], node: Node) -> Handler:
    """`fn` with `node` as its first argument, looking to the dispatcher like a function of the rest."""
    bound = functools.partial(fn, node)
    functools.update_wrapper(bound, fn)
    sig = inspect.signature(fn)
    first, *rest = sig.parameters.values()
    # partial objects take attributes; inspect.signature and typing.get_type_hints read these two
    setattr(bound, "__signature__", sig.replace(parameters=rest))  # noqa: B010
    setattr(bound, "__annotations__", {k: v for k, v in fn.__annotations__.items() if k != first.name})  # noqa: B010
    return bound


def dispatch_table(node: Node) -> dict[str, Handler]:
    table: dict[str, Handler] = {}
    for group in GROUPS:
        for name, fn in group.RPCS.items():
            if name in table:
                raise ValueError(f"RPC {name!r} is defined twice ({group.__name__})")
            table[name] = bind(fn, node)
    return table


def register_all(dispatcher: RPCDispatcher, node: Node) -> None:
    dispatcher.register_all(dispatch_table(node))
