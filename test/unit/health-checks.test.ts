// Active health checks (SPEC §9): the check state machine, the settings a
// backend is checked with, the targets a table yields, and the prober's
// turns with a fake probe and fake marks.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { RoutingTable } from '../../src/routing/table.js';
import type { ConfigEvent, FrontendOptions } from '../../src/vocabulary/events.js';
import { checkSettings, markTtlMs } from '../../app/health/settings.js';
import { CheckState } from '../../app/health/state.js';
import { healthTargets, type HealthTarget } from '../../app/health/targets.js';
import { HealthProber } from '../../app/health/prober.js';
import { probe } from '../../app/health/probe.js';
import type { Claim, HealthMarks } from '../../app/health/marks.js';
import { waitFor } from '../helpers/wait.js';

const set = (key: string, backends: string[], options?: FrontendOptions, source = 'file'): ConfigEvent => ({
  type: 'frontend-set',
  version: 'v',
  source,
  frontend: { key, id: key, backends, ...(options === undefined ? {} : { options }) },
});

describe('health check state machine', () => {
  it('marks after unhealthyAfter failures in a row, not before', () => {
    const state = new CheckState({ unhealthyAfter: 3, healthyAfter: 2 });
    assert.equal(state.record(false), null);
    assert.equal(state.record(false), null);
    assert.equal(state.verdict, 'healthy');
    assert.equal(state.record(false), 'marked');
    assert.equal(state.verdict, 'unhealthy');
  });

  it('a pass in between starts the count of failures again', () => {
    const state = new CheckState({ unhealthyAfter: 3, healthyAfter: 2 });
    state.record(false);
    state.record(false);
    assert.equal(state.record(true), null);
    assert.equal(state.record(false), null);
    assert.equal(state.record(false), null);
    assert.equal(state.verdict, 'healthy');
    assert.equal(state.record(false), 'marked');
  });

  it('revives after healthyAfter passes in a row, not before; a failure in between starts again', () => {
    const state = new CheckState({ unhealthyAfter: 1, healthyAfter: 3 }, 'unhealthy');
    assert.equal(state.record(true), null);
    assert.equal(state.record(true), null);
    assert.equal(state.record(false), null);
    assert.equal(state.verdict, 'unhealthy');
    assert.equal(state.record(true), null);
    assert.equal(state.record(true), null);
    assert.equal(state.record(true), 'revived');
    assert.equal(state.verdict, 'healthy');
  });

  it('failures while unhealthy and passes while healthy change nothing', () => {
    const state = new CheckState({ unhealthyAfter: 1, healthyAfter: 1 });
    assert.equal(state.record(true), null);
    assert.equal(state.record(false), 'marked');
    assert.equal(state.record(false), null);
    assert.equal(state.run, 0);
    assert.equal(state.record(true), 'revived');
  });
});

describe('health check settings', () => {
  it('none unless the vhost or the server asks; false turns the server default off', () => {
    assert.equal(checkSettings(undefined, null), null);
    assert.equal(checkSettings(false, { interval: 1 }), null);
    assert.deepEqual(checkSettings({}, null), { path: '/', intervalMs: 10_000, timeoutMs: 2000, unhealthyAfter: 3, healthyAfter: 2 });
  });

  it('the vhost overrides the server field by field; a timeout is at most the interval', () => {
    const settings = checkSettings({ path: '/health', interval: 0.5 }, { interval: 5, timeout: 3, healthyAfter: 4 });
    assert.deepEqual(settings, { path: '/health', intervalMs: 500, timeoutMs: 500, unhealthyAfter: 3, healthyAfter: 4 });
    assert.ok(markTtlMs(settings!) >= 1000);
  });
});

