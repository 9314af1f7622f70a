/* hashforge browser miner: plain-JS SHA-256d and scrypt(1024,1,1) — the fallback kernel when
   WebAssembly is unavailable, and the page's own hashing (coinbase, merkle root). Written for
   this project (FIPS 180-4, RFC 7914); loaded by the page, and served ahead of worker.js. */
(function (root) {
  "use strict";

  const K = new Uint32Array([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
  ]);
  const IV = new Uint32Array([
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
  ]);

  /* One compression; w holds the 16 message words in w[0..15] and is used as the schedule. */
  function compress(state, w) {
    for (let t = 16; t < 64; t++) {
      const x = w[t - 15], y = w[t - 2];
      const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
      const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
      w[t] = (w[t - 16] + s0 + w[t - 7] + s1) | 0;
    }
    let a = state[0], b = state[1], c = state[2], d = state[3];
    let e = state[4], f = state[5], g = state[6], h = state[7];
    for (let t = 0; t < 64; t++) {
      const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const t1 = (h + s1 + ((e & f) ^ (~e & g)) + K[t] + w[t]) | 0;
      const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const t2 = (s0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      h = g; g = f; f = e; e = (d + t1) | 0;
      d = c; c = b; b = a; a = (t1 + t2) | 0;
    }
    state[0] = (state[0] + a) | 0; state[1] = (state[1] + b) | 0;
    state[2] = (state[2] + c) | 0; state[3] = (state[3] + d) | 0;
    state[4] = (state[4] + e) | 0; state[5] = (state[5] + f) | 0;
    state[6] = (state[6] + g) | 0; state[7] = (state[7] + h) | 0;
  }

  function be32(p, i) { return ((p[i] << 24) | (p[i + 1] << 16) | (p[i + 2] << 8) | p[i + 3]) >>> 0; }
  function le32(p, i) { return (p[i] | (p[i + 1] << 8) | (p[i + 2] << 16) | (p[i + 3] << 24)) >>> 0; }
  function putLe32(p, i, v) { p[i] = v & 255; p[i + 1] = (v >>> 8) & 255; p[i + 2] = (v >>> 16) & 255; p[i + 3] = (v >>> 24) & 255; }
  function bswap(v) { return (((v & 255) << 24) | (((v >>> 8) & 255) << 16) | (((v >>> 16) & 255) << 8) | (v >>> 24)) >>> 0; }

  function stateBytes(state) {
    const out = new Uint8Array(32);
    for (let i = 0; i < 8; i++) {
      const v = state[i];
      out[4 * i] = v >>> 24; out[4 * i + 1] = (v >>> 16) & 255; out[4 * i + 2] = (v >>> 8) & 255; out[4 * i + 3] = v & 255;
    }
    return out;
  }

  /* SHA-256 of a byte array (any length). */
  function sha256(bytes) {
    const n = bytes.length;
    const blocks = Math.ceil((n + 9) / 64);
    const buf = new Uint8Array(blocks * 64);
    buf.set(bytes);
    buf[n] = 0x80;
    const bits = n * 8;
    const end = blocks * 64;
    buf[end - 1] = bits & 255; buf[end - 2] = (bits >>> 8) & 255; buf[end - 3] = (bits >>> 16) & 255;
    buf[end - 4] = (bits >>> 24) & 255; buf[end - 5] = Math.floor(bits / 2 ** 32) & 255;
    const state = new Int32Array(IV);
    const w = new Int32Array(64);
    for (let blk = 0; blk < blocks; blk++) {
      for (let i = 0; i < 16; i++) w[i] = be32(buf, blk * 64 + 4 * i);
      compress(state, w);
    }
    return stateBytes(state);
  }

  function sha256d(bytes) { return sha256(sha256(bytes)); }

  /* Per-header SHA-256d: the first block's midstate once, then two compressions per nonce. */
  function sha256dScanner(header) {
    const mid = new Int32Array(IV);
    const w = new Int32Array(64);
    for (let i = 0; i < 16; i++) w[i] = be32(header, 4 * i);
    compress(mid, w);
    const w0 = be32(header, 64), w1 = be32(header, 68), w2 = be32(header, 72);
    const st = new Int32Array(8), st2 = new Int32Array(8);
    /* Returns the final state words: hash bytes are their big-endian bytes. */
    return function (nonce) {
      st.set(mid);
      w[0] = w0; w[1] = w1; w[2] = w2; w[3] = bswap(nonce); w[4] = 0x80000000;
      for (let i = 5; i < 15; i++) w[i] = 0;
      w[15] = 640;
      compress(st, w);
      st2.set(IV);
      for (let i = 0; i < 8; i++) w[i] = st[i];
      w[8] = 0x80000000;
      for (let i = 9; i < 15; i++) w[i] = 0;
      w[15] = 256;
      compress(st2, w);
      return st2;
    };
  }

  /* ---- scrypt(N=1024, r=1, p=1) of an 80-byte header (Litecoin's PoW) ---- */
  function hmacSha256(key, msg) {
    if (key.length > 64) key = sha256(key);
    const ipad = new Uint8Array(64 + msg.length), opad = new Uint8Array(96);
    for (let i = 0; i < 64; i++) {
      const k = i < key.length ? key[i] : 0;
      ipad[i] = k ^ 0x36; opad[i] = k ^ 0x5c;
    }
    ipad.set(msg, 64);
    opad.set(sha256(ipad), 64);
    return sha256(opad);
  }

  function pbkdf2One(pass, salt, dkLen) {  // one iteration: T_i = HMAC(pass, salt | INT(i))
    const out = new Uint8Array(dkLen);
    const block = new Uint8Array(salt.length + 4);
    block.set(salt);
    for (let i = 1; (i - 1) * 32 < dkLen; i++) {
      block[salt.length + 3] = i;
      const t = hmacSha256(pass, block);
      out.set(t.subarray(0, Math.min(32, dkLen - (i - 1) * 32)), (i - 1) * 32);
    }
    return out;
  }

  function salsa20_8(B, bo, X, xo) {  // B[bo..bo+16] ^= X[xo..xo+16], then Salsa20/8 in place
    const x = new Int32Array(16);
    for (let i = 0; i < 16; i++) x[i] = B[bo + i] ^= X[xo + i];
    const R = (a, b) => (a << b) | (a >>> (32 - b));
    for (let i = 0; i < 8; i += 2) {
      x[4] ^= R(x[0] + x[12], 7); x[8] ^= R(x[4] + x[0], 9); x[12] ^= R(x[8] + x[4], 13); x[0] ^= R(x[12] + x[8], 18);
      x[9] ^= R(x[5] + x[1], 7); x[13] ^= R(x[9] + x[5], 9); x[1] ^= R(x[13] + x[9], 13); x[5] ^= R(x[1] + x[13], 18);
      x[14] ^= R(x[10] + x[6], 7); x[2] ^= R(x[14] + x[10], 9); x[6] ^= R(x[2] + x[14], 13); x[10] ^= R(x[6] + x[2], 18);
      x[3] ^= R(x[15] + x[11], 7); x[7] ^= R(x[3] + x[15], 9); x[11] ^= R(x[7] + x[3], 13); x[15] ^= R(x[11] + x[7], 18);
      x[1] ^= R(x[0] + x[3], 7); x[2] ^= R(x[1] + x[0], 9); x[3] ^= R(x[2] + x[1], 13); x[0] ^= R(x[3] + x[2], 18);
      x[6] ^= R(x[5] + x[4], 7); x[7] ^= R(x[6] + x[5], 9); x[4] ^= R(x[7] + x[6], 13); x[5] ^= R(x[4] + x[7], 18);
      x[11] ^= R(x[10] + x[9], 7); x[8] ^= R(x[11] + x[10], 9); x[9] ^= R(x[8] + x[11], 13); x[10] ^= R(x[9] + x[8], 18);
      x[12] ^= R(x[15] + x[14], 7); x[13] ^= R(x[12] + x[15], 9); x[14] ^= R(x[13] + x[12], 13); x[15] ^= R(x[14] + x[13], 18);
    }
    for (let i = 0; i < 16; i++) B[bo + i] = (B[bo + i] + x[i]) | 0;
  }

  const V = new Int32Array(32 * 1024);
  function scrypt(header) {
    const b = pbkdf2One(header, header, 128);
    const X = new Int32Array(32);
    for (let i = 0; i < 32; i++) X[i] = le32(b, 4 * i);
    for (let i = 0; i < 1024; i++) {
      V.set(X, 32 * i);
      salsa20_8(X, 0, X, 16); salsa20_8(X, 16, X, 0);
    }
    for (let i = 0; i < 1024; i++) {
      const j = 32 * (X[16] & 1023);
      for (let k = 0; k < 32; k++) X[k] ^= V[j + k];
      salsa20_8(X, 0, X, 16); salsa20_8(X, 16, X, 0);
    }
    for (let i = 0; i < 32; i++) putLe32(b, 4 * i, X[i]);
    return pbkdf2One(header, b, 32);
  }

  /* hash (bytes) read as a little-endian integer <= target (8 LE limbs, [7] most significant)? */
  function hashLeTarget(hash, target) {
    for (let i = 7; i >= 0; i--) {
      const limb = le32(hash, 4 * i);
      if (limb !== target[i]) return limb < target[i];
    }
    return true;
  }

  /* Scans nonces [start, start + count) of `header` (80 bytes, copied): the nonces that meet it. */
  function scan(algo, header, target, start, count) {
    const hits = [];
    const h = new Uint8Array(header);
    if (algo === "scrypt") {
      for (let n = start; n < start + count && n <= 0xffffffff; n++) {
        putLe32(h, 76, n);
        if (hashLeTarget(scrypt(h), target)) hits.push(n);
      }
      return hits;
    }
    const hash = sha256dScanner(h);
    const top = target[7];
    for (let n = start; n < start + count && n <= 0xffffffff; n++) {
      const st = hash(n >>> 0);
      if (bswap(st[7]) <= top && hashLeTarget(stateBytes(st), target)) hits.push(n);
    }
    return hits;
  }

  function powHash(algo, header) { return algo === "scrypt" ? scrypt(header) : sha256d(header); }

  const hex = {
    decode(s) { const out = new Uint8Array(s.length / 2); for (let i = 0; i < out.length; i++) out[i] = parseInt(s.substr(2 * i, 2), 16); return out; },
    encode(b) { let s = ""; for (let i = 0; i < b.length; i++) s += (b[i] < 16 ? "0" : "") + b[i].toString(16); return s; },
  };

  root.HFKernel = { sha256, sha256d, scrypt, scan, powHash, hashLeTarget, hex, le32, putLe32, bswap };
})(typeof self !== "undefined" ? self : this);
