// Backend choice (balancer.ts): "least-requests" as the power of two choices
// over this worker's in-flight counts (backend-load.ts), and sticky sessions
// (sticky.ts): the cookie's backend when it is listed and live, the Cookie
// header read robustly, the name stable and opaque.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { optionText, sameOptions } from '../../app/cli/diff.js';
import { parseBackend } from '../../src/frontends/backend.js';
import { BackendLoad } from '../../src/proxy/backend-load.js';
import { pickBackend } from '../../src/proxy/balancer.js';
import { stickyCookie, stickyDecision, stickyName, stickySetCookie } from '../../src/proxy/sticky.js';
import { RoutingTable } from '../../src/routing/table.js';
import type { FrontendOptions } from '../../src/vocabulary/events.js';

const A = 'http://10.0.0.1:80';
const B = 'http://10.0.0.2:80';
const C = 'http://10.0.0.3:80';

function tableWith(backends: string[], options?: FrontendOptions): RoutingTable {
  return RoutingTable.fromEvents([{ type: 'frontend-set', version: 'v', source: 'file', frontend: { key: 'app.test', id: 'app', backends, ...(options ? { options } : {}) } }]);
}

function markDead(table: RoutingTable, index: number): void {
  table.apply({ type: 'backend-dead', source: 'proxy', mark: { host: 'app.test', index, until: Date.now() + 60_000 } });
}

function counts(table: RoutingTable, load: BackendLoad, n: number, wanted: string | null = null): Map<string, number> {
  const route = table.lookup('app.test')!;
  const seen = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const pick = pickBackend(table, route, 'app.test', [], load, wanted)!;
    seen.set(pick.target.url, (seen.get(pick.target.url) ?? 0) + 1);
  }
  return seen;
}

const name = (url: string) => stickyName(parseBackend(url)!);

describe('least-requests', () => {
  test('a backend with requests in flight is chosen only when drawn against one as busy or busier', () => {
    const table = tableWith([A, B], { balance: 'least-requests' });
    const load = new BackendLoad();
    load.started(parseBackend(A)!);
    assert.deepEqual([...counts(table, load, 200)], [[B, 200]], 'two backends: both are always drawn, the idle one wins');
    load.ended(parseBackend(A)!);
    const even = counts(table, load, 400);
    assert.ok((even.get(A) ?? 0) > 100 && (even.get(B) ?? 0) > 100, `a tie is random: ${[...even]}`);
  });

  test('with three backends the busiest is never chosen; random ignores the counts', () => {
    const load = new BackendLoad();
    for (let i = 0; i < 5; i++) load.started(parseBackend(C)!);
    load.started(parseBackend(B)!);
    const seen = counts(tableWith([A, B, C], { balance: 'least-requests' }), load, 600);
    assert.equal(seen.get(C), undefined);
    assert.ok(seen.get(A)! > seen.get(B)!, `A (idle) beats B (1 in flight) whenever both are drawn: ${[...seen]}`);
    const random = counts(tableWith([A, B, C]), load, 600);
    assert.ok((random.get(C) ?? 0) > 100, `random: ${[...random]}`);
  });

  test('dead backends are skipped, and the live ones still compared', () => {
    const table = tableWith([A, B, C], { balance: 'least-requests' });
    markDead(table, 0);
    const load = new BackendLoad();
    load.started(parseBackend(B)!);
    assert.deepEqual([...counts(table, load, 100)], [[C, 100]]);
  });

  test('a count never goes below zero (an end told twice)', () => {
    const load = new BackendLoad();
    const a = parseBackend(A)!;
    load.started(a);
    load.ended(a);
    load.ended(a);
    assert.equal(load.inFlight(a), 0);
  });
});

describe('sticky choice', () => {
  test('the cookie\'s backend when listed and live, whatever the balance', () => {
    for (const balance of ['random', 'least-requests'] as const) {
      const table = tableWith([A, B, C], { balance });
      assert.deepEqual([...counts(table, new BackendLoad(), 50, name(B))], [[B, 50]]);
    }
  });

  test('a dead, tried or unlisted backend\'s cookie gives a new choice', () => {
    const table = tableWith([A, B, C]);
    markDead(table, 1);
    assert.equal(counts(table, new BackendLoad(), 100, name(B)).get(B), undefined);
    const route = tableWith([A, B]).lookup('app.test')!;
    assert.equal(pickBackend(tableWith([A, B]), route, 'app.test', [1], new BackendLoad(), name(B))?.target.url, A, 'a retry goes elsewhere');
    assert.equal(counts(tableWith([A, C]), new BackendLoad(), 50, name(B)).get(B), undefined);
  });

  test('a URL listed twice (weight 2): live at another index though dead at the first', () => {
    const table = tableWith([A, B, B]);
    markDead(table, 1);
    const pick = pickBackend(table, table.lookup('app.test')!, 'app.test', [], new BackendLoad(), name(B));
    assert.deepEqual([pick?.index, pick?.target.url], [2, B]);
  });
});

