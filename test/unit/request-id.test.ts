import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isValidRequestId, MAX_REQUEST_ID_LENGTH, nextRequestId, requestIdFor } from '../../src/proxy/request-id.js';

describe('request ids', () => {
  test('a generated id is 32 hex digits, and never the same twice', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 100_000; i++) ids.add(nextRequestId());
    assert.equal(ids.size, 100_000);
    for (const id of [...ids].slice(0, 1000)) assert.match(id, /^[0-9a-f]{32}$/);
  });

  test("the random part differs between processes: two workers' ids do not collide", async () => {
    const { execFileSync } = await import('node:child_process');
    const script = "import('./src/proxy/request-id.ts').then((m) => console.log(m.nextRequestId()))";
    const run = () => execFileSync(process.execPath, ['--import', 'tsx', '-e', script], { encoding: 'utf8' }).trim();
    const [a, b] = [run(), run()];
    assert.match(a, /^[0-9a-f]{32}$/);
    assert.notEqual(a.slice(0, 20), b.slice(0, 20));
  });

  test('a kept id is visible ASCII, 1 to 200 characters', () => {
    for (const ok of ['a', 'f81d4fae-7dec-11d0-a765-00a0c91e6bf6', '~!#$%&*+-.^_`|"\\', 'x'.repeat(MAX_REQUEST_ID_LENGTH)]) assert.ok(isValidRequestId(ok), ok);
    for (const bad of ['', 'with space', 'tab\there', 'caf\u00e9', 'nul\u0000', 'del\u007f', 'x'.repeat(MAX_REQUEST_ID_LENGTH + 1)]) assert.ok(!isValidRequestId(bad), JSON.stringify(bad));
  });

  test("a trusted peer's valid id is kept; an untrusted peer's, an invalid or a repeated one ('') is replaced", () => {
    assert.equal(requestIdFor('abc-123', true), 'abc-123');
    for (const [sent, trusted] of [['abc-123', false], [undefined, true], ['', true], ['bad id', true]] as const) {
      const id = requestIdFor(sent, trusted);
      assert.match(id, /^[0-9a-f]{32}$/, `${String(sent)} from a ${trusted ? '' : 'un'}trusted peer`);
    }
  });
});
