/* hashforge browser miner: the /mine page. Connects to the pool's WebSocket Stratum port, runs
   N hashing Web Workers (worker.js), submits their shares, and respects the device: throttle,
   pause while the page is hidden, stop on low battery or when charging stops. */
(function () {
  "use strict";
  const root = document.getElementById("webmine");
  if (!root) return;
  const S = window.HFStratum;
  const $ = (id) => document.getElementById(id);
  const cfg = {
    ws: root.dataset.ws, algo: root.dataset.algo, difficulty: Number(root.dataset.difficulty),
    reward: Number(root.dataset.reward), hpd: Number(root.dataset.hpd),
    workerUrl: root.dataset.workerUrl, wasmUrl: root.dataset.wasmUrl,
  };
  const engineWanted = new URLSearchParams(location.search).get("engine") === "js" ? "js" : "auto";
  const WINDOW_MS = 5000;

  const st = {
    state: "idle", client: null, workers: [], en1: null, en2Size: 8, job: null, difficulty: 1, user: "",
    accepted: 0, rejected: 0, hashes: 0, samples: [], manualPause: false, hidden: document.hidden,
    work: new Map(), seq: 0, rolls: [], battery: null, wasCharging: null,
  };

  /* Expected satoshis a day at `hps`: H x 86400 x R / (D x hashes per difficulty 1), as the API's earnings. */
  function expectedSatPerDay(hps) {
    if (!(cfg.difficulty > 0) || !(hps > 0)) return 0;
    return hps * 86400 * cfg.reward / (cfg.difficulty * cfg.hpd);
  }

  function fmtRate(h) {
    const units = ["H/s", "kH/s", "MH/s", "GH/s"];
    let i = 0;
    while (h >= 1000 && i < units.length - 1) { h /= 1000; i++; }
    return `${h.toFixed(h < 10 && i > 0 ? 2 : 0)} ${units[i]}`;
  }

  function fmtSat(x) {
    if (x === 0) return "0 sat/day";
    if (x >= 1000) return `${Math.round(x).toLocaleString("en")} sat/day`;
    return `${Number(x.toPrecision(3))} sat/day`;
  }

  function message(text) { $("m-message").textContent = text; }

  function setState(s) {
    st.state = s;
    const el = $("m-state");
    el.textContent = s;
    el.dataset.state = s;
    const active = s === "mining" || s === "paused" || s === "connecting";
    $("m-start").disabled = active || !cfg.ws;
    $("m-stop").disabled = !active;
    $("m-pause").disabled = !(s === "mining" || s === "paused");
    for (const id of ["m-address", "m-worker", "m-threads"]) $(id).disabled = active;
  }

  function hashrate() {
    const now = performance.now();
    while (st.samples.length && now - st.samples[0][0] > WINDOW_MS) st.samples.shift();
    if (!st.samples.length || st.state !== "mining") return 0;
    const total = st.samples.reduce((n, s) => n + s[1], 0);
    return total / (Math.max(1000, now - st.samples[0][0] + st.samples[0][2]) / 1000);
  }

  function render() {
    const h = hashrate();
    $("m-hashrate").textContent = fmtRate(h);
    $("m-earnings").textContent = fmtSat(expectedSatPerDay(h));
    $("m-hashes").textContent = String(st.hashes);
    $("m-accepted").textContent = String(st.accepted);
    $("m-rejected").textContent = String(st.rejected);
  }

  /* ---- work ---- */
  function en2For(i) {
    const roll = st.rolls[i] = (st.rolls[i] || 0) + 1;
    const out = new Uint8Array(st.en2Size);
    let v = st.en2Size >= 5 ? (BigInt(i) << 32n) | BigInt(roll) : BigInt(((i & 0xff) << 16) | (roll & 0xffff));
    for (let k = st.en2Size - 1; k >= 0; k--) { out[k] = Number(v & 0xffn); v >>= 8n; }
    return out;
  }

  function dispatch(i) {
    const job = st.job, w = st.workers[i];
    if (!job || !w || !w.ready) return;
    const en2 = en2For(i);
    const key = ++st.seq;
    st.work.set(key, { job, en2, worker: i });
    const header = S.buildHeader(job, st.en1, en2);
    const target = S.targetLimbs(S.difficultyToTarget(job.difficulty, cfg.algo === "scrypt"));
    w.current = key;
    w.postMessage({ cmd: "work", key, algo: cfg.algo, header, target, start: 0, end: 2 ** 32 });
  }

  function dispatchAll() { st.workers.forEach((_, i) => dispatch(i)); }

  function onWorkerMessage(i, m) {
    if (m.type === "ready") {
      st.workers[i].ready = true;
      $("m-engine").textContent = m.label;
      $("m-engine").dataset.engine = m.engine;
      st.workers[i].postMessage({ cmd: "duty", duty: Number($("m-duty").value) / 100 });
      if (st.state === "paused" || st.manualPause || st.hidden) st.workers[i].postMessage({ cmd: "pause" });
      dispatch(i);
    } else if (m.type === "idle") {
      st.workers[i].busy = false;
      render();  // the count shown is final once data-busy reads 0
      $("m-state").dataset.busy = String(st.workers.filter((w) => w.busy).length);
    } else if (m.type === "progress") {
      if (!st.workers[i].busy) {
        st.workers[i].busy = true;
        $("m-state").dataset.busy = String(st.workers.filter((w) => w.busy).length);
      }
      st.hashes += m.hashes;
      st.samples.push([performance.now(), m.hashes, m.ms]);
    } else if (m.type === "hit") {
      const w = st.work.get(m.key);
      if (!w || !st.client) return;
      st.client.submit(st.user, w.job, w.en2, m.nonce).then((r) => {
        if (r.result === true) st.accepted++;
        else { st.rejected++; $("m-reject").textContent = `Last rejected share: ${r.error ? r.error[1] : "unknown reason"}.`; }
        render();
      }, () => {});
    } else if (m.type === "exhausted") {
      dispatch(i);
    } else if (m.type === "error") {
      stop(`a worker failed: ${m.message}`);
    }
  }

  /* ---- pause / resume / stop ---- */
  function applyPause() {
    if (st.state !== "mining" && st.state !== "paused") return;
    const pause = st.manualPause || st.hidden;
    for (const w of st.workers) w.postMessage({ cmd: pause ? "pause" : "resume" });
    setState(pause ? "paused" : "mining");
    const btn = $("m-pause");
    btn.textContent = st.manualPause ? "Resume" : "Pause";
    btn.setAttribute("aria-pressed", String(st.manualPause));
    if (pause) message(st.hidden && !st.manualPause ? "Paused while the page is hidden." : "Paused.");
    else message("Mining.");
  }

  function stop(reason) {
    for (const w of st.workers) { w.postMessage({ cmd: "stop" }); w.terminate(); }
    st.workers = [];
    $("m-state").dataset.busy = "0";  // terminated: nothing in flight
    st.work.clear();
    if (st.client) { const c = st.client; st.client = null; c.close(); }
    st.manualPause = false;
    setState("stopped");
    message(reason);
    render();
  }

  /* ---- battery (Battery Status API where the browser has it) ---- */
  function checkBattery() {
    const b = st.battery;
    if (!b) return;
    const pct = Math.round(b.level * 100);
    $("m-battery").textContent = `${pct} %, ${b.charging ? "charging" : "on battery"}`;
    const active = st.state === "mining" || st.state === "paused";
    const min = Number($("m-battery-min").value) || 0;
    if (active && !b.charging && pct < min) stop(`Stopped: battery at ${pct} %, below ${min} %.`);
    else if (active && $("m-need-charging").checked && st.wasCharging && !b.charging) stop("Stopped: charging stopped.");
    st.wasCharging = b.charging;
  }

  async function watchBattery() {
    if (typeof navigator.getBattery !== "function") {
      $("m-battery").textContent = "battery status not available";
      return;
    }
    try {
      st.battery = await navigator.getBattery();
    } catch (e) {
      $("m-battery").textContent = "battery status not available";
      return;
    }
    st.battery.addEventListener("levelchange", checkBattery);
    st.battery.addEventListener("chargingchange", checkBattery);
    checkBattery();
  }

  /* ---- start ---- */
  async function start(ev) {
    ev.preventDefault();
    const address = $("m-address").value.trim(), worker = $("m-worker").value.trim() || "browser";
    if (!/^[A-Za-z0-9]{14,128}$/.test(address)) { message("Enter your payout address (letters and digits)."); return; }
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(worker)) { message("A worker name is 1-64 letters, digits, _ or -."); return; }
    if (st.battery && $("m-need-charging").checked && !st.battery.charging) { message("Not charging: plug in to mine."); return; }
    st.user = `${address}.${worker}`;
    st.accepted = st.rejected = st.hashes = 0;
    st.samples = [];
    st.rolls = [];
    st.job = null;
    setState("connecting");
    message(`Connecting to ${cfg.ws} …`);
    const client = new S.StratumClient(cfg.ws, {
      notify(job) { job.difficulty = st.difficulty; st.job = job; dispatchAll(); },
      difficulty(d) { st.difficulty = d; $("m-difficulty").textContent = String(d); },
      extranonce(en1, size) { st.en1 = window.HFKernel.hex.decode(en1); if (size) st.en2Size = size; },
      message(text) { message(`pool: ${text}`); },
      close(ev) { if (st.client === client) stop(`Stopped: the pool closed the connection (${ev.code}${ev.reason ? ": " + ev.reason : ""}).`); },
    });
    st.client = client;
    try {
      await client.connect();
      const sub = await client.subscribe("hashforge-webmine/0.1");
      st.en1 = sub.en1;
      st.en2Size = sub.en2Size;
      await client.authorize(st.user, "x");
    } catch (e) {
      if (st.client === client) stop(String(e.message || e));
      return;
    }
    const n = Number($("m-threads").value);
    for (let i = 0; i < n; i++) {
      const w = new Worker(cfg.workerUrl);
      w.ready = false;
      w.onmessage = (e) => onWorkerMessage(i, e.data);
      w.onerror = (e) => stop(`a worker failed: ${e.message}`);
      w.postMessage({ cmd: "init", engine: engineWanted, wasmUrl: cfg.wasmUrl, algo: cfg.algo });
      st.workers.push(w);
    }
    setState("mining");
    applyPause();
    checkBattery();
  }

  /* ---- wiring ---- */
  const threads = $("m-threads"), duty = $("m-duty");
  const cores = navigator.hardwareConcurrency || 2;
  threads.max = String(cores);
  threads.value = String(Math.max(1, Math.floor(cores / 2)));
  const showThreads = () => { $("m-threads-out").textContent = threads.value; };
  const showDuty = () => {
    $("m-duty-out").textContent = `${duty.value} %`;
    for (const w of st.workers) w.postMessage({ cmd: "duty", duty: Number(duty.value) / 100 });
  };
  threads.addEventListener("input", showThreads);
  duty.addEventListener("input", showDuty);
  showThreads();
  showDuty();
  $("mine-form").addEventListener("submit", start);
  $("m-pause").addEventListener("click", () => { st.manualPause = !st.manualPause; applyPause(); });
  $("m-stop").addEventListener("click", () => stop("Stopped."));
  $("m-battery-min").addEventListener("change", checkBattery);
  document.addEventListener("visibilitychange", () => { st.hidden = document.hidden; applyPause(); });
  setState("idle");
  if (!cfg.ws) $("m-start").disabled = true;
  watchBattery();
  setInterval(render, 500);
  render();
  window.HFMine = { expectedSatPerDay, state: st };
})();
