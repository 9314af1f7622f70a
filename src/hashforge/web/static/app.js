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

  function connect() {
    if (!("EventSource" in window)) { setLive("down", "Live updates unsupported"); return; }
    const es = new EventSource("/v1/events?types=block,share,payout,alert");
    es.onopen = () => setLive("live", "Live");
    es.onerror = () => setLive(es.readyState === EventSource.CLOSED ? "down" : "connecting", "Reconnecting…");
    es.addEventListener("block", (e) => onBlock(JSON.parse(e.data)));
    es.addEventListener("share", (e) => {
      const s = JSON.parse(e.data);
      pushFeed("share-feed", (s.accepted ? "✓ " : "✗ ") + s.worker + " · diff " + si(s.difficulty, "") +
        (s.block ? " · BLOCK" : "") + (s.reason ? " · " + s.reason : ""));
    });
    es.addEventListener("payout", (e) => {
      const p = JSON.parse(e.data);
      pushFeed("payout-feed", p.status + ": " + (p.amount_sat / 1e8).toFixed(8) + " to " + p.address + " (" + shortHash(p.txid) + ")");
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

  connect();
})();
