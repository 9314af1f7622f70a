"""One way to configure every component: a TOML file, then `HASHFORGE_<COMPONENT>_*` environment
variables, then the flags the user passed, validated by one pydantic-settings model per component
(node/config.py, pool/config.py, miner/config.py, api/settings.py, up/config.py).

Precedence is per key: a flag given on the command line wins over the environment, which wins
over the file, which wins over the model's default. A flag left at its default overrides nothing,
so `--config` and the environment are never silently undone by a flag's default value.

A bad value, whatever its source, is one line naming the key and where it came from: the file and
key (`pool.toml:vardiff.min_difficulty`), the variable (`HASHFORGE_POOL_CONNECTOR__PORT`) or the
flag (`--stratum-port`). Checks that span keys raise `Unsafe` naming the keys, so they are reported
the same way. Nested keys (the pool's `[vardiff]` table) are `SECTION__KEY` in the environment.
Complex values (lists, tables) are JSON there, as pydantic-settings reads them.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
import tomllib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar, get_args, get_type_hints
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    Field,
    ValidationError,
    ValidationInfo,
    create_model,
    field_validator,
)
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from pydantic_settings import SettingsError as EnvParseError

from hashforge.consensus.params import UnknownNetworkError, get_params

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})
NESTED = "__"  # HASHFORGE_POOL_VARDIFF__MIN_DIFFICULTY

Path_ = tuple[str | int, ...]
S = TypeVar("S", bound="ComponentSettings")


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and the usual loopback names."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


# The one rule for RPC passwords, for the node that serves RPC and every part that calls it: off
# loopback, a password long enough that guessing it over the network is hopeless (the cookie can only
# be read on the node's own machine); on loopback, whatever the node was given.
REMOTE_RPC_PASSWORD_MIN = 16


def remote_rpc_refusal(host: str, password: str | None) -> str | None:
    """Why RPC on `host` with `password` is refused (one line for `Unsafe`), or None when it is fine.
    The node applies it to the address it binds; a client, to its node's URL when it sends a
    password (`url_host`)."""
    if is_loopback(host) or (password is not None and len(password) >= REMOTE_RPC_PASSWORD_MIN):
        return None
    return (f"RPC off loopback ({host!r}) needs a user and a password of {REMOTE_RPC_PASSWORD_MIN}+ characters "
            "(the cookie is readable only on the node's machine)")


def url_host(url: str) -> str:
    """The host of an RPC URL (`HOST:PORT` alone is http), for `remote_rpc_refusal`."""
    return urlsplit(url if "://" in url else f"http://{url}").hostname or ""


class SettingsError(ValueError):
    """A configuration that cannot be used: one line, fit for `error: ...` (CLIs exit 2)."""


class Bad(ValueError):
    """A value outside its range, phrased to follow the key's source: `--rpcthreads` + `must be 1
    or more, not 0`."""


def rule(test: Callable[[Any], bool], text: str, *, show: bool = True) -> AfterValidator:
    """A field check (`Annotated[int, rule(lambda v: v >= 1, "must be 1 or more")]`); None passes."""

    def check(value: Any) -> Any:
        if value is not None and not test(value):
            raise Bad(f"{text}, not {value!r}" if show else text)
        return value

    return AfterValidator(check)


POSITIVE = rule(lambda v: v > 0, "must be more than 0")
AT_LEAST_ONE = rule(lambda v: v >= 1, "must be 1 or more")
NOT_NEGATIVE = rule(lambda v: v >= 0, "must be 0 or more")
PORT = rule(lambda v: 1 <= v <= 65535, "must be 1..65535")
PORT_OR_ANY = rule(lambda v: 0 <= v <= 65535, "must be 0..65535")  # 0: any free port


def _known_network(name: str) -> str:
    try:
        return get_params(name).name
    except UnknownNetworkError as e:
        raise ValueError(str(e)) from None


NETWORK = AfterValidator(_known_network)  # a network hashforge knows, by its canonical name
EXPANDED = AfterValidator(lambda p: p.expanduser() if p is not None else None)  # ~ in a path


class Unsafe(ValueError):
    """A model validator's refusal of a combination; `keys` (dotted) name the settings at fault so
    the error names where the user set them."""

    def __init__(self, message: str, *keys: str) -> None:
        super().__init__(message)
        self.keys = keys


class ComponentSettings(BaseSettings):
    """A component's settings: subclasses set `env_prefix` (HASHFORGE_<COMPONENT>_) and the fields.
    Constructed directly it reads its keyword arguments over the environment; `load` adds the file
    and the flags and reports errors by source."""

    model_config = SettingsConfigDict(extra="forbid", frozen=True, env_nested_delimiter=NESTED)

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings  # no .env files, no secrets directory: one place to look

    @field_validator("*", mode="before")
    @classmethod
    def _no_truth_values_for_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        """pydantic reads `true` as 1; in a config file it is a mistake, not a number."""
        if isinstance(value, bool) and info.field_name is not None:
            kinds = [a for a in (get_args(cls.model_fields[info.field_name].annotation) or
                                 (cls.model_fields[info.field_name].annotation,)) if a is not type(None)]
            if kinds and all(k in (int, float) for k in kinds):
                raise ValueError(f"must be a number, not {str(value).lower()}")
        return value


def fields_of(config: type, exclude: frozenset[str] = frozenset()) -> type[ComponentSettings]:
    """A settings base with the fields of the dataclass `config` (types with their checks, defaults,
    names), so a component that runs on a dataclass lists its keys once."""
    hints = get_type_hints(config, include_extras=True)
    spec: dict[str, Any] = {}
    for f in dataclasses.fields(config):
        if f.name not in exclude:
            factory = f.default_factory
            spec[f.name] = (hints[f.name], f.default if factory is dataclasses.MISSING else Field(default_factory=factory))
    return create_model(f"{config.__name__}Fields", __base__=ComponentSettings, **spec)


class Layers:
    """The raw values of each source merged by precedence, with where each leaf came from."""

    def __init__(self, env_prefix: str) -> None:
        self.env_prefix = env_prefix
        self.values: dict[str, Any] = {}
        self.origins: dict[Path_, str] = {}
        self.sources: dict[Path_, Callable[[Path_], str]] = {}  # to name a table some of whose keys it set

    def add(self, values: Mapping[str, Any], origin_of: Any) -> None:
        """Merges `values` over what is there; `origin_of(path)` says where a leaf came from."""
        for path, value in _leaves(values):
            self.origins = {p: o for p, o in self.origins.items() if p[: len(path)] != path}
            self.sources = {p: o for p, o in self.sources.items() if p[: len(path)] != path}
            self.origins[path] = origin_of(path)
            self.sources[path] = origin_of
            _set(self.values, path, value)

    def add_file(self, path: Path, table: str | None = None) -> None:
        data = read_toml(path)
        if table is not None and isinstance(data.get(table), dict):
            data = data[table]
        self.add(normalise(data), lambda p: f"{path}:{_dotted(p)}")

    def add_env(self, cls: type[ComponentSettings]) -> None:
        try:
            values = EnvSettingsSource(cls)()
        except EnvParseError as e:  # a list or table that is not JSON
            found = re.search(r'field "(\w+)"', str(e))
            name = self.env_prefix + found.group(1).upper() if found else "the environment"
            raise SettingsError(f"bad configuration: {name}: not JSON (lists and tables are JSON there, "
                                f"e.g. [\"a\", \"b\"])") from None
        self.add(values, lambda p: self.env_prefix + NESTED.join(str(k) for k in p).upper())

    def add_flags(self, flags: Mapping[str, tuple[Any, str]]) -> None:
        """`flags`: dotted key -> (value, flag name), only those the user passed (see `passed`)."""
        for key, (value, flag) in flags.items():
            self.add(_nest(key, value), lambda _p, flag=flag: flag)

    def get(self, key: str, default: Any = None) -> Any:
        node: Any = self.values
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        return node

    def default(self, key: str, value: Any) -> None:
        """A default that depends on other settings (the datadir of the network): used only where
        no source set the key."""
        if self.get(key) is None and value is not None:
            _set(self.values, tuple(key.split(".")), value)

    def where(self, loc: Path_) -> str | None:
        for n in range(len(loc), 0, -1):
            if loc[:n] in self.origins:
                return self.origins[loc[:n]]
        inside = [p for p in self.sources if loc and p[: len(loc)] == loc]  # a table, as a whole
        return self.sources[inside[-1]](loc) if inside else None

    def build(self, cls: type[S]) -> S:
        """The validated settings; SettingsError naming the key and its source otherwise."""
        try:
            return cls.model_validate(self.values)
        except ValidationError as e:
            raise SettingsError(self.explain(e)) from None

    def explain(self, e: ValidationError) -> str:
        first = e.errors()[0]
        loc = tuple(first.get("loc", ()))
        cause = (first.get("ctx") or {}).get("error")
        if isinstance(cause, Unsafe):
            keys = [tuple(k.split(".")) for k in cause.keys]
            given = [k for k in keys if k in self.origins]
            key = max(given, key=self._rank) if given else (keys[0] if keys else ())
            where = self.origins.get(key) or _dotted(key)
            return f"bad configuration: {where + ': ' if where else ''}{cause}"
        where = self.where(loc) or _dotted(loc)
        if isinstance(cause, Bad):
            return f"{where} {cause}"
        if first.get("type") in ("extra_forbidden", "unexpected_keyword_argument"):
            return f"bad configuration: {where}: unknown setting"
        msg = str(first.get("msg", "invalid")).removeprefix("Value error, ")
        value = first.get("input")
        if isinstance(value, (str, int, float)) and not isinstance(cause, ValueError):
            msg += f" (got {value!r})"
        return f"bad configuration: {where + ': ' if where else ''}{msg}"

    def _rank(self, key: Path_) -> int:
        """Flags outrank variables, variables outrank the file: name what the user typed last."""
        origin = self.origins[key]
        return 2 if origin.startswith("-") else 1 if origin.startswith(self.env_prefix) else 0


def load(cls: type[S], file: Path | None = None, flags: Mapping[str, tuple[Any, str]] | None = None, *,
         table: str | None = None) -> S:
    """`cls` from the file (its `[table]` when it has one), the environment and the flags."""
    return collect(cls, file, flags, table=table).build(cls)


def collect(cls: type[ComponentSettings], file: Path | None = None,
            flags: Mapping[str, tuple[Any, str]] | None = None, *, table: str | None = None) -> Layers:
    """The layers before validation, for a CLI that fills defaults derived from them (`default`)."""
    layers = Layers(str(cls.model_config.get("env_prefix", "")))
    if file is not None:
        layers.add_file(file, table)
    layers.add_env(cls)
    layers.add_flags(flags or {})
    return layers


def read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text())
    except OSError as e:
        raise SettingsError(f"cannot read config {path}: {e.strerror or e}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise SettingsError(f"config {path}: {e}") from None


def normalise(data: Mapping[str, Any]) -> dict[str, Any]:
    """`max-load` and `max_load` are the same key, at the top and in a table (not deeper: a table
    keyed by network names keeps its names)."""
    def keys(d: Mapping[str, Any]) -> dict[str, Any]:
        return {k.replace("-", "_"): v for k, v in d.items()}

    return {k: keys(v) if isinstance(v, dict) else v for k, v in keys(data).items()}


def passed(ctx: Any, **params: tuple[str, Any]) -> dict[str, tuple[Any, str]]:
    """The flags the user typed: `key=(parameter name, value)` -> `{key: (value, "--flag")}`.

    With the command's context (`ctx: typer.Context`) only parameters whose source is the command
    line count: a flag left at its default overrides nothing. Without one (called from Python),
    every value that is not None counts.
    """
    out: dict[str, tuple[Any, str]] = {}
    for key, (param, value) in params.items():
        if ctx is None or param not in ctx.params:
            if value is not None:
                out[key] = (value, "--" + param.replace("_", "-"))
        elif getattr(ctx.get_parameter_source(param), "name", None) == "COMMANDLINE":
            out[key] = (value, flag_name(ctx, param))
    return out


def flag_name(ctx: Any, param: str) -> str:
    for p in ctx.command.params:
        if p.name == param:
            longs = [o for o in p.opts if o.startswith("--")]
            return str(longs[0] if longs else p.opts[0])
    return "--" + param.replace("_", "-")


def _leaves(values: Mapping[str, Any], prefix: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    for key, value in values.items():
        if isinstance(value, dict) and value:
            yield from _leaves(value, (*prefix, key))
        else:
            yield (*prefix, key), value


def _set(target: dict[str, Any], path: Path_, value: Any) -> None:
    for part in path[:-1]:
        node = target.get(str(part))
        if not isinstance(node, dict):
            node = target[str(part)] = {}
        target = node
    target[str(path[-1])] = value


def _nest(key: str, value: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    _set(out, tuple(key.split(".")), value)
    return out


def _dotted(path: Path_) -> str:
    return ".".join(str(p) for p in path)
