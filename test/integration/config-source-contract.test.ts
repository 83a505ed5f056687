// The ConfigSource contract (src/vocabulary/source.ts), passed by every
// source: Redis in each change-following mode, the vhosts file, and both
// merged. Each runs in this process against real data (a redis-server, real
// files); every test starts its own source instance and uses keys of its own.
//
//   snapshot  start() resolves once a snapshot with what the source defines was emitted
//   set       a frontend defined later arrives as one frontend-set carrying a new version
//   no-op     changes that leave the frontends as they were emit nothing (100 of them)
//   remove    a removed frontend arrives as frontend-removed; the version is back to what it was
//   versions  two sources reading the same data report the same version
//   errors    a failure is a source-error, the last good frontends stay; recovery is a source-recovered
//   options   per-vhost options (SPEC §9) arrive with their frontend, in its snapshot and in a frontend-set
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FileSource } from '../../adapters/file/index.js';
import { RedisSource } from '../../adapters/redis/source.js';
import type { RedisTrackingMode } from '../../src/config/types.js';
import { setLogLevel } from '../../src/log.js';
import { MergedSources } from '../../src/sources/merged.js';
import type { ConfigEvent } from '../../src/vocabulary/events.js';
import type { ConfigSource } from '../../src/vocabulary/source.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

/** A running source and everything it emitted. */
interface Running {
  source: ConfigSource;
  events: ConfigEvent[];
  /** Resolves once every change made before the call has been emitted (the read-your-writes barrier, where the source has one). */
  current(host: string): Promise<void>;
  /** For a watching source (no barrier): resolves once a read started after `touched` (a time from `now()`) is done. */
  readAfter(touched: number): Promise<void>;
  now(): number;
  stop(): Promise<void>;
}

/** One kind of source over one store of data (a Redis, a directory). */
interface Subject {
  label: string;
  setup(): Promise<void>;
  teardown(): Promise<void>;
  newSource(): ConfigSource;
  define(key: string, id: string, backends: string[]): Promise<void>;
  remove(key: string): Promise<void>;
  /** Sets the per-vhost options of `key` (SPEC §9): Redis's options:<key> hash, the file entry's fields. */
  defineOptions(key: string, options: Record<string, unknown>): Promise<void>;
  /** A write that changes nothing the source serves (a notification, a file rewrite). */
  touch(key: string): Promise<void>;
  /** Breaks the store; `repair` mends it (the frontends defined before may be gone after, as after a Redis restart). */
  breakIt(): Promise<void>;
  repair(): Promise<void>;
}

const url = (n: number): string => `http://127.0.0.1:${20_000 + n}`;

setLogLevel('warn'); // the sources run in this process: their info lines would drown the test report

async function run(subject: Subject): Promise<Running> {
  const source = subject.newSource();
  const events: ConfigEvent[] = [];
  await source.start((event) => events.push(event));
  const current = async (host: string) => {
    if (source.whenCurrent === undefined) return;
    await new Promise<void>((resolve) => {
      if (!source.whenCurrent!(host, resolve)) resolve();
    });
  };
  // A file source counts its reads: one that ends after a write has read it.
  const checks = (): number | undefined => (source.status() as { checks?: number }).checks;
  const now = () => checks() ?? 0;
  const readAfter = async (touched: number) => {
    if (checks() === undefined) return;
    await waitFor(() => checks()! > touched + 1, { timeoutMs: 5000, message: 'the file read again' });
  };
  return { source, events, current, readAfter, now, stop: () => source.stop() };
}

/** The frontends the events after `from` leave, by key (a snapshot resets what its source said). */
function frontendEvents(events: ConfigEvent[], from = 0): ConfigEvent[] {
  return events.slice(from).filter((e) => e.type === 'frontend-set' || e.type === 'frontend-removed' || e.type === 'snapshot');
}

function snapshotHas(event: ConfigEvent, key: string): boolean {
  return event.type === 'snapshot' && [...event.frontends].some((f) => f.key === key);
}

