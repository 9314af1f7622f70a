/* hashforge browser miner: a Stratum v1 client over WebSocket (one JSON message per text frame),
   and the work arithmetic: coinbase -> merkle root -> 80-byte header, difficulty -> target. */
(function (root) {
  "use strict";
  const K = root.HFKernel;
  const DIFF1 = 0xffffn << 208n;
  const MAX_TARGET = (1n << 256n) - 1n;

  /* A decimal number string (as JS prints it, exponent allowed) -> [numerator, denominator]. */
  function fraction(text) {
    const m = /^(\d+)(?:\.(\d+))?(?:e([+-]?\d+))?$/i.exec(text);
    if (!m) throw new Error(`bad difficulty ${text}`);
    const frac = m[2] || "";
    let num = BigInt(m[1] + frac), den = 10n ** BigInt(frac.length);
    const exp = m[3] ? parseInt(m[3], 10) : 0;
    if (exp > 0) num *= 10n ** BigInt(exp); else den *= 10n ** BigInt(-exp);
    return [num, den];
  }

  /* The share target of a pool difficulty (as hashforge.stratum.difficulty_to_target). */
  function difficultyToTarget(difficulty, scrypt) {
    const [num, den] = fraction(String(difficulty));
    if (num === 0n) throw new Error("difficulty must be positive");
    const t = (DIFF1 * (scrypt ? 65536n : 1n) * den) / num;
    return t > MAX_TARGET ? MAX_TARGET : t;
  }

  function targetLimbs(target) {  // 8 little-endian 32-bit limbs, [7] most significant
    const limbs = new Uint32Array(8);
    for (let i = 0; i < 8; i++) limbs[i] = Number((target >> BigInt(32 * i)) & 0xffffffffn);
    return limbs;
  }

  function prevhashFromStratum(hexStr) {  // each 4-byte word byte-swapped -> internal order
    const raw = K.hex.decode(hexStr), out = new Uint8Array(32);
    for (let i = 0; i < 32; i += 4) for (let j = 0; j < 4; j++) out[i + j] = raw[i + 3 - j];
    return out;
  }

  function concat(...parts) {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) { out.set(p, o); o += p.length; }
    return out;
  }

  /* mining.notify params -> a job object. */
  function parseJob(params) {
    const [jobId, prevhash, coinb1, coinb2, branch, version, nbits, ntime, clean] = params;
    return { jobId, prevhash: prevhashFromStratum(prevhash), coinb1: K.hex.decode(coinb1), coinb2: K.hex.decode(coinb2),
             branch: branch.map((b) => K.hex.decode(b)), version: parseInt(version, 16) >>> 0,
             nbits: parseInt(nbits, 16) >>> 0, ntime: parseInt(ntime, 16) >>> 0, clean: !!clean };
  }

  /* The header (nonce 0) for a job and extranonces, in the byte order the kernels hash. */
  function buildHeader(job, en1, en2) {
    let root = K.sha256d(concat(job.coinb1, en1, en2, job.coinb2));
    for (const sibling of job.branch) root = K.sha256d(concat(root, sibling));
    const h = new Uint8Array(80);
    K.putLe32(h, 0, job.version);
    h.set(job.prevhash, 4);
    h.set(root, 36);
    K.putLe32(h, 68, job.ntime);
    K.putLe32(h, 72, job.nbits);
    return h;
  }

  function hex32(v) { return (v >>> 0).toString(16).padStart(8, "0"); }

  class StratumClient {
    constructor(url, handlers) {
      this.url = url;
      this.on = handlers;  // {open, close, notify, difficulty, extranonce, error}
      this.nextId = 1;
      this.pending = new Map();
      this.ws = null;
    }

    connect() {
      return new Promise((resolve, reject) => {
        const ws = new WebSocket(this.url);
        this.ws = ws;
        let opened = false;
        ws.onopen = () => { opened = true; resolve(); };
        ws.onerror = () => { if (!opened) reject(new Error(`cannot reach the pool at ${this.url}`)); };
        ws.onclose = (ev) => {
          for (const [, p] of this.pending) p.reject(new Error("connection closed"));
          this.pending.clear();
          if (opened && this.on.close) this.on.close(ev);
        };
        ws.onmessage = (ev) => this._message(ev.data);
      });
    }

    _message(text) {
      let msg;
      try { msg = JSON.parse(text); } catch (e) { return; }
      if (msg.method) {
        if (msg.method === "mining.notify" && this.on.notify) this.on.notify(parseJob(msg.params));
        else if (msg.method === "mining.set_difficulty" && this.on.difficulty) this.on.difficulty(Number(msg.params[0]));
        else if (msg.method === "mining.set_extranonce" && this.on.extranonce) this.on.extranonce(msg.params[0], msg.params[1]);
        else if (msg.method === "client.show_message" && this.on.message) this.on.message(String(msg.params[0]));
        return;
      }
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      p.resolve(msg);
    }

    call(method, params) {
      const id = this.nextId++;
      return new Promise((resolve, reject) => {
        this.pending.set(id, { resolve, reject });
        this.ws.send(JSON.stringify({ id, method, params }));
      });
    }

    async subscribe(agent) {
      const r = await this.call("mining.subscribe", [agent]);
      if (r.error) throw new Error(`subscribe refused: ${r.error[1]}`);
      return { en1: K.hex.decode(r.result[1]), en2Size: r.result[2] };
    }

    async authorize(user, password) {
      const r = await this.call("mining.authorize", [user, password]);
      if (r.result !== true) throw new Error(`the pool refused worker ${user}: ${r.error ? r.error[1] : "not authorized"}`);
    }

    submit(user, job, en2, nonce) {
      return this.call("mining.submit", [user, job.jobId, K.hex.encode(en2), hex32(job.ntime), hex32(nonce)]);
    }

    close() { if (this.ws) this.ws.close(1000); }
  }

  root.HFStratum = { StratumClient, buildHeader, difficultyToTarget, targetLimbs, parseJob, prevhashFromStratum, fraction };
})(typeof self !== "undefined" ? self : this);
