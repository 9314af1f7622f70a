"""cgminer-compatible API: TCP, one request per connection, JSON or cgminer's text form.

Requests: ``{"command":"summary","parameter":""}`` (or text ``summary|param``); ``summary+devs``
asks several report commands at once. Replies follow cgminer's api.c: a STATUS array
(STATUS S/I/W/E, When, Code, Msg, Description) plus the named section (SUMMARY, DEVS, POOLS,
STATS, CONFIG, VERSION), ``"id":1``, and a trailing NUL byte. Field names are cgminer's.

Access (cgminer's --api-allow and --api-groups): read-only by default. Entries ``W:addr[/bits]``
may use every command, ``R:addr`` or a bare address only the reports, ``G:addr`` the commands of
group G defined by ``--api-groups G:cmd:cmd[:*]`` ('*': every report too; an undefined letter is
R). Without --api-allow only 127.0.0.1/::1 may connect, read-only. A command the address may not
use answers cgminer's "Access denied to '%s' command" (STATUS E, code 45) and does nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hashforge import __version__, jsonlimits

from .pools import PoolManager
from .sources import StratumSource, WorkSource

log = logging.getLogger("hashforge.miner.api")

API_VERSION = "3.7"
MINER_NAME = "hashforge"
REQUEST_LIMIT = 8192

# cgminer's message codes (api.c MSG_*)
MSG = {
    "POOL": 7, "NOPOOL": 8, "DEVS": 9, "NODEVS": 10, "SUMM": 11, "INVCMD": 14, "VERSION": 22,
    "INVJSON": 23, "MISCMD": 24, "MISPID": 25, "INVPID": 26, "SWITCHP": 27, "MINECONFIG": 33,
    "ACCDENY": 45, "ENAPOOL": 47, "DISPOOL": 48, "ALRENAP": 49, "ALRDISP": 50, "DISLASTP": 51,
    "MISPDP": 52, "INVPDP": 53, "ADDPOOL": 55, "REMLASTP": 66, "ACTPOOL": 67, "REMPOOL": 68,
    "MINESTATS": 70, "DEVDETAILS": 69, "ACCOK": 46,
}

Reply = tuple[Any, str | None, Any]  # (STATUS list, or "BYE"/"RESTART"; section name; section body)

REPORTS = ("version", "config", "summary", "devs", "pools", "stats", "devdetails")
# cgminer's write-mode commands (api.c `iswritemode`): all of them need W (or a group naming them),
# including those this miner does not implement, which a permitted caller gets "Invalid command" for
PRIVILEGED = (
    "switchpool", "enablepool", "disablepool", "addpool", "removepool", "poolpriority", "poolquota", "restart",
    "quit", "privileged", "save", "setconfig", "failover-only", "debug", "zero", "hotplug", "lockstats",
    "gpuenable", "gpudisable", "gpurestart", "gpuintensity", "gpumem", "gpuengine", "gpufan", "gpuvddc",
    "pgaenable", "pgadisable", "pgaidentify", "pgaset", "procset", "cpuenable", "cpudisable", "cpurestart",
    "ascenable", "ascdisable", "ascidentify", "ascset",
)
WRITE, READ = "W", "R"


@dataclass(frozen=True)
class Access:
    network: ipaddress.IPv4Network | ipaddress.IPv6Network
    group: str  # W: every command, R: the reports, or a letter defined by --api-groups

    @property
    def privileged(self) -> bool:
        return self.group == WRITE


def parse_groups(entries: tuple[str, ...] | list[str]) -> dict[str, frozenset[str]]:
    """cgminer's --api-groups: ``P:switchpool:enablepool:*,Q:quit`` -> {"P": {...}, "Q": {...}}
    ('*' adds every report); ValueError for a bad letter, a duplicate or an unknown command."""
    out: dict[str, frozenset[str]] = {}
    for raw in (e for entry in entries for e in entry.split(",")):
        item = raw.strip()
        if not item:
            continue
        letter, sep, rest = item.partition(":")
        letter = letter.upper()
        if not sep or len(letter) != 1 or not "A" <= letter <= "Z":
            raise ValueError(f"invalid API group {item!r} (G:command:command[:*])")
        if letter in (WRITE, READ):
            raise ValueError(f"API group name can't be {letter!r} (W and R are built in)")
        if letter in out:
            raise ValueError(f"API group {letter!r} is defined twice")
        commands: set[str] = set()
        for name in (c.strip().lower() for c in rest.split(":") if c.strip()):
            if name == "*":
                commands.update(REPORTS)
            elif name in REPORTS or name in PRIVILEGED:
                commands.add(name)
            else:
                raise ValueError(f"unknown command {name!r} in API group {letter!r}")
        out[letter] = frozenset(commands)
    return out


def parse_allow(entries: tuple[str, ...] | list[str], groups: tuple[str, ...] = ()) -> list[Access]:
    """cgminer's --api-allow list: ``W:192.168.0.1,10.0.0/24,R:127.0.0.1`` (a letter that names no
    group in `groups`, the --api-groups letters, reads only, as in cgminer)."""
    out = []
    for raw in entries:
        item = raw.strip()
        if not item:
            continue
        group = READ
        if len(item) > 2 and item[1] == ":" and item[0].isalpha():
            letter = item[0].upper()
            group = letter if letter == WRITE or letter in groups else READ
            item = item[2:]
        addr, _, bits = item.partition("/")
        if ":" not in addr:  # cgminer pads "10.0.0" to "10.0.0.0"
            parts = addr.split(".")
            if addr in ("0", "") and bits == "0":
                parts = ["0"]
            addr = ".".join(parts + ["0"] * (4 - len(parts)))
            if not bits:
                bits = "32" if len(parts) == 4 else str(8 * len(parts))
        out.append(Access(ipaddress.ip_network(f"{addr}/{bits or (128 if ':' in addr else 32)}", strict=False),
                          group))
    return out


class MinerAPI:
    """Serves the API for a Miner (anything with the Miner's attributes, see core.Miner)."""

    def __init__(self, miner: Any, listen: str = "127.0.0.1:4028", allow: tuple[str, ...] = (),
                 description: str = "", groups: tuple[str, ...] = ()) -> None:
        self.miner = miner
        host, _, port = listen.rpartition(":")
        self.host = host.strip("[]") or "127.0.0.1"
        self.port = int(port)
        self.groups = parse_groups(groups)
        self.allow = parse_allow(allow, tuple(self.groups))
        self.description = description or f"{MINER_NAME} {__version__}"
        self.server: asyncio.base_events.Server | None = None
        self._commands: dict[str, Callable[[str], Reply]] = {
            "version": self._version, "config": self._config, "summary": self._summary, "devs": self._devs,
            "pools": self._pools, "stats": self._stats, "devdetails": self._devdetails,
            "switchpool": self._switchpool, "enablepool": self._enablepool, "disablepool": self._disablepool,
            "addpool": self._addpool, "removepool": self._removepool, "restart": self._restart, "quit": self._quit,
            "privileged": self._privileged,
        }

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._client, self.host, self.port, limit=REQUEST_LIMIT)
        sock = self.server.sockets[0]
        self.port = int(sock.getsockname()[1])
        log.info("cgminer API on %s:%d", self.host, self.port)
        return self.port

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(Exception):
                await self.server.wait_closed()
            self.server = None

    # --- access ---------------------------------------------------------------------------

    def access(self, peer: str) -> str | None:
        """The peer's group (W, R or an --api-groups letter), or None: not even a connection."""
        try:
            ip = ipaddress.ip_address(peer.split("%")[0])
        except ValueError:
            return None
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if not self.allow:
            return READ if ip.is_loopback else None
        for a in self.allow:
            if ip.version == a.network.version and ip in a.network:
                return a.group
        return None

    def permitted(self, command: str, group: str) -> bool:
        """Whether `group` may run `command` (cgminer's rule: W everything, R the reports)."""
        if group == WRITE:
            return True
        if group in self.groups:
            return command in self.groups[group]
        return command not in PRIVILEGED

    # --- connection -----------------------------------------------------------------------

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        level = self.access(str(peer[0])) if peer else None
        try:
            if level is None:
                log.warning("API: refused connection from %s", peer)
                return
            data = await self._read_request(reader)
            out = self.handle(data.decode("utf-8", "replace"), group=level)
            writer.write(out.encode() + b"\x00")
            await writer.drain()
        except (OSError, TimeoutError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    @staticmethod
    async def _read_request(reader: asyncio.StreamReader) -> bytes:
        buf = b""
        deadline = time.monotonic() + 5.0
        while len(buf) < REQUEST_LIMIT:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                chunk = await asyncio.wait_for(reader.read(REQUEST_LIMIT - len(buf)), min(left, 0.5 if buf else left))
            except TimeoutError:
                break
            if not chunk:
                break
            buf += chunk
            text = buf.strip(b"\x00 \r\n")
            if not text.startswith(b"{") or b"\n" in buf or b"\x00" in buf:
                break
            try:
                jsonlimits.loads(text)
                break
            except ValueError:
                continue
        return buf.strip(b"\x00 \r\n")

    # --- dispatch -------------------------------------------------------------------------

    def handle(self, request: str, group: str) -> str:
        """The reply text for one request (JSON when the request was JSON)."""
        isjson = request.lstrip().startswith("{")
        if isjson:
            try:
                obj = jsonlimits.loads(request)
                if not isinstance(obj, dict):
                    raise ValueError
            except ValueError:
                return self._encode(self._status("E", MSG["INVJSON"], "Invalid JSON"), None, None, True)
            if "command" not in obj:
                return self._encode(self._status("E", MSG["MISCMD"], "Missing JSON 'command'"), None, None, True)
            command, param = str(obj["command"]), obj.get("parameter", "")
            param = "" if param is None else str(param)
        else:
            command, _, param = request.strip().partition("|")
        if "+" in command:
            return self._multi(command, group, isjson)
        status, section, body = self._run(command.strip().lower(), param, group)
        return self._encode(status, section, body, isjson)

    def _run(self, command: str, param: str, group: str) -> Reply:
        fn = self._commands.get(command)
        if fn is None and command not in PRIVILEGED:
            return self._status("E", MSG["INVCMD"], "Invalid command", describe=False), None, None
        if not self.permitted(command, group):
            log.info("API: denied %r to a group %s caller", command, group)
            return self._status("E", MSG["ACCDENY"], f"Access denied to '{command}' command"), None, None
        if fn is None:  # a cgminer command this miner has no use for (no GPU/PGA/ASC knobs)
            return self._status("E", MSG["INVCMD"], "Invalid command", describe=False), None, None
        return fn(param)

    def _multi(self, command: str, group: str, isjson: bool) -> str:
        names = list(dict.fromkeys(c.strip().lower() for c in command.split("+") if c.strip()))
        if not isjson:
            return "".join(f"CMD={n}|" + self._encode(*self._multi_one(n, group), False) for n in names)
        out: dict[str, Any] = {}
        for n in names:
            status, section, body = self._multi_one(n, group)
            part: dict[str, Any] = {"STATUS": status}
            if section is not None:
                part[section] = body
            part["id"] = 1
            out[n] = [part]
        out["id"] = 1
        return json.dumps(out, separators=(",", ":"))

    def _multi_one(self, name: str, group: str) -> Reply:
        if name not in REPORTS:
            return self._status("E", MSG["INVCMD"], "Invalid command", describe=False), None, None
        return self._run(name, "", group)

    def _status(self, sev: str, code: int, msg: str, describe: bool = True) -> Any:
        st: dict[str, Any] = {"STATUS": sev, "When": int(time.time()), "Code": code, "Msg": msg}
        if describe:
            st["Description"] = self.description
        return [st]

    @staticmethod
    def _encode(status: Any, section: str | None, body: Any, isjson: bool) -> str:
        if isjson:
            out: dict[str, Any] = {"STATUS": status}
            if section is not None:
                out[section] = body
            out["id"] = 1
            return json.dumps(out, separators=(",", ":"))
        if isinstance(status, str):
            return status
        text = "|".join(_text_record(s) for s in status) + "|"
        if section is not None and isinstance(body, list):
            text += "".join(_text_record(r) + "|" for r in body)
        return text

    # --- reports --------------------------------------------------------------------------

    def _version(self, _p: str) -> Reply:
        return self._status("S", MSG["VERSION"], "CGMiner versions"), "VERSION", [
            {"CGMiner": __version__, "API": API_VERSION, "Miner": f"{MINER_NAME} {__version__}"}]

    def _config(self, _p: str) -> Reply:
        m = self.miner
        return self._status("S", MSG["MINECONFIG"], "CGMiner config"), "CONFIG", [{
            "ASC Count": 0,
            "PGA Count": 0,
            "CPU Count": sum(1 for d in m.devices if d.driver == "cpu"),
            "GPU Count": sum(1 for d in m.devices if d.driver != "cpu"),
            "Pool Count": len(m.pools.pools),
            "Strategy": m.pools.strategy.cgminer_name,
            "Log Interval": int(m.cfg.log_interval),
            "Device Code": " ".join(sorted({d.driver.upper() for d in m.devices})),
            "OS": platform.system(),
            "Hotplug": "None",
            "Algorithm": m.cfg.algo,
        }]

    def _summary(self, _p: str) -> Reply:
        m = self.miner
        s = m.totals.shares
        elapsed = max(m.uptime, 1e-9)
        rates = m.total_rates()
        total_mh = m.total_hashes() / 1e6
        diff1 = sum(d.stats.diff1_work for d in m.devices)
        hw = m.hardware_errors()
        dtot = s.diff_accepted + s.diff_rejected + s.diff_stale
        return self._status("S", MSG["SUMM"], "Summary"), "SUMMARY", [{
            "Elapsed": int(elapsed),
            "MHS av": _r(total_mh / elapsed),
            "MHS 5s": _r(rates["5s"] / 1e6),
            "MHS 1m": _r(rates["1m"] / 1e6),
            "MHS 5m": _r(rates["5m"] / 1e6),
            "MHS 15m": _r(rates["15m"] / 1e6),
            "Found Blocks": s.blocks,
            "Getworks": sum(p.jobs_received for p in m.pools.pools),
            "Accepted": s.accepted,
            "Rejected": s.rejected,
            "Hardware Errors": hw,
            "Utility": _r(s.accepted / elapsed * 60),
            "Discarded": sum(p.discarded for p in m.pools.pools),
            "Stale": s.stale,
            "Get Failures": sum(p.get_failures for p in m.pools.pools),
            "Local Work": sum(p.jobs_received for p in m.pools.pools),
            "Remote Failures": sum(p.remote_failures for p in m.pools.pools),
            "Network Blocks": m.totals.network_blocks,
            "Total MH": _r(total_mh),
            "Work Utility": _r(diff1 / elapsed * 60),
            "Difficulty Accepted": _r(s.diff_accepted),
            "Difficulty Rejected": _r(s.diff_rejected),
            "Difficulty Stale": _r(s.diff_stale),
            "Best Share": _r(s.best_share),
            "Device Hardware%": _r(100.0 * hw / (hw + diff1) if hw + diff1 else 0.0),
            "Device Rejected%": _r(100.0 * s.diff_rejected / diff1 if diff1 else 0.0),
            "Pool Rejected%": _r(100.0 * s.diff_rejected / dtot if dtot else 0.0),
            "Pool Stale%": _r(100.0 * s.diff_stale / dtot if dtot else 0.0),
            "Last getwork": int(time.time()),
        }]

    def _dev_record(self, i: int, d: Any) -> dict[str, Any]:
        st = d.stats
        sh = st.shares
        elapsed = max(st.uptime, 1e-9)
        rates = st.meter.rates()
        tel = d.last_telemetry
        hw = st.hardware_errors
        kind = "CPU" if d.driver == "cpu" else "GPU"
        return {
            kind: d.index,
            "Name": d.driver.upper(),
            "ID": d.index,
            "Enabled": "Y" if d.enabled else "N",
            "Status": d.status,
            "Temperature": tel.temperature,
            "Power": tel.power,
            "MHS av": _r(st.meter.total / 1e6 / elapsed),
            "MHS 5s": _r(rates["5s"] / 1e6),
            "MHS 1m": _r(rates["1m"] / 1e6),
            "MHS 5m": _r(rates["5m"] / 1e6),
            "MHS 15m": _r(rates["15m"] / 1e6),
            "Accepted": sh.accepted,
            "Rejected": sh.rejected,
            "Stale": sh.stale,
            "Hardware Errors": hw,
            "Utility": _r(sh.accepted / elapsed * 60),
            "Last Share Pool": -1 if not sh.last_share_time else 0,
            "Last Share Time": int(sh.last_share_time),
            "Total MH": _r(st.meter.total / 1e6),
            "Diff1 Work": _r(st.diff1_work),
            "Difficulty Accepted": _r(sh.diff_accepted),
            "Difficulty Rejected": _r(sh.diff_rejected),
            "Last Share Difficulty": _r(sh.last_share_difficulty),
            "Best Share": _r(sh.best_share),
            "Last Valid Work": int(st.last_valid_work),
            "Device Hardware%": _r(100.0 * hw / (hw + st.diff1_work) if hw + st.diff1_work else 0.0),
            "Device Rejected%": _r(100.0 * sh.diff_rejected / st.diff1_work if st.diff1_work else 0.0),
            "Device Elapsed": int(elapsed),
            "Throttle": d.throttle.state,
            "Duty": _r(d.throttle.duty * 100),
        }

    def _devs(self, _p: str) -> Reply:
        m = self.miner
        if not m.devices:
            return self._status("E", MSG["NODEVS"], "No CPUs"), None, None
        n = len(m.devices)
        return (self._status("S", MSG["DEVS"], f"{n} CPU(s)" if all(d.driver == "cpu" for d in m.devices)
                             else f"{n} Device(s)"), "DEVS", [self._dev_record(i, d) for i, d in enumerate(m.devices)])

    def _devdetails(self, _p: str) -> Reply:
        rows = [{"DEVDETAILS": i, "Name": d.driver.upper(), "ID": d.index, **d.describe()}
                for i, d in enumerate(self.miner.devices)]
        return self._status("S", MSG["DEVDETAILS"], "Device Details"), "DEVDETAILS", rows

    def _pool_record(self, p: WorkSource) -> dict[str, Any]:
        s = p.shares
        dtot = s.diff_accepted + s.diff_rejected + s.diff_stale
        stratum = isinstance(p, StratumSource)
        active = isinstance(p, StratumSource) and p.connected
        return {
            "POOL": p.index,
            "URL": p.url,
            "Status": p.status.value if p.enabled else "Disabled",
            "Priority": p.priority,
            "Quota": p.quota,
            "Long Poll": "Y" if p.has_gbt else "N",
            "Getworks": p.jobs_received,
            "Accepted": s.accepted,
            "Rejected": s.rejected,
            "Works": p.jobs_received,
            "Discarded": p.discarded,
            "Stale": s.stale,
            "Get Failures": p.get_failures,
            "Remote Failures": p.remote_failures,
            "User": p.user,
            "Last Share Time": int(s.last_share_time),
            "Diff1 Shares": _r(s.diff_accepted),
            "Proxy Type": "",
            "Proxy": "",
            "Difficulty Accepted": _r(s.diff_accepted),
            "Difficulty Rejected": _r(s.diff_rejected),
            "Difficulty Stale": _r(s.diff_stale),
            "Last Share Difficulty": _r(s.last_share_difficulty),
            "Work Difficulty": _r(p.difficulty),
            "Has Stratum": stratum,
            "Stratum Active": active,
            "Stratum URL": f"{p.host}:{p.port}" if isinstance(p, StratumSource) and active else "",
            "Stratum Difficulty": _r(p.difficulty if active else 0.0),
            "Has Vmask": bool(p.version_mask),
            "Has GBT": p.has_gbt,
            "Best Share": _r(s.best_share),
            "Pool Rejected%": _r(100.0 * s.diff_rejected / dtot if dtot else 0.0),
            "Pool Stale%": _r(100.0 * s.diff_stale / dtot if dtot else 0.0),
            "Bad Work": 0,
            "Current Block Height": p.current_height,
            "Current Block Version": p.current.job.version if p.current else 0,
            "Reject Reasons": dict(s.reasons),
            "Message": p.message,
        }

    def _pools(self, _p: str) -> Reply:
        pools = self.miner.pools.pools
        if not pools:
            return self._status("E", MSG["NOPOOL"], "No pools"), None, None
        return self._status("S", MSG["POOL"], f"{len(pools)} Pool(s)"), "POOLS", [self._pool_record(p) for p in pools]

    def _stats(self, _p: str) -> Reply:
        m = self.miner
        rows: list[dict[str, Any]] = []
        elapsed = int(m.uptime)
        for d in m.devices:
            tel = d.last_telemetry
            rows.append({"STATS": len(rows), "ID": d.name, "Elapsed": elapsed, "Calls": 0, "Wait": 0.0,
                         "Max": 0.0, "Min": 99999999.0, **d.describe(),
                         "Temperature": tel.temperature, "Power": tel.power, "Fan": tel.fan,
                         "Throttle": d.throttle.state, "Duty": _r(d.throttle.duty * 100)})
        for p in m.pools.pools:
            rows.append({"STATS": len(rows), "ID": f"POOL{p.index}", "Elapsed": elapsed, "Calls": 0, "Wait": 0.0,
                         "Max": 0.0, "Min": 99999999.0, "Pool Calls": p.jobs_received,
                         "Pool Attempts": p.jobs_received + p.get_failures, "Work Diff": _r(p.difficulty),
                         "Min Diff": _r(p.difficulty), "Max Diff": _r(p.difficulty),
                         "Times Sent": s_sent(p), "Times Recv": p.jobs_received})
        return self._status("S", MSG["MINESTATS"], "CGMiner stats"), "STATS", rows

    # --- privileged -----------------------------------------------------------------------

    def _pool_arg(self, param: str) -> tuple[WorkSource | None, Any]:
        pm: PoolManager = self.miner.pools
        if param.strip() == "":
            return None, self._status("E", MSG["MISPID"], "Missing pool id parameter")
        try:
            return pm.pool(int(param)), None
        except (ValueError, KeyError):
            top = max((p.index for p in pm.pools), default=-1)
            return None, self._status("E", MSG["INVPID"], f"Invalid pool id {param} - range is 0 - {top}")

    def _switchpool(self, param: str) -> Reply:
        p, err = self._pool_arg(param)
        if p is None:
            return err or [], None, None
        self.miner.pools.switch_pool(p.index)
        return self._status("S", MSG["SWITCHP"], f"Switching to pool {p.index}:'{p.url}'"), None, None

    def _enablepool(self, param: str) -> Reply:
        p, err = self._pool_arg(param)
        if p is None:
            return err or [], None, None
        if not self.miner.pools.enable_pool(p.index):
            return self._status("I", MSG["ALRENAP"], f"Pool {p.index}:'{p.url}' already enabled"), None, None
        return self._status("S", MSG["ENAPOOL"], f"Enabling pool {p.index}:'{p.url}'"), None, None

    def _disablepool(self, param: str) -> Reply:
        p, err = self._pool_arg(param)
        if p is None:
            return err or [], None, None
        pm: PoolManager = self.miner.pools
        if not p.enabled:
            return self._status("I", MSG["ALRDISP"], f"Pool {p.index}:'{p.url}' already disabled"), None, None
        if sum(1 for q in pm.pools if q.enabled) <= 1:
            return self._status("E", MSG["DISLASTP"], f"Cannot disable last active pool {p.index}:'{p.url}'"), None, None
        pm.disable_pool(p.index)
        return self._status("S", MSG["DISPOOL"], f"Disabling pool {p.index}:'{p.url}'"), None, None

    def _addpool(self, param: str) -> Reply:
        if not param.strip():
            return self._status("E", MSG["MISPDP"], "Missing addpool details"), None, None
        parts = _split_escaped(param)
        if len(parts) != 3 or not parts[0]:
            return self._status("E", MSG["INVPDP"], f"Invalid addpool details '{param}'"), None, None
        pm: PoolManager = self.miner.pools
        cfg = self.miner.cfg
        try:
            src = StratumSource(pm.next_index(), parts[0], parts[1], parts[2], algo=cfg.algo,
                                version_rolling=cfg.version_rolling, backoff=cfg.backoff,
                                ntime_window=cfg.ntime_window, tls_verify=cfg.tls_verify)
        except ValueError:
            return self._status("E", MSG["INVPDP"], f"Invalid addpool details '{param}'"), None, None
        pm.add_pool(src)
        return self._status("S", MSG["ADDPOOL"], f"Added pool {src.index}: '{src.url}'"), None, None

    def _removepool(self, param: str) -> Reply:
        p, err = self._pool_arg(param)
        if p is None:
            return err or [], None, None
        pm: PoolManager = self.miner.pools
        if len(pm.pools) <= 1:
            return self._status("E", MSG["REMLASTP"], f"Cannot remove last pool {p.index}:'{p.url}'"), None, None
        if p.index in pm.active:
            return self._status("E", MSG["ACTPOOL"], f"Cannot remove active pool {p.index}:'{p.url}'"), None, None
        pm.remove_pool(p.index)
        return self._status("S", MSG["REMPOOL"], f"Removed pool {p.index}:'{p.url}'"), None, None

    def _privileged(self, _p: str) -> Reply:
        """cgminer's way for a client to ask whether it has write access (denied otherwise)."""
        return self._status("S", MSG["ACCOK"], "Privileged access OK"), None, None

    def _restart(self, _p: str) -> Reply:
        asyncio.get_running_loop().call_later(0.05, self.miner.restart)
        return _action("RESTART")

    def _quit(self, _p: str) -> Reply:
        asyncio.get_running_loop().call_later(0.05, self.miner.quit)
        return _action("BYE")


def _action(word: str) -> Reply:
    """cgminer answers quit/restart with {"STATUS":"BYE","id":1} - a string, not an array."""
    return word, None, None


def s_sent(p: WorkSource) -> int:
    s = p.shares
    return s.accepted + s.rejected + s.stale


def _r(x: float) -> float:
    return round(float(x), 6)


def _split_escaped(param: str) -> list[str]:
    """cgminer's comma list where '\\,' is a literal comma."""
    out, cur, esc = [], "", False
    for ch in param:
        if esc:
            cur += ch
            esc = False
        elif ch == "\\":
            esc = True
        elif ch == ",":
            out.append(cur)
            cur = ""
        else:
            cur += ch
    out.append(cur)
    return out


def _text_record(rec: dict[str, Any]) -> str:
    def esc(v: Any) -> str:
        s = "" if v is None else (("true" if v else "false") if isinstance(v, bool) else str(v))
        for ch in "\\|,=":
            s = s.replace(ch, "\\" + ch)
        return s
    return ",".join(f"{k}={esc(v)}" for k, v in rec.items())
