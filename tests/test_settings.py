"""hashforge.settings: file < environment < flags, per key; a bad value named by its source."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import pytest
from pydantic import model_validator
from pydantic_settings import SettingsConfigDict

from hashforge.settings import (
    PORT,
    ComponentSettings,
    SettingsError,
    Unsafe,
    collect,
    is_loopback,
    load,
    normalise,
    remote_rpc_refusal,
    url_host,
)


@dataclass(frozen=True)
class Section:
    size: int = 1
    name: str = "a"


class Demo(ComponentSettings):
    model_config = SettingsConfigDict(env_prefix="HASHFORGE_DEMO_")

    port: Annotated[int, PORT] = 1000
    host: str = "127.0.0.1"
    tags: tuple[str, ...] = ()
    section: Section = Section()

    @model_validator(mode="after")
    def _safe(self) -> Demo:
        if self.section.size > 10 and not is_loopback(self.host):
            raise Unsafe("a big section off loopback", "section.size", "host")
        return self


def test_each_key_comes_from_the_last_source_that_set_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "demo.toml"
    f.write_text('port = 1\nhost = "::1"\ntags = ["x"]\n[section]\nsize = 2\nname = "file"\n')
    assert load(Demo, f) == Demo(port=1, host="::1", tags=("x",), section=Section(2, "file"))
    monkeypatch.setenv("HASHFORGE_DEMO_PORT", "2")
    monkeypatch.setenv("HASHFORGE_DEMO_SECTION__NAME", "env")
    monkeypatch.setenv("HASHFORGE_DEMO_TAGS", '["y", "z"]')
    s = load(Demo, f, {"port": (3, "--port")})
    assert (s.port, s.host, s.tags, s.section) == (3, "::1", ("y", "z"), Section(2, "env"))
    assert load(Demo, None).section == Section(1, "env")  # no file: defaults under the environment


@pytest.mark.parametrize(("toml", "env", "flags", "line"), [
    ('port = "x"\n', {}, {}, "bad configuration: {f}:port: Input should be a valid integer, unable to parse "
     "string as an integer (got 'x')"),
    ("port = 0\n", {}, {}, "{f}:port must be 1..65535, not 0"),
    ("[section]\nsize = 1.5\n", {}, {}, "bad configuration: {f}:section.size: Input should be a valid integer, "
     "got a number with a fractional part (got 1.5)"),
    ("[section]\nbogus = 1\n", {}, {}, "bad configuration: {f}:section.bogus: unknown setting"),
    ("", {"HASHFORGE_DEMO_PORT": "many"}, {}, "bad configuration: HASHFORGE_DEMO_PORT: Input should be a valid "
     "integer, unable to parse string as an integer (got 'many')"),
    ("", {"HASHFORGE_DEMO_TAGS": "x,y"}, {}, 'bad configuration: HASHFORGE_DEMO_TAGS: not JSON (lists and tables '
     'are JSON there, e.g. ["a", "b"])'),
    ("port = 5\n", {}, {"port": (70000, "--port")}, "--port must be 1..65535, not 70000"),
    # a check over two keys names the one set last: the flag, then the variable, then the file
    ("[section]\nsize = 11\n", {}, {"host": ("0.0.0.0", "--host")},
     "bad configuration: --host: a big section off loopback"),
    ("[section]\nsize = 11\n", {"HASHFORGE_DEMO_HOST": "10.0.0.1"}, {},
     "bad configuration: HASHFORGE_DEMO_HOST: a big section off loopback"),
    ('host = "10.1.1.1"\n[section]\nsize = 11\n', {}, {},
     "bad configuration: {f}:section.size: a big section off loopback"),
])
def test_a_bad_value_is_one_line_naming_its_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, toml: str,
                                                    env: dict[str, str], flags: dict[str, tuple[object, str]],
                                                    line: str) -> None:
    f = tmp_path / "demo.toml"
    f.write_text(toml)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(SettingsError) as info:
        load(Demo, f, flags)
    assert str(info.value) == line.format(f=f)


def test_unreadable_files_and_derived_defaults(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"cannot read config .*missing\.toml"):
        load(Demo, tmp_path / "missing.toml")
    (tmp_path / "broken.toml").write_text("port = = 1\n")
    with pytest.raises(SettingsError, match=r"^config .*broken.toml: "):
        load(Demo, tmp_path / "broken.toml")
    layers = collect(Demo, None, {"host": ("::1", "--host")})
    layers.default("host", "10.0.0.1")  # set by a flag: the derived default does not apply
    layers.default("port", 4242)
    assert (layers.build(Demo).host, layers.build(Demo).port) == ("::1", 4242)


def test_dashes_and_underscores_name_the_same_key_but_not_inside_free_tables() -> None:
    assert normalise({"max-load": 1, "vardiff": {"min-difficulty": {"litecoin-regtest": 1}}}) == {
        "max_load": 1, "vardiff": {"min_difficulty": {"litecoin-regtest": 1}}}


def test_one_rule_for_rpc_passwords() -> None:
    """The node's rule for the address it binds, and its clients' for the URL they send a password to."""
    assert remote_rpc_refusal("127.0.0.1", None) is None and remote_rpc_refusal("localhost", "x") is None
    assert remote_rpc_refusal("0.0.0.0", "p" * 16) is None
    for password in (None, "", "p" * 15):
        assert remote_rpc_refusal("10.0.0.5", password) == (
            "RPC off loopback ('10.0.0.5') needs a user and a password of 16+ characters (the cookie is readable "
            "only on the node's machine)")
    assert [url_host(u) for u in ("http://u:p@[::1]:8332/", "10.0.0.5:8332", "https://node.example/")] == [
        "::1", "10.0.0.5", "node.example"]