// --- Redis ---------------------------------------------------------------

function redisSubject(mode: Exclude<RedisTrackingMode, 'auto'>): Subject & { redis(): RedisServer } {
  let redis: RedisServer;
  const subject = {
    label: `redis (${mode})`,
    redis: () => redis,
    async setup() {
      redis = await startRedis();
    },
    async teardown() {
      await redis.stop();
    },
    newSource(): ConfigSource {
      const endpoint = { host: '127.0.0.1', port: redis.port, db: 0, prefix: '', display: redis.url };
      return new RedisSource({ tracking: mode, syncTimeoutMs: 1000, readYourWrites: true, read: endpoint, write: endpoint });
    },
    async define(key: string, id: string, backends: string[]) {
      await redis.cmd('DEL', `frontend:${key}`);
      await redis.cmd('RPUSH', `frontend:${key}`, id, ...backends);
    },
    async remove(key: string) {
      await redis.cmd('DEL', `frontend:${key}`);
    },
    async defineOptions(key: string, options: Record<string, unknown>) {
      const fields = Object.entries(options).flatMap(([name, value]) => [name, JSON.stringify(value)]);
      // DEL and HSET at once (a script): a re-read between two commands would see the hash gone for a moment.
      const script = "redis.call('DEL', KEYS[1]); if #ARGV > 0 then redis.call('HSET', KEYS[1], unpack(ARGV)) end";
      await redis.cmd('EVAL', script, 1, `options:${key}`, ...fields);
    },
    async touch(key: string) {
      const [id] = await redis.cmdList('LRANGE', `frontend:${key}`, 0, 0);
      await redis.cmd('LSET', `frontend:${key}`, 0, id!);
    },
    async breakIt() {
      await redis.kill();
    },
    async repair() {
      await redis.restart();
    },
  };
  return subject;
}

// --- File ----------------------------------------------------------------

function fileSubject(): Subject & { path(): string } {
  let dir: string;
  const hosts = new Map<string, { id: string; backends: string[]; options?: Record<string, unknown> }>();
  let comment = 0;
  const write = (extra = '') => {
    const optionLines = (options: Record<string, unknown> = {}) => Object.entries(options).map(([name, value]) => `    ${name}: ${JSON.stringify(value)}\n`).join('');
    const entries = [...hosts].map(([key, v]) => `  "${key}":\n    id: "${v.id}"\n${optionLines(v.options)}    backends: [${v.backends.join(', ')}]\n`);
    writeFileSync(join(dir, 'vhosts.yaml'), `# ${extra}\n${entries.length === 0 ? 'vhosts: {}\n' : `vhosts:\n${entries.join('')}`}`);
  };
  return {
    label: 'file',
    path: () => join(dir, 'vhosts.yaml'),
    async setup() {
      dir = tempDir('contract');
      write();
    },
    async teardown() {},
    newSource: () => new FileSource({ path: join(dir, 'vhosts.yaml'), pollIntervalMs: 200 }),
    async define(key, id, backends) {
      hosts.set(key, { ...hosts.get(key), id, backends });
      write();
    },
    async defineOptions(key, options) {
      hosts.set(key, { ...hosts.get(key)!, options });
      write();
    },
    async remove(key) {
      hosts.delete(key);
      write();
    },
    async touch() {
      write(`rewritten ${++comment}`); // other bytes, the same hosts
    },
    async breakIt() {
      writeFileSync(join(dir, 'vhosts.yaml'), 'vhosts: [not: {a map\n');
    },
    async repair() {
      write();
    },
  };
}

// --- Merged: Redis (keyspace) and the file ---------------------------------

