// The admin token, as a bearer token (scripts) or as the password of HTTP
// Basic (a browser's page load and EventSource cannot set a bearer header).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { authorized } from '../../app/admin/auth.js';

const TOKEN = 'a-long-enough-admin-token';
const basic = (credentials: string) => `Basic ${Buffer.from(credentials).toString('base64')}`;

describe('admin token', () => {
  it('accepts the token as a bearer token, or as the Basic password with any user name', () => {
    assert.equal(authorized(TOKEN, `Bearer ${TOKEN}`), true);
    assert.equal(authorized(TOKEN, basic(`admin:${TOKEN}`)), true);
    assert.equal(authorized(TOKEN, basic(`:${TOKEN}`)), true);
    assert.equal(authorized(TOKEN, basic(`ops:${TOKEN}`)), true);
  });

  it('refuses a missing, wrong, truncated or misplaced token', () => {
    for (const header of [
      undefined,
      '',
      `Bearer ${TOKEN.slice(0, -1)}`,
      `Bearer ${TOKEN}x`,
      `Token ${TOKEN}`,
      basic(`${TOKEN}:`), // the token as the user name
      basic(TOKEN), // no colon at all
      basic(`admin:${TOKEN.toUpperCase()}`),
      `Basic ${TOKEN}`, // not base64 of user:password
    ]) {
      assert.equal(authorized(TOKEN, header), false, String(header));
    }
  });

  it('asks for nothing when no token is configured', () => {
    assert.equal(authorized(null, undefined), true);
  });
});
