// A tiny Redis (RESP2) client, enough for the benchmark: commands in, replies
// out, in order. Copied in spirit from the shared harness's propagation.js so
// the benchmark needs no Redis library of its own.

import net from 'node:net';

export class Redis {
  #sock;
  #buf = Buffer.alloc(0);
  #queue = [];
  ready;

  constructor(port, host = '127.0.0.1') {
    this.#sock = net.connect({ host, port });
    this.#sock.setNoDelay(true);
    this.#sock.on('data', (d) => {
      this.#buf = this.#buf.length ? Buffer.concat([this.#buf, d]) : d;
      this.#drain();
    });
    this.#sock.on('error', (e) => {
      for (const p of this.#queue.splice(0)) p.reject(e);
    });
    this.ready = new Promise((resolve, reject) => {
      this.#sock.once('connect', resolve);
      this.#sock.once('error', reject);
    });
  }

  cmd(...args) {
    let s = `*${args.length}\r\n`;
    for (const a of args) {
      const b = Buffer.from(String(a));
      s += `$${b.length}\r\n${b}\r\n`;
    }
    return new Promise((resolve, reject) => {
      this.#queue.push({ resolve, reject });
      this.#sock.write(s);
    });
  }

  close() {
    this.#sock.end();
  }

  /** -> [value, nextOffset], or null when the reply is incomplete. */
  #parse(buf, off) {
    const nl = buf.indexOf('\r\n', off);
    if (nl === -1) return null;
    const type = String.fromCharCode(buf[off]);
    const line = buf.toString('utf8', off + 1, nl);
    if (type === '+') return [line, nl + 2];
    if (type === '-') return [new Error(line), nl + 2];
    if (type === ':') return [Number(line), nl + 2];
    if (type === '$') {
      const len = Number(line);
      if (len < 0) return [null, nl + 2];
      if (buf.length < nl + 2 + len + 2) return null;
      return [buf.toString('utf8', nl + 2, nl + 2 + len), nl + 2 + len + 2];
    }
    if (type === '*') {
      const n = Number(line);
      if (n < 0) return [null, nl + 2];
      const arr = [];
      let o = nl + 2;
      for (let i = 0; i < n; i++) {
        const r = this.#parse(buf, o);
        if (!r) return null;
        arr.push(r[0]);
        o = r[1];
      }
      return [arr, o];
    }
    throw new Error(`bad RESP type ${type}`);
  }

  #drain() {
    let off = 0;
    while (off < this.#buf.length) {
      const r = this.#parse(this.#buf, off);
      if (!r) break;
      off = r[1];
      const p = this.#queue.shift();
      if (r[0] instanceof Error) p?.reject(r[0]);
      else p?.resolve(r[0]);
    }
    this.#buf = off >= this.#buf.length ? Buffer.alloc(0) : this.#buf.subarray(off);
  }
}

/** Redis protocol for `redis-cli --pipe`: K x RPUSH frontend:h<i>.scale.test h<i> <backend>. */
export function* frontendsResp(K, backend, prefix = 'h', suffix = '.scale.test') {
  const bulk = (s) => `$${Buffer.byteLength(s)}\r\n${s}\r\n`;
  const tail = bulk(backend);
  let chunk = '';
  for (let i = 0; i < K; i++) {
    chunk += '*4\r\n$5\r\nRPUSH\r\n' + bulk(`frontend:${prefix}${i}${suffix}`) + bulk(`${prefix}${i}`) + tail;
    if (chunk.length > 1 << 20) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk) yield chunk;
}
