/* hashforge browser miner: one hashing Web Worker. The page gives it a header (80 bytes, nonce 0),
   a share target and a nonce range; it scans in chunks of about 100 ms, reports hashes done and
   every nonce that meets the target, and sleeps between chunks for the throttle (duty cycle).
   Kernel: the WebAssembly build of the project's C kernels if it loads and agrees with the JS
   kernel on a known header, else the plain-JS kernel. Served by /mine/worker.js after kernel.js
   (one script: no importScripts round trip when workers start). */
"use strict";

const K = self.HFKernel;
let engine = null;     // {name, scan(algo, header, target, start, count) -> nonces}
let work = null;       // {key, algo, header, target, next, end}
let duty = 1;
let paused = false;
let running = false;
let chunk = 4096;      // nonces per chunk, tuned to ~100 ms

function wasmEngine(instance) {
  const ex = instance.exports;
  const mem = () => new Uint8Array(ex.memory.buffer);
  const hp = ex.hf_header_ptr(), tp = ex.hf_target_ptr(), xp = ex.hf_hits_ptr();
  let loaded = null;
  return {
    name: "wasm",
    scan(algo, header, target, start, count) {
      if (loaded !== header) {
        mem().set(header, hp);
        loaded = header;
      }
      const t = new Uint8Array(32);
      for (let i = 0; i < 8; i++) K.putLe32(t, 4 * i, target[i]);
      mem().set(t, tp);
      const n = ex.hf_scan(algo === "scrypt" ? 1 : 0, start >>> 0, count >>> 0);
      if (n < 0) throw new Error("wasm kernel out of memory");
      const words = new Uint32Array(ex.memory.buffer, xp, 2 * Math.min(n, 64));
      const hits = [];
      for (let i = 0; i < words.length; i += 2) hits.push(words[i + 1]);
      return hits;
    },
  };
}

const jsEngine = { name: "js", scan: (algo, header, target, start, count) => K.scan(algo, header, target, start, count) };

async function loadEngine(want, wasmUrl, algo) {
  if (want === "js") return [jsEngine, "plain JavaScript (requested)"];
  if (typeof WebAssembly === "undefined") return [jsEngine, "plain JavaScript (WebAssembly not available)"];
  try {
    const resp = await fetch(wasmUrl);
    if (!resp.ok) return [jsEngine, "plain JavaScript (no WebAssembly build on this server)"];
    const { instance } = await WebAssembly.instantiate(await resp.arrayBuffer(), {});
    const eng = wasmEngine(instance);
    // Self-check on a fixed header: both kernels must find the same nonces.
    const probe = new Uint8Array(80);
    for (let i = 0; i < 80; i++) probe[i] = i;
    const easy = new Uint32Array([~0 >>> 0, ~0 >>> 0, ~0 >>> 0, ~0 >>> 0, ~0 >>> 0, ~0 >>> 0, ~0 >>> 0, 0x3fffffff]);
    const n = algo === "scrypt" ? 8 : 64;
    const a = eng.scan(algo, probe, easy, 0, n).join(","), b = K.scan(algo, probe, easy, 0, n).join(",");
    if (a !== b) return [jsEngine, "plain JavaScript (the WebAssembly kernel failed its self-check)"];
    return [eng, "WebAssembly (hashforge C kernel)"];
  } catch (e) {
    return [jsEngine, `plain JavaScript (WebAssembly failed: ${e.message || e})`];
  }
}

function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }

async function loop() {
  if (running) return;
  running = true;
  try {
    while (work && !paused) {
      const w = work;
      const count = Math.min(chunk, w.end - w.next);
      if (count <= 0) {
        postMessage({ type: "exhausted", key: w.key });
        work = null;
        break;
      }
      const t0 = performance.now();
      const hits = engine.scan(w.algo, w.header, w.target, w.next, count);
      const ms = Math.max(0.1, performance.now() - t0);
      w.next += count;
      postMessage({ type: "progress", key: w.key, hashes: count, ms });
      for (const nonce of hits) postMessage({ type: "hit", key: w.key, nonce });
      chunk = Math.max(w.algo === "scrypt" ? 1 : 64, Math.min(1 << 22, Math.round(count * 100 / ms)));
      // throttle: rest (1 - duty) / duty of the time just spent hashing; always yield for messages
      await sleep(duty >= 1 ? 0 : ms * (1 - duty) / duty);
    }
  } catch (e) {
    postMessage({ type: "error", message: String(e.message || e) });
  } finally {
    running = false;
    postMessage({ type: "idle" });  // no chunk in flight: the page can tell pausing really stopped us
  }
}

self.onmessage = async (ev) => {
  const m = ev.data;
  if (m.cmd === "init") {
    const [eng, label] = await loadEngine(m.engine, m.wasmUrl, m.algo);
    engine = eng;
    postMessage({ type: "ready", engine: eng.name, label });
  } else if (m.cmd === "work") {
    work = { key: m.key, algo: m.algo, header: new Uint8Array(m.header), target: new Uint32Array(m.target),
             next: m.start, end: m.end };
    chunk = m.algo === "scrypt" ? 16 : 4096;
    loop();
  } else if (m.cmd === "duty") {
    duty = Math.min(1, Math.max(0.05, m.duty));
  } else if (m.cmd === "pause") {
    paused = true;
  } else if (m.cmd === "resume") {
    paused = false;
    loop();
  } else if (m.cmd === "stop") {
    work = null;
    close();
  }
};
