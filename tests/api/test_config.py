"""`hashforge api` settings: --config TOML < HASHFORGE_API_* < flags given; bad or unsafe values are one
line naming their source, exit 2, before anything listens."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hashforge.api.cli import api_settings
from hashforge.api.settings import ApiSettings
from hashforge.cli import app
from hashforge.services.keys import KEYS_FILE
from hashforge.settings import load

# valid settings get as far as reading the node's cookie: this one does not exist, so the run stops
# there (exit 2) and the line says the settings themselves were accepted
NO_COOKIE = "cannot read node credentials"


def run_api(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, list[str]]:
    result = CliRunner().invoke(app, ["api", "--datadir", str(tmp_path), "--node-cookie", str(tmp_path / "none"),
                                      *args], env=env)
    return result.exit_code, result.stderr.strip().splitlines()


def test_file_then_environment_then_flags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "api.toml"
    f.write_text('port = 9000\nrate_per_s = 5\ncors_origins = ["http://a.example"]\nops = false\n'
                 'miner_api = "127.0.0.1:4028"\n')
    s = load(ApiSettings, f)
    assert (s.port, s.rate_per_s, s.cors_origins, s.ops, s.miner_api) == (
        9000, 5.0, ("http://a.example",), False, "127.0.0.1:4028")
    monkeypatch.setenv("HASHFORGE_API_PORT", "9001")
    monkeypatch.setenv("HASHFORGE_API_RATE_PER_S", "6")
    s = load(ApiSettings, f, {"rate_per_s": (7.0, "--rate")})
    assert (s.port, s.rate_per_s, s.ops) == (9001, 7.0, False)


def test_unsafe_binds_wherever_they_are_set(tmp_path: Path) -> None:
    f = tmp_path / "api.toml"
    f.write_text('host = "0.0.0.0"\nanonymous_read = true\n')
    refused = "anonymous reads are only allowed when the API binds a loopback address, not '0.0.0.0'"
    # --host's default does not undo the file's host: refused, naming the file
    code, lines = run_api(tmp_path, "--config", str(f))
    assert code == 2 and lines[0].startswith(f"error: bad configuration: {f}:") and refused in lines[0], lines
    code, lines = run_api(tmp_path, "--config", str(f), env={"HASHFORGE_API_HOST": "10.0.0.5"})
    assert code == 2 and lines == [f"error: bad configuration: HASHFORGE_API_HOST: {refused.replace('0.0.0.0', '10.0.0.5')}"
                                   "; mint a read key with `hashforge api-key create --scope read`"]
    # loopback from the environment, or from a flag: accepted (the run stops later, at the cookie)
    for env, args in (({"HASHFORGE_API_HOST": "127.0.0.1"}, ()), ({}, ("--host", "::1"))):
        code, lines = run_api(tmp_path, "--config", str(f), *args, env=env)
        assert code == 2 and len(lines) == 1 and NO_COOKIE in lines[0], lines
    code, lines = run_api(tmp_path, "--config", str(f), "--no-anonymous-read")
    assert code == 2 and NO_COOKIE in lines[0], lines  # off loopback with keys for every read: fine


@pytest.mark.parametrize(("toml", "env", "args", "line"), [
    ('port = "http"\n', {}, [], "bad configuration: {f}:port: Input should be a valid integer, unable to parse "
     "string as an integer (got 'http')"),
    ("rate_burst = true\n", {}, [], "bad configuration: {f}:rate_burst: must be a number, not true"),
    ("bogus = 1\n", {}, [], "bad configuration: {f}:bogus: unknown setting"),
    ("", {"HASHFORGE_API_PORT": "70000"}, [], "HASHFORGE_API_PORT must be 0..65535, not 70000"),
    ("", {"HASHFORGE_API_CORS_ORIGINS": "http://a.example"}, [], "bad configuration: HASHFORGE_API_CORS_ORIGINS: "
     "not JSON"),
    ("", {}, ["--port", "-1"], "--port must be 0..65535, not -1"),
    ("", {}, ["--rate", "0"], "bad configuration: --rate: Input should be greater than 0 (got 0.0)"),
    ("", {}, ["--cors-origin", "*"], "bad configuration: --cors-origin: CORS origins are explicit"),
    # (--log-level chatty: where accepted settings would stop, rather than serve)
    ("", {}, ["--node-rpc", "http://10.0.0.5:8332/", "--node-user", "u", "--node-password", "only-12chars",
              "--log-level", "chatty"],
     "bad configuration: --node-password: RPC off loopback ('10.0.0.5') needs a user and a password of 16+ "
     "characters"),
    ('node_rpc_url = "http://node.example:8332/"\n', {"HASHFORGE_API_NODE_USER": "u",
     "HASHFORGE_API_NODE_PASSWORD": "p" * 15}, ["--log-level", "chatty"], "bad configuration: HASHFORGE_API_NODE_PASSWORD: RPC off loopback "
     "('node.example')"),
])
def test_bad_values_name_their_source(tmp_path: Path, toml: str, env: dict[str, str], args: list[str],
                                      line: str) -> None:
    f = tmp_path / "api.toml"
    f.write_text(toml)
    code, lines = run_api(tmp_path, "--config", str(f), *args, env=env)
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: " + line.format(f=f)), lines
    assert not (tmp_path / "api_keys.sqlite3").exists()


def test_the_node_password_rule_is_the_nodes(tmp_path: Path) -> None:
    """A client holds the node's password to the node's own rule (hashforge.settings.remote_rpc_refusal):
    on loopback whatever the node was given, off loopback 16 characters at least."""
    # accepted: the run goes on past the settings, and stops at the log level (before any client)
    for url, password in (("http://127.0.0.1:18443/", "short"), ("http://10.0.0.5:8332/", "p" * 16)):
        code, lines = run_api(tmp_path, "--node-rpc", url, "--node-user", "u", "--node-password", password,
                              "--log-level", "chatty")
        assert code == 2 and len(lines) == 1 and lines[0].startswith("error: --log-level: "), lines
    s = ApiSettings(datadir=tmp_path, node_user="u", node_password="p" * 16, node_rpc_url="http://10.0.0.5:8332/")
    assert s.node_password == "p" * 16


def keys(*args: str | Path, env: dict[str, str] | None = None) -> tuple[int, str, list[str]]:
    result = CliRunner().invoke(app, ["api-key", *map(str, args)], env=env)
    return result.exit_code, result.stdout, result.stderr.strip().splitlines()


def test_key_commands_read_the_config_as_the_api_does(tmp_path: Path) -> None:
    """`hashforge api-key create|list|revoke --config api.toml` open the key table `hashforge api --config
    api.toml` serves with: the file's datadir, under $HASHFORGE_API_DATADIR, under a --datadir typed."""
    f = tmp_path / "api.toml"
    f.write_text(f'datadir = "{tmp_path / "from-file"}"\nport = 9000\n')
    assert api_settings(f, {}).keys_path == tmp_path / "from-file" / KEYS_FILE
    code, out, _ = keys("create", "--name", "ci", "--config", f, "--json")
    assert code == 0 and json.loads(out)["name"] == "ci"
    assert (tmp_path / "from-file" / KEYS_FILE).is_file()
    assert [k["name"] for k in json.loads(keys("list", "--config", f, "--json")[1])] == ["ci"]
    env = {"HASHFORGE_API_DATADIR": str(tmp_path / "from-env")}
    assert keys("create", "--name", "ops", "--config", f, env=env)[0] == 0
    assert [k["name"] for k in json.loads(keys("list", "--config", f, "--json", env=env)[1])] == ["ops"]
    listed = keys("list", "--config", f, "--datadir", tmp_path / "from-file", "--json", env=env)[1]
    assert [k["name"] for k in json.loads(listed)] == ["ci"]  # the flag typed wins
    assert keys("revoke", "--name", "ci", "--config", f)[0] == 0
    assert json.loads(keys("list", "--config", f, "--json")[1])[0]["revoked"]


@pytest.mark.parametrize(("toml", "line"), [
    ('port = "http"\n', "bad configuration: {f}:port: Input should be a valid integer"),
    ('network = "moon"\n', "bad configuration: {f}:network: unknown network 'moon'"),
])
def test_key_commands_refuse_a_bad_config_in_one_line(tmp_path: Path, toml: str, line: str) -> None:
    f = tmp_path / "api.toml"
    f.write_text(toml + f'datadir = "{tmp_path / "keys"}"\n')
    for command in (["create", "--name", "x"], ["list"], ["revoke", "--name", "x"]):
        code, _, lines = keys(*command, "--config", f)
        assert code == 2 and len(lines) == 1 and lines[0].startswith("error: " + line.format(f=f)), lines
    assert not (tmp_path / "keys").exists()
