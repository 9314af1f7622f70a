// hashforge dashboard: live updates over Server-Sent Events (/v1/events). No dependencies.
"use strict";

(function () {
  const $ = (sel, root = document) => root.querySelector(sel);
  const SI = ["", "k", "M", "G", "T", "P", "E", "Z", "Y"];

  function si(value, unit) {
    if (value === null || value === undefined || Number.isNaN(value)) return "–";
    if (value === 0) return ("0 " + unit).trim();
    if (Math.abs(value) < 0.01) return (value.toExponential(2) + " " + unit).trim();
    const exp = Math.min(SI.length - 1, Math.max(0, Math.floor(Math.log10(Math.abs(value)) / 3)));
    const scaled = value / Math.pow(1000, exp);
    return (Number(scaled.toPrecision(3)) + " " + SI[exp] + unit).trim();
  }
  const shortHash = (h) => h.slice(0, 8) + "…" + h.slice(-8);
  const utc = (t) => new Date(t * 1000).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");

  function ago(t) {
    const d = Math.floor(Date.now() / 1000 - t);
    if (d < -7200) return "in the future";
    if (d < 60) return Math.max(0, d) + " s ago";
    if (d < 3600) return Math.floor(d / 60) + " min ago";
    if (d < 86400) return Math.floor(d / 3600) + " h ago";
    return Math.floor(d / 86400) + " d ago";
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    for (const c of children) node.append(c);
    return node;
  }

  function setField(name, text) {
    document.querySelectorAll('[data-field="' + name + '"]').forEach((n) => { n.textContent = text; });
  }

  function announce(text) {
    const a = $("#announcer");
    if (a) a.textContent = text;
  }

  function timeEl(t) {
    const n = el("time", { datetime: new Date(t * 1000).toISOString(), "data-ts": String(t), title: utc(t) }, ago(t));
    return n;
  }

  function blockRow(b) {
    const link = el("a", { href: "/blocks/" + b.hash }, String(b.height));
    return el("tr", { "data-height": String(b.height), class: "fresh" },
      el("td", {}, link),
      el("td", {}, el("code", { title: b.hash }, shortHash(b.hash))),
      el("td", {}, timeEl(b.block_time)),
      el("td", { class: "num" }, String(b.tx_count)),
      el("td", { class: "num" }, si(b.difficulty, "")));
  }

  function addBlockRow(table, b) {
    const body = table.tBodies[0];
    if (!body || body.querySelector('tr[data-height="' + b.height + '"]')) {
      if (b.reorg) refreshSoon();
      return;
    }
    body.prepend(blockRow(b));
    const max = parseInt(table.dataset.maxRows || "10", 10);
    while (body.rows.length > max) body.deleteRow(body.rows.length - 1);
  }

  async function getJSON(url) {
    const r = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (!r.ok) throw new Error(url + ": HTTP " + r.status);
    return r.json();
  }

  async function refreshCharts() {
    for (const fig of document.querySelectorAll("figure[data-chart]")) {
      try {
        const r = await fetch(fig.dataset.chart, { credentials: "same-origin" });
        if (r.ok) fig.innerHTML = await r.text();
      } catch (e) { /* keep the old chart */ }
    }
  }

  async function refreshStats() {
    try {
      const m = await getJSON("/v1/chain/mining");
      setField("hashrate", si(m.network_hashrate_hps, "H/s"));
      setField("difficulty", si(m.difficulty, ""));
      setField("mempool", m.mempool_tx + " tx");
    } catch (e) { /* the next block retries */ }
  }

  let timer = null;
  function refreshSoon() {
    if (timer) return;
    timer = setTimeout(() => { timer = null; refreshStats(); refreshCharts(); }, 300);
  }

  function onBlock(b) {
    setField("height", String(b.height));
    setField("difficulty", si(b.difficulty, ""));
    const t = document.querySelector('[data-field="tip-time"]');
    if (t) t.replaceChildren(timeEl(b.block_time));
    const recent = $("#recent-blocks");
    if (recent) addBlockRow(recent, b);
    const list = $("#block-list[data-live]");
    if (list) addBlockRow(list, b);
    announce("New block " + b.height + (b.reorg ? " (reorganisation)" : ""));
    refreshSoon();
    poolSoon();
    refreshWallet();
  }

  const coins = (sat) => {
    const neg = sat < 0 ? "-" : "";
    const a = Math.abs(sat);
    return neg + Math.floor(a / 1e8).toLocaleString("en-US") + "." + String(a % 1e8).padStart(8, "0");
  };
  const present = (name) => document.body.dataset["has" + name] === "1";

  function statusBadge(word) { return el("span", { class: "status status-" + word }, word); }

  function workerRow(w) {
    return el("tr", { "data-worker": w.name },
      el("td", {}, el("a", { href: "/workers/" + w.name }, w.worker), " ",
        el("code", { class: "muted addr", title: w.address }, shortHash(w.address))),
      el("td", {}, statusBadge(w.status)),
      el("td", { class: "num" }, si(w.hashrate_hps, "H/s")),
      el("td", { class: "num" }, String(w.shares)),
      el("td", {}, timeEl(w.last_share)));
  }

  function foundRow(b) {
    return el("tr", { "data-pool-block": String(b.id) },
      el("td", {}, el("a", { href: "/blocks/" + b.hash }, String(b.height))),
      el("td", {}, statusBadge(b.status)),
      el("td", {}, el("a", { href: "/workers/" + b.worker }, b.worker.split(".").slice(1).join("."))),
      el("td", { class: "num" }, coins(b.reward_sat)),
      el("td", {}, timeEl(b.found_at)));
  }

  async function refreshPool() {
    if (!present("pool")) return;
    try {
      const s = await getJSON("/v1/pool/stats");
      setField("pool-hashrate", si(s.hashrate_hps, "H/s"));
      setField("pool-workers", s.workers + " / " + s.miners);
      setField("pool-blocks", String(s.blocks.pending + s.blocks.confirmed + s.blocks.orphaned));
      setField("pool-effort", s.effort === null ? "–" : (s.effort * 100).toFixed(1) + " %");
      const table = $("#worker-table");
      if (table) {
        const page = await getJSON("/v1/pool/workers?limit=100");
        const rows = page.items.sort((a, b) => b.hashrate_hps - a.hashrate_hps || a.name.localeCompare(b.name))
          .slice(0, parseInt(table.dataset.maxRows || "10", 10));
        table.tBodies[0].replaceChildren(...rows.map(workerRow));
        const none = $("#no-workers");
        if (none && rows.length) none.remove();
      }
      const found = $("#pool-blocks");
      if (found && !location.search) {
        const page = await getJSON("/v1/pool/blocks?limit=10");
        found.tBodies[0].replaceChildren(...page.items.map(foundRow));
      }
      const e = $('[data-field="earnings"]');
      if (e) {
        const est = await getJSON("/v1/pool/earnings");
        e.textContent = "≈ " + coins(est.sat_per_day);
        setField("earnings-rate", si(est.hashrate_hps, "H/s"));
      }
    } catch (err) { /* the next event retries */ }
  }

  async function refreshFarm() {
    if (!present("miner") || !$("#farm-stats")) return;
    try {
      const s = await getJSON("/v1/miner/summary");
      setField("farm-5s", si(s.hashrate.last_5s_hps, "H/s"));
      setField("farm-1m", si(s.hashrate.last_1m_hps, "H/s"));
      setField("farm-15m", si(s.hashrate.last_15m_hps, "H/s"));
      setField("farm-shares", s.accepted + " / " + s.rejected);
    } catch (err) { /* retried on the next tick */ }
  }

  async function refreshWallet() {
    if (!present("wallet") || !$("#wallet-balance")) return;
    try {
      const b = await getJSON("/v1/wallet/balance");
      setField("wallet-spendable", coins(b.spendable_sat));
      setField("wallet-immature", coins(b.immature_sat));
      setField("wallet-unconfirmed", coins(b.unconfirmed_sat));
    } catch (err) { /* retried on the next block */ }
  }

  let poolTimer = null;
  function poolSoon() {
    if (poolTimer) return;
    poolTimer = setTimeout(() => { poolTimer = null; refreshPool(); refreshCharts(); }, 2000);
  }

  function pushFeed(id, text, cls) {
    const feed = document.getElementById(id);
    if (!feed) return;
    const placeholder = feed.querySelector("li.muted");
    if (placeholder) placeholder.remove();
    feed.prepend(el("li", cls ? { class: cls } : {}, text));
    while (feed.children.length > 50) feed.lastElementChild.remove();
  }

  function setLive(state, text) {
    const s = $("#live-status");
    if (!s) return;
    s.dataset.state = state;
    $(".text", s).textContent = text;
  }

  // --- sign-in (begin): a closed stream may mean reads need a key and this browser has none ---
  async function offerSignIn() {
    let st;
    try { st = await getJSON("/login/status"); } catch (e) { return; }
    if (!st.needs_key || st.signed_in) return;
    const s = $("#live-status");
    if (!s) return;
    s.dataset.state = "down";
    if (document.body.dataset.page === "login") { $(".text", s).textContent = "Not signed in"; return; }
    const next = location.pathname + location.search;
    $(".text", s).replaceChildren("Not signed in · ",
      el("a", { href: "/login?next=" + encodeURIComponent(next), id: "sign-in-link" }, "Sign in"));
  }
  // --- sign-in (end) ---

  function connect() {
    if (!("EventSource" in window)) { setLive("down", "Live updates unsupported"); return; }
    const es = new EventSource("/v1/events?types=block,share,payout,alert");
    es.onopen = () => setLive("live", "Live");
    es.onerror = () => {
      setLive(es.readyState === EventSource.CLOSED ? "down" : "connecting", "Reconnecting…");
      if (es.readyState === EventSource.CLOSED) offerSignIn();
    };
    es.addEventListener("block", (e) => onBlock(JSON.parse(e.data)));
    es.addEventListener("share", (e) => {
      const s = JSON.parse(e.data);
      pushFeed("share-feed", (s.accepted ? "✓ " : "✗ ") + s.worker + " · diff " + si(s.difficulty, "") +
        (s.block ? " · BLOCK" : "") + (s.reason ? " · " + s.reason : ""));
      poolSoon();
    });
    es.addEventListener("payout", (e) => {
      const p = JSON.parse(e.data);
      pushFeed("payout-feed", p.status + ": " + coins(p.amount_sat) + (p.address ? " to " + p.address : " (batch)") +
        " · " + shortHash(p.txid));
    });
    es.addEventListener("alert", (e) => {
      const a = JSON.parse(e.data);
      pushFeed("alert-feed", a.level.toUpperCase() + " · " + a.source + ": " + a.message, "alert-" + a.level);
      if (a.source === "node") refreshSoon();
    });
  }

  // Keep "N s ago" labels fresh.
  setInterval(() => {
    document.querySelectorAll("time[data-ts]").forEach((n) => {
      const t = parseInt(n.dataset.ts, 10);
      if (!Number.isNaN(t)) n.textContent = ago(t);
    });
  }, 15000);

  setInterval(refreshFarm, 5000);
  setInterval(poolSoon, 30000);  // idle workers turn idle, hash rates decay without events
  connect();
})();