function mergedSubject(): Subject {
  const redis = redisSubject('keyspace');
  const file = fileSubject();
  return {
    label: 'merged (redis + file)',
    async setup() {
      await Promise.all([redis.setup(), file.setup()]);
    },
    async teardown() {
      await redis.teardown();
    },
    newSource: () => new MergedSources([redis.newSource(), file.newSource()]),
    // Redis carries the frontends; the file breaks and mends.
    define: (key, id, backends) => redis.define(key, id, backends),
    remove: (key) => redis.remove(key),
    defineOptions: (key, options) => redis.defineOptions(key, options),
    touch: (key) => redis.touch(key),
    breakIt: () => file.breakIt(),
    repair: () => file.repair(),
  };
}

// --- The contract ----------------------------------------------------------

const subjects: Subject[] = [redisSubject('keyspace'), redisSubject('tracking'), redisSubject('per-request'), fileSubject(), mergedSubject()];

/** Waits until an event after `from` satisfies `match` (a source without a barrier emits a moment after the change). */
async function emitted(r: Running, from: number, match: (e: ConfigEvent) => boolean, what: string): Promise<ConfigEvent> {
  return waitFor(() => r.events.slice(from).find(match) ?? null, { timeoutMs: 5000, message: what });
}

for (const subject of subjects) {
  describe(`ConfigSource contract: ${subject.label}`, () => {
    before(() => subject.setup());
    after(() => subject.teardown());

    test('start() resolves once a snapshot holding what the source defines was emitted; the status is ready', async () => {
      await subject.define('pre.snapshot.test', 'pre', [url(1)]);
      const r = await run(subject);
      try {
        assert.ok(r.events.some((e) => snapshotHas(e, 'pre.snapshot.test')), 'a snapshot with the frontend');
        const status = r.source.status();
        assert.equal(status.state, 'ready');
        assert.match(status.version ?? '', /[0-9a-f]{16}/);
      } finally {
        await r.stop();
      }
    });

    test('a frontend defined after start arrives as one frontend-set carrying a new version', async () => {
      const r = await run(subject);
      try {
        const before = r.source.status().version;
        const from = r.events.length;
        await subject.define('later.set.test', 'later', [url(2), url(3)]);
        await r.current('later.set.test');
        const event = await emitted(r, from, (e) => e.type === 'frontend-set' && e.frontend.key === 'later.set.test', 'frontend-set for later.set.test');
        assert.ok(event.type === 'frontend-set');
        assert.deepEqual({ id: event.frontend.id, backends: [...event.frontend.backends] }, { id: 'later', backends: [url(2), url(3)] });
        assert.notEqual(event.version, before);
        assert.ok(r.source.status().version?.includes(event.version), 'the status shows the version of the latest event');
      } finally {
        await r.stop();
      }
    });

    test('100 writes that leave a frontend as it was emit no event', async () => {
      await subject.define('same.noop.test', 'same', [url(4)]);
      const r = await run(subject);
      try {
        const version = r.source.status().version;
        const from = r.events.length;
        const touches = subject.label === 'file' ? 20 : 100; // each file write is read and parsed: fewer keep the test short
        for (let i = 0; i < touches; i++) {
          const touched = r.now();
          await subject.touch('same.noop.test');
          await r.current('same.noop.test');
          await r.readAfter(touched);
        }
        // A real change after them: once it is seen, everything emitted since `from` is that change alone.
        await subject.define('after.noop.test', 'after', [url(5)]);
        await r.current('after.noop.test');
        await emitted(r, from, (e) => e.type === 'frontend-set' && e.frontend.key === 'after.noop.test', 'the change after the no-ops');
        const events = frontendEvents(r.events, from).map((e) => (e.type === 'frontend-set' ? `set ${e.frontend.key}` : e.type));
        assert.deepEqual(events, ['set after.noop.test'], `${touches} no-op writes emitted nothing`);
        assert.notEqual(r.source.status().version, version);
      } finally {
        await r.stop();
      }
    });

    test('a removed frontend arrives as frontend-removed, and the version is back to what it was without it', async () => {
      const r = await run(subject);
      try {
        const version = r.source.status().version;
        let from = r.events.length;
        await subject.define('gone.remove.test', 'gone', [url(6)]);
        await r.current('gone.remove.test');
        await emitted(r, from, (e) => e.type === 'frontend-set' && e.frontend.key === 'gone.remove.test', 'the frontend defined');
        from = r.events.length;
        await subject.remove('gone.remove.test');
        await r.current('gone.remove.test');
        const event = await emitted(r, from, (e) => e.type === 'frontend-removed' && e.key === 'gone.remove.test', 'frontend-removed');
        assert.ok(event.type === 'frontend-removed');
        assert.equal(r.source.status().version, version);
      } finally {
        await r.stop();
      }
    });

    test('per-vhost options arrive with their frontend: in a snapshot, then as one frontend-set per change, none for a rewrite of the same', async () => {
      await subject.define('opt.contract.test', 'opt', [url(10)]);
      await subject.defineOptions('opt.contract.test', { redirectHttps: true, hsts: 600 });
      const r = await run(subject);
      try {
        const snapshot = r.events.find((e) => snapshotHas(e, 'opt.contract.test'));
        assert.ok(snapshot?.type === 'snapshot');
        const spec = [...snapshot.frontends].find((f) => f.key === 'opt.contract.test');
        assert.deepEqual({ ...spec!.options }, { redirectHttps: true, hsts: 600 }, 'in the snapshot');
        const from = r.events.length;
        const touched = r.now();
        await subject.defineOptions('opt.contract.test', { hsts: 600, redirectHttps: true }); // the same options, written again
        await r.current('opt.contract.test');
        await r.readAfter(touched);
        await subject.defineOptions('opt.contract.test', { hsts: 60, tcpTimeout: 1.5 });
        await r.current('opt.contract.test');
        await emitted(r, from, (e) => e.type === 'frontend-set' && e.frontend.key === 'opt.contract.test', 'the options change');
        const events = frontendEvents(r.events, from);
        assert.equal(events.length, 1, 'one event: the rewrite of the same options emitted none');
        assert.ok(events[0]!.type === 'frontend-set');
        assert.deepEqual({ ...events[0]!.frontend.options }, { hsts: 60, tcpTimeout: 1.5 });
        assert.deepEqual([events[0]!.frontend.id, ...events[0]!.frontend.backends], ['opt', url(10)]);
      } finally {
        await subject.defineOptions('opt.contract.test', {});
        await r.stop();
      }
    });

    test('two sources reading the same data report the same version', async () => {
      await subject.define('twin.version.test', 'twin', [url(7)]);
      const [one, two] = [await run(subject), await run(subject)];
      try {
        for (const r of [one, two]) await r.current('twin.version.test');
        assert.equal(one.source.status().version, two.source.status().version);
        await subject.define('twin2.version.test', 'twin2', [url(8)]);
        for (const r of [one, two]) await r.current('twin2.version.test');
        await waitFor(() => one.source.status().version === two.source.status().version && one.events.length > 0, { timeoutMs: 5000, message: 'the same version after a change' });
      } finally {
        await Promise.all([one.stop(), two.stop()]);
      }
    });

    test('a failure is a source-error with the last good frontends kept; recovery is a source-recovered', async () => {
      await subject.define('kept.error.test', 'kept', [url(9)]);
      const r = await run(subject);
      try {
        const from = r.events.length;
        await subject.breakIt();
        await emitted(r, from, (e) => e.type === 'source-error', 'source-error');
        await waitFor(() => r.source.status().state === 'degraded' && r.source.status().lastError !== null, { timeoutMs: 5000, message: 'status degraded' });
        assert.deepEqual(frontendEvents(r.events, from), [], 'nothing is withdrawn while the source is failing');
        await subject.repair();
        const recovered = r.events.length;
        await emitted(r, from, (e) => e.type === 'source-recovered', 'source-recovered');
        await waitFor(() => r.source.status().state === 'ready' && r.source.status().lastError === null, { timeoutMs: 5000, message: 'status ready' });
        assert.ok(recovered >= from);
      } finally {
        await r.stop();
      }
    });
  });
}