describe('health check targets', () => {
  it('one target per backend URL and settings, whatever the number of frontends using it', () => {
    const check = { healthCheck: { interval: 1 } };
    const table = RoutingTable.fromEvents([
      set('b.test', ['http://10.0.0.1:80', 'http://10.0.0.2:80'], check),
      set('a.test', ['http://10.0.0.2:80', 'http://10.0.0.3:80'], check),
      set('a.test/api', ['http://10.0.0.3:80', 'http://10.0.0.2:80'], check),
      set('*.wild.test', ['http://10.0.0.2:80', 'http://10.0.0.9:80'], check),
      set('off.test', ['http://10.0.0.2:80', 'http://10.0.0.8:80'], { healthCheck: false }),
      set('plain.test', ['http://10.0.0.7:80', 'http://10.0.0.6:80']),
    ]);
    const targets = healthTargets(table, null);
    const shared = targets.find((t) => t.url === 'http://10.0.0.2:80')!;
    assert.deepEqual(targets.map((t) => t.url).sort(), ['http://10.0.0.1:80', 'http://10.0.0.2:80', 'http://10.0.0.3:80']);
    assert.equal(shared.host, 'a.test');
    assert.deepEqual(
      shared.marks.map((m) => `${m.name}#${m.index}`).sort(),
      ['a.test#0', 'a.test/api#1', 'b.test#1'],
    );
    assert.equal(healthTargets(table, { interval: 2 }).some((t) => t.url === 'http://10.0.0.7:80'), true, 'the server default checks vhosts without their own');
  });

  it('a frontend\'s only backend is checked and marked too; a key two sources define counts once, as served', () => {
    const table = RoutingTable.fromEvents([
      set('one.test', ['http://10.0.0.1:80'], { healthCheck: {} }),
      set('two.test', ['http://10.0.0.2:80', 'http://10.0.0.3:80'], { healthCheck: {} }, 'redis'),
      set('two.test', ['http://10.0.0.4:80', 'http://10.0.0.5:80'], { healthCheck: {} }, 'file'),
    ], { precedence: ['redis', 'file'] });
    const targets = healthTargets(table, null);
    assert.deepEqual(targets.find((t) => t.url === 'http://10.0.0.1:80')!.marks, [{ name: 'one.test', index: 0, backendCount: 1 }]);
    assert.deepEqual(targets.map((t) => t.url).sort(), ['http://10.0.0.1:80', 'http://10.0.0.2:80', 'http://10.0.0.3:80']);
  });
});