describe('sticky names and cookies', () => {
  test('a name is the URL\'s alone: stable, 16 base64url characters, not the address', () => {
    assert.equal(name(A), name(A));
    assert.notEqual(name(A), name(B));
    assert.match(name(A), /^[A-Za-z0-9_-]{16}$/);
    assert.ok(!name(A).includes('10.0.0.1'), 'not the address');
    assert.equal(name(A), stickyName({ ...parseBackend(A)! }), 'another worker\'s parse of the same URL: the same name');
  });

  test('Set-Cookie: Path=/, HttpOnly, SameSite=Lax, and Secure only over HTTPS', () => {
    const a = parseBackend(A)!;
    assert.equal(stickySetCookie('SRV', a, false), `SRV=${name(A)}; Path=/; HttpOnly; SameSite=Lax`);
    assert.equal(stickySetCookie('SRV', a, true), `SRV=${name(A)}; Path=/; HttpOnly; SameSite=Lax; Secure`);
  });

  test('the Cookie header: spaces, several fields, the first well-formed value of the name wins', () => {
    const a = name(A), b = name(B);
    assert.equal(stickyCookie(['Cookie', `x=1; SRV=${a}; y=2`], 'SRV'), a);
    assert.equal(stickyCookie(['cookie', `  SRV = ${a} ;`], 'SRV'), a, 'spaces around names and values');
    assert.equal(stickyCookie(['Cookie', `x=1;\tSRV\t=\t${a}\t`], 'SRV'), a, 'tabs too');
    assert.equal(stickyCookie(['Cookie', `SRV;=${a}; SR=${a}`], 'SRV'), null, 'a name without its "=", a shorter name');
    assert.equal(stickyCookie(['Cookie', 'x=1', 'Host', 'h', 'COOKIE', `SRV=${b}`], 'SRV'), b, 'a later Cookie field');
    assert.equal(stickyCookie(['Cookie', `SRV=${a}; SRV=${b}`], 'SRV'), a, 'same name twice: the first');
    assert.equal(stickyCookie(['Cookie', `SRV=${a}`, 'Cookie', `SRV=${b}`], 'SRV'), a);
    assert.equal(stickyCookie(['Cookie', `xSRV=${b}; SRVx=${b}; srv=${b}`], 'SRV'), null, 'names are exact and case-sensitive');
    assert.equal(stickyCookie(['X-Cookie', `SRV=${a}`], 'SRV'), null);
    assert.equal(stickyCookie([], 'SRV'), null);
  });

  test('hostile or foreign values are ignored as if not sent', () => {
    const a = name(A);
    for (const value of ['', '=', 'x'.repeat(17), 'short', '"' + a + '"', a + '\u0000', '<script>alert(1)</script>', 'a'.repeat(10_000), 'é'.repeat(16)]) {
      assert.equal(stickyCookie(['Cookie', `SRV=${value}`], 'SRV'), null, JSON.stringify(value.slice(0, 40)));
    }
    assert.equal(stickyCookie(['Cookie', `SRV=junk; SRV=${a}`], 'SRV'), a, 'a malformed value does not hide a good one after it');
    assert.equal(stickyCookie(['Cookie', ';;; =; SRV; SRV=;' + ` SRV=${a}`], 'SRV'), a);
  });

  test('the X-Debug decision', () => {
    const a = parseBackend(A)!;
    assert.equal(stickyDecision(null, a), 'new');
    assert.equal(stickyDecision(name(A), a), 'kept');
    assert.equal(stickyDecision(name(B), a), 'replaced');
  });
});

describe('the options as the CLI compares and shows them', () => {
  test('sticky is compared by its cookie, not by identity; balance by its value', () => {
    assert.equal(sameOptions({ sticky: { cookie: 'SRV' } }, { sticky: { cookie: 'SRV' } }), true);
    assert.equal(sameOptions({ sticky: { cookie: 'SRV' } }, { sticky: { cookie: 'OTHER' } }), false);
    assert.equal(sameOptions({ balance: 'random' }, {}), false, 'an option set to its default is still a change in the file');
    assert.equal(optionText({ cookie: 'SRV' }), '{"cookie":"SRV"}');
    assert.equal(optionText('least-requests'), 'least-requests');
  });
});