class FakeMarks implements HealthMarks {
  readonly log: string[] = [];
  claimable = true;
  #taken = false;
  claim(): Promise<Claim> {
    if (!this.claimable) return Promise.resolve(null);
    const claim = this.#taken ? 'kept' : 'taken';
    this.#taken = true;
    return Promise.resolve(claim);
  }
  markedAtStart = false;
  marked(): Promise<boolean> {
    return Promise.resolve(this.markedAtStart);
  }
  mark(target: HealthTarget): Promise<void> {
    this.log.push(`mark ${target.url}`);
    return Promise.resolve();
  }
  revive(target: HealthTarget): Promise<void> {
    this.log.push(`revive ${target.url}`);
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

describe('health prober', () => {
  const target: HealthTarget = {
    id: 'x',
    url: 'http://10.0.0.1:80',
    host: 'a.test',
    settings: { path: '/', intervalMs: 20, timeoutMs: 10, unhealthyAfter: 2, healthyAfter: 2 },
    marks: [{ name: 'a.test', index: 0, backendCount: 2 }],
  };

  it('marks after the failures, keeps marking while failing, revives once after the passes', async () => {
    const marks = new FakeMarks();
    let passing = false;
    let checks = 0;
    const prober = new HealthProber({
      targets: () => Promise.resolve({ version: '1', targets: [target] }),
      marks,
      counted: () => {},
      probe: () => {
        checks++;
        return Promise.resolve({ passed: passing, status: passing ? 200 : 500, error: null, ms: 1 });
      },
    });
    prober.start();
    try {
      await waitFor(() => marks.log.filter((l) => l.startsWith('mark')).length >= 3, { timeoutMs: 5000, message: 'marks while failing' });
      assert.equal(prober.unhealthy(), 1);
      passing = true;
      await waitFor(() => marks.log.includes('revive http://10.0.0.1:80'), { timeoutMs: 5000, message: 'revived' });
      const at = checks;
      await waitFor(() => checks >= at + 3, { timeoutMs: 5000, message: 'more checks' });
      assert.equal(marks.log.filter((l) => l.startsWith('revive')).length, 1);
      assert.equal(prober.unhealthy(), 0);
    } finally {
      await prober.stop();
    }
  });

  it('taking over a backend another prober marked: it stays marked (and the mark is kept) until healthyAfter passes', async () => {
    const marks = new FakeMarks();
    marks.markedAtStart = true;
    const prober = new HealthProber({
      targets: () => Promise.resolve({ version: '1', targets: [target] }),
      marks,
      counted: () => {},
      probe: () => {
        marks.log.push('check');
        return Promise.resolve({ passed: true, status: 200, error: null, ms: 1 });
      },
    });
    prober.start();
    try {
      await waitFor(() => marks.log.includes('revive http://10.0.0.1:80'), { timeoutMs: 5000, message: 'revived' });
      const upToRevive = marks.log.slice(0, marks.log.indexOf('revive http://10.0.0.1:80') + 1);
      assert.deepEqual(upToRevive, ['check', 'mark http://10.0.0.1:80', 'check', 'revive http://10.0.0.1:80'], 'kept by the first pass, removed at the second (healthyAfter 2)');
    } finally {
      await prober.stop();
    }
  });

  it('never checks a backend whose turn another instance holds', async () => {
    const marks = new FakeMarks();
    marks.claimable = false;
    let checks = 0;
    const prober = new HealthProber({
      targets: () => Promise.resolve({ version: '1', targets: [target] }),
      marks,
      counted: () => {},
      probe: () => {
        checks++;
        return Promise.resolve({ passed: true, status: 200, error: null, ms: 1 });
      },
    });
    prober.start();
    await new Promise((resolve) => setTimeout(resolve, 150));
    await prober.stop();
    assert.equal(checks, 0);
    assert.equal(prober.status().listed.length, 0, 'stopped: nothing watched');
  });
});

describe('health check probe', () => {
  async function server(handler: http.RequestListener): Promise<{ url: string; seen: http.IncomingMessage[]; close(): Promise<void> }> {
    const seen: http.IncomingMessage[] = [];
    const srv = http.createServer((req, res) => {
      seen.push(req);
      handler(req, res);
    });
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    const { port } = srv.address() as AddressInfo;
    return { url: `http://127.0.0.1:${port}`, seen, close: () => new Promise((resolve) => { srv.closeAllConnections(); srv.close(() => resolve()); }) };
  }

  it('sends GET of the path after the backend URL\'s own, with the Host given; 2xx passes', async () => {
    const backend = await server((_req, res) => res.end('ok'));
    try {
      const result = await probe({ url: `${backend.url}/app`, host: 'www.test', path: '/health?deep=1', timeoutMs: 1000 });
      assert.equal(result.passed, true);
      assert.equal(result.status, 200);
      assert.equal(backend.seen[0]!.url, '/app/health?deep=1');
      assert.equal(backend.seen[0]!.headers.host, 'www.test');
      assert.equal(backend.seen[0]!.method, 'GET');
    } finally {
      await backend.close();
    }
  });

  it('a redirect passes and is not followed; a 5xx or a 4xx fails', async () => {
    let status = 302;
    const backend = await server((_req, res) => {
      res.writeHead(status, { location: 'http://127.0.0.1:1/elsewhere' });
      res.end();
    });
    try {
      const redirected = await probe({ url: backend.url, host: 'a.test', path: '/', timeoutMs: 1000 });
      assert.deepEqual([redirected.passed, redirected.status, redirected.error], [true, 302, null]);
      assert.equal(backend.seen.length, 1);
      for (status of [500, 404]) assert.equal((await probe({ url: backend.url, host: 'a.test', path: '/', timeoutMs: 1000 })).passed, false);
    } finally {
      await backend.close();
    }
  });

  it('a backend that does not answer in time fails with "timeout", a refused connection with its code', async () => {
    const silent = await server(() => {});
    try {
      const started = Date.now();
      const result = await probe({ url: silent.url, host: 'a.test', path: '/', timeoutMs: 150 });
      assert.deepEqual([result.passed, result.status, result.error], [false, null, 'timeout']);
      assert.ok(Date.now() - started < 1000);
    } finally {
      await silent.close();
    }
    const refused = await probe({ url: silent.url, host: 'a.test', path: '/', timeoutMs: 1000 });
    assert.deepEqual([refused.passed, refused.error], [false, 'ECONNREFUSED']);
  });

  it('a Host or path node:http refuses to write fails the check instead of throwing (the master must not crash on a hostile key)', async () => {
    const backend = await server((_req, res) => res.end('ok'));
    try {
      for (const bad of [{ host: 'a.test\r\nx-injected: 1', path: '/' }, { host: 'a.test', path: '/\r\nx: 1' }]) {
        const result = await probe({ url: backend.url, ...bad, timeoutMs: 1000 });
        assert.equal(result.passed, false, JSON.stringify(bad));
        assert.equal(result.status, null, JSON.stringify(bad));
      }
      assert.equal(backend.seen.length, 0, 'a request was sent');
    } finally {
      await backend.close();
    }
  });
});
