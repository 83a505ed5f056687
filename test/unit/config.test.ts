import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ConfigFileSchema } from '../../schema/config.schema.js';
import { ConfigError } from '../../src/config/errors.js';
import { configFromObject, loadConfig, loadConfigFile, resolveConfigPath } from '../../src/config/load.js';
import { parseRedisUrl } from '../../src/config/redis-url.js';

const roots: string[] = [];
after(() => roots.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** A fresh directory holding the given files (objects are written as JSON). */
function tempDir(files: Record<string, unknown> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-config-'));
  roots.push(dir);
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  }
  return dir;
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    assert.equal(err.code, 'SY_CONFIG_INVALID');
    return err;
  }
  assert.fail('expected a ConfigError');
}

const DEFAULT_SERVER = {
  accessLog: null, workers: 1, maxSockets: 100, tcpTimeout: 30, deadBackendTTL: 30, retryOnError: 3,
  deadBackendOn500: true, httpKeepAlive: true, staticDir: null, debug: false, headersTimeout: 10,
  workerMemoryLimitMiB: 512, memoryCheckInterval: 10, drainTimeout: 30, trustedProxies: ['loopback', 'private'], reloadTimeout: 10, shutdownDelay: 0, healthCheck: null,
  keepAliveTimeout: 75, idleTimeout: 60, websocketIdleTimeout: null, maxConnections: 0, accessLogFormat: 'combined', logFormat: 'text',
};

describe('config generations', () => {
  test('the Hipache 0.4 example from the spec loads', () => {
    const dir = tempDir({ 'k.pem': 'key', 'c.pem': 'cert' });
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({
      server: { accessLog: '/var/log/switchyard/access.log', workers: 2, maxSockets: 100, tcpTimeout: 30, deadBackendTTL: 30,
        retryOnError: 3, deadBackendOn500: true, httpKeepAlive: false, staticDir: null, debug: false },
      http: { port: 80, bind: ['127.0.0.1', '::1'] },
      https: { port: 443, bind: ['127.0.0.1'], key: 'k.pem', cert: 'c.pem' },
      driver: ['redis://:password@127.0.0.1:6379/0#prefix:'],
      user: 'www-data',
    }));
    const config = loadConfigFile(file);
    assert.deepEqual(config.server, { ...DEFAULT_SERVER, accessLog: '/var/log/switchyard/access.log', workers: 2, httpKeepAlive: false });
    assert.deepEqual(config.http, { port: 80, bind: ['127.0.0.1', '::1'], proxyProtocol: false });
    assert.deepEqual(config.https, { port: 443, bind: ['127.0.0.1'], key: join(dir, 'k.pem'), cert: join(dir, 'c.pem'), proxyProtocol: false, certDir: null, ciphers: null, minVersion: 'TLSv1.2', ticketKeyRotationMs: 43_200_000, acme: null });
    const endpoint = { host: '127.0.0.1', port: 6379, db: 0, password: 'password', prefix: 'prefix:', display: 'redis://:***@127.0.0.1:6379/0#prefix:' };
    assert.deepEqual(config.redis, { read: endpoint, write: endpoint, tracking: 'auto', syncTimeoutMs: 250, readYourWrites: true });
    assert.equal(config.user, 'www-data');
    assert.equal(config.origin, file);
  });

  test('the pre-0.4 keys map onto listeners and read/write endpoints', () => {
    const dir = tempDir({ 'ssl/k.pem': 'key', 'ssl/c.pem': 'cert' });
    writeFileSync(join(dir, 'config.json'), JSON.stringify({
      server: { port: 8080, address: ['127.0.0.1'], address6: ['::1'], workers: 3, https: { port: 8443, key: 'ssl/k.pem', cert: 'ssl/c.pem' } },
      redisHost: '10.0.0.1', redisPort: 6380, redisDatabase: 2, redisPassword: 'pw',
      redisMasterHost: '10.0.0.2', redisMasterPassword: 'mpw',
    }));
    const config = loadConfigFile(join(dir, 'config.json'));
    assert.equal(config.server.workers, 3);
    assert.deepEqual(config.http, { port: 8080, bind: ['127.0.0.1', '::1'], proxyProtocol: false });
    assert.deepEqual(config.https, { port: 8443, bind: ['127.0.0.1', '::1'], key: join(dir, 'ssl/k.pem'), cert: join(dir, 'ssl/c.pem'), proxyProtocol: false, certDir: null, ciphers: null, minVersion: 'TLSv1.2', ticketKeyRotationMs: 43_200_000, acme: null });
    assert.deepEqual(config.redis?.read, { host: '10.0.0.1', port: 6380, db: 2, password: 'pw', prefix: '', display: 'redis://:***@10.0.0.1:6380/2' });
    assert.deepEqual(config.redis?.write, { host: '10.0.0.2', port: 6379, db: 2, password: 'mpw', prefix: '', display: 'redis://:***@10.0.0.2:6379/2' });
  });

  test('an empty config gets every default: HTTP on port 80, no source', () => {
    const dir = tempDir({ 'config.json': {} });
    const config = loadConfigFile(join(dir, 'config.json'));
    assert.deepEqual(config, {
      server: DEFAULT_SERVER, http: { port: 80, bind: ['0.0.0.0'], proxyProtocol: false }, https: null, redis: null, file: null, admin: null, metrics: { hosts: [] },
      precedence: 'redis', user: null, origin: join(dir, 'config.json'),
    });
  });

  test('the Switchyard source keys: redis options, file and precedence', () => {
    const dir = tempDir({ 'config.json': { driver: 'redis:', redis: { tracking: 'keyspace', syncTimeout: 50 }, file: { path: 'vhosts.yaml' }, precedence: 'file' } });
    const config = loadConfigFile(join(dir, 'config.json'));
    assert.equal(config.redis?.tracking, 'keyspace');
    assert.equal(config.redis?.syncTimeoutMs, 50);
    assert.deepEqual(config.file, { path: join(dir, 'vhosts.yaml') });
    assert.equal(config.precedence, 'file');
  });

  test('the limits of client connections: keepAliveTimeout, idleTimeout, websocketIdleTimeout, maxConnections', () => {
    const dir = tempDir({
      'set.json': { server: { keepAliveTimeout: 30, idleTimeout: 0.5, websocketIdleTimeout: 3600, maxConnections: 10000 } },
      'bad.json': { server: { keepAliveTimeout: 0, idleTimeout: -1, websocketIdleTimeout: 'never', maxConnections: 1.5 } },
    });
    const { server } = loadConfigFile(join(dir, 'set.json'));
    assert.deepEqual([server.keepAliveTimeout, server.idleTimeout, server.websocketIdleTimeout, server.maxConnections], [30, 0.5, 3600, 10000]);
    const file = join(dir, 'bad.json');
    assert.deepEqual([...configError(() => loadConfigFile(file)).problems].sort(), [
      `${file}: /server/idleTimeout: must be > 0`,
      `${file}: /server/keepAliveTimeout: must be > 0`,
      `${file}: /server/maxConnections: must be integer`,
      `${file}: /server/websocketIdleTimeout: must be number`,
    ]);
  });

  test('an HTTPS-only config has no HTTP listener, and an empty bind turns HTTPS off', () => {
    const dir = tempDir({ 'k.pem': 'k', 'c.pem': 'c' });
    writeFileSync(join(dir, 'a.json'), JSON.stringify({ https: { key: 'k.pem', cert: 'c.pem' } }));
    writeFileSync(join(dir, 'b.json'), JSON.stringify({ https: { bind: [], port: 443 } }));
    assert.equal(loadConfigFile(join(dir, 'a.json')).http, null);
    assert.deepEqual(loadConfigFile(join(dir, 'a.json')).https?.bind, ['0.0.0.0']);
    const b = loadConfigFile(join(dir, 'b.json'));
    assert.equal(b.https, null);
    assert.deepEqual(b.http, { port: 80, bind: ['0.0.0.0'], proxyProtocol: false });
  });

  test('logs: accessLog "-" is standard output, accessLogFormat and logFormat; other values are reported with their JSON paths', () => {
    const dir = tempDir({
      'set.json': { server: { accessLog: '-', accessLogFormat: 'json', logFormat: 'json' } },
      'bad.json': { server: { accessLog: '', accessLogFormat: 'jsonl', logFormat: 'JSON' } },
    });
    const { server } = loadConfigFile(join(dir, 'set.json'));
    assert.deepEqual([server.accessLog, server.accessLogFormat, server.logFormat], ['-', 'json', 'json']);
    const file = join(dir, 'bad.json');
    assert.deepEqual([...configError(() => loadConfigFile(file)).problems].sort(), [
      `${file}: /server/accessLog: must NOT have fewer than 1 characters`,
      `${file}: /server/accessLogFormat: must be one of "combined", "json"`,
      `${file}: /server/logFormat: must be one of "text", "json"`,
    ]);
  });

  test('client identity: server.trustedProxies and proxyProtocol on each listener', () => {
    const dir = tempDir({ 'k.pem': 'k', 'c.pem': 'c' });
    writeFileSync(join(dir, 'config.json'), JSON.stringify({
      server: { trustedProxies: ['10.0.0.0/8', 'fd00::/8', '192.0.2.1', 'loopback'] },
      http: { proxyProtocol: true },
      https: { key: 'k.pem', cert: 'c.pem', proxyProtocol: true },
    }));
    const config = loadConfigFile(join(dir, 'config.json'));
    assert.deepEqual(config.server.trustedProxies, ['10.0.0.0/8', 'fd00::/8', '192.0.2.1', 'loopback']);
    assert.equal(config.http?.proxyProtocol, true);
    assert.equal(config.https?.proxyProtocol, true);
  });
});

describe('driver URLs', () => {
  test('bare "redis:" is 127.0.0.1:6379 db 0 without a prefix', () => {
    assert.deepEqual(parseRedisUrl('redis:'), { host: '127.0.0.1', port: 6379, db: 0, prefix: '', display: 'redis:' });
  });

  test('password, user, db, prefix and an IPv6 host', () => {
    const endpoint = parseRedisUrl('redis://alice:s%40cret@[::1]:6380/3#hipache:');
    assert.deepEqual(endpoint, { host: '::1', port: 6380, db: 3, username: 'alice', password: 's@cret', prefix: 'hipache:', display: 'redis://alice:***@[::1]:6380/3#hipache:' });
  });

  test('an empty fragment is an empty prefix; a lone userinfo is the password, as in Hipache', () => {
    const endpoint = parseRedisUrl('redis://secret@redis.local#');
    assert.equal(endpoint.prefix, '');
    assert.equal(endpoint.password, 'secret');
    assert.equal(endpoint.username, undefined);
    assert.equal(endpoint.display, 'redis://***@redis.local#');
  });

  test('bad URLs throw a ConfigError that never shows the password', () => {
    for (const url of ['http://h:1', 'redis://:pw@h/abc', 'redis://:pw@h?db=1', 'redis://:pw@h:99999']) {
      const err = configError(() => parseRedisUrl(url));
      assert.doesNotMatch(err.message, /pw/, err.message);
    }
  });

  test('two URLs: read from the first (replica), write to the second (master) with the same prefix', () => {
    const dir = tempDir({ 'config.json': { driver: ['redis://replica:6379/1#p:', 'redis://:m@master:6380/1'] } });
    const { redis } = loadConfigFile(join(dir, 'config.json'));
    assert.equal(redis?.read?.host, 'replica');
    assert.equal(redis?.write?.host, 'master');
    assert.equal(redis?.write?.port, 6380);
    assert.equal(redis?.write?.password, 'm');
    assert.equal(redis?.write?.prefix, 'p:');
  });
});

describe('finding the config file', () => {
  test('--config wins when SETTINGS_FLAVOR is not set', () => {
    const dir = tempDir({ 'etc/my.json': {}, 'config/config.json': {} });
    assert.equal(resolveConfigPath({ configPath: 'etc/my.json', cwd: dir, env: {} }), join(dir, 'etc/my.json'));
  });

  test('SETTINGS_FLAVOR selects config/config_<flavor>.json under cwd', () => {
    const dir = tempDir({ 'config/config.json': {}, 'config/config_test.json': { server: { workers: 7 } } });
    assert.equal(resolveConfigPath({ cwd: dir, env: { SETTINGS_FLAVOR: 'test' } }), join(dir, 'config/config_test.json'));
    assert.equal(loadConfig({ cwd: dir, env: { SETTINGS_FLAVOR: 'test' } }).server.workers, 7);
  });

  test('with --config and SETTINGS_FLAVOR, the flavored file next to it wins only when it exists', () => {
    const dir = tempDir({ 'etc/my.json': {}, 'etc/config_dev.json': {} });
    const env = (flavor: string) => ({ SETTINGS_FLAVOR: flavor });
    assert.equal(resolveConfigPath({ configPath: 'etc/my.json', cwd: dir, env: env('dev') }), join(dir, 'etc/config_dev.json'));
    assert.equal(resolveConfigPath({ configPath: 'etc/my.json', cwd: dir, env: env('prod') }), join(dir, 'etc/my.json'));
  });

  test('config/config.json is the default, and without it there is no config', () => {
    assert.equal(resolveConfigPath({ cwd: tempDir({ 'config/config.json': {} }), env: {} })?.endsWith('config/config.json'), true);
    assert.equal(resolveConfigPath({ cwd: tempDir(), env: {} }), null);
  });

  test('a missing --config file is a config error', () => {
    const dir = tempDir();
    const err = configError(() => loadConfig({ configPath: 'nope.json', cwd: dir, env: {} }));
    assert.match(err.message, /nope\.json: cannot read the config file: no such file/);
  });
});

describe('invalid config files', () => {
  test('every unknown key and wrong type is reported at once, with its JSON path', () => {
    const dir = tempDir({ 'config.json': {
      server: { wrokers: 2, workers: 'two', tcpTimeout: -1, staticDir: 5 },
      http: { port: 70000, bind: ['127.0.0.1', 8] },
      https: 'yes',
      driver: ['redis://a', 'redis://b', 'redis://c'],
      redis: { tracking: 'sometimes' },
      bogus: true,
    } });
    const file = join(dir, 'config.json');
    const err = configError(() => loadConfigFile(file));
    assert.deepEqual([...err.problems].sort(), [
      `${file}: /bogus: unknown key`,
      `${file}: /driver: must NOT have more than 2 items`,
      `${file}: /http/bind/1: must be string`,
      `${file}: /http/port: must be <= 65535`,
      `${file}: /https: must be object or null`,
      `${file}: /redis/tracking: must be one of "auto", "keyspace", "tracking", "per-request"`,
      `${file}: /server/staticDir: must be string or null`,
      `${file}: /server/tcpTimeout: must be > 0`,
      `${file}: /server/workers: must be integer`,
      `${file}: /server/wrokers: unknown key (did you mean "workers"?)`,
    ]);
    for (const p of err.problems) assert.ok(err.message.includes(p));
  });

  test('a bad server.trustedProxies entry is reported with its JSON path', () => {
    const dir = tempDir({ 'config.json': { server: { trustedProxies: ['loopback', '10.0.0.0/33', 'privat', 7] }, http: { proxyProtocol: 'yes' } } });
    const file = join(dir, 'config.json');
    assert.deepEqual([...configError(() => loadConfigFile(file)).problems].sort(), [
      `${file}: /http/proxyProtocol: must be boolean`,
      `${file}: /server/trustedProxies/3: must be string`,
    ]);
    writeFileSync(file, JSON.stringify({ server: { trustedProxies: ['loopback', '10.0.0.0/33', 'privat'] } }));
    const expected = 'must be an IP address, a CIDR (address/prefix) or one of "loopback", "private", "all"';
    assert.deepEqual(configError(() => loadConfigFile(file)).problems, [
      `${file}: /server/trustedProxies/1: ${expected} (got "10.0.0.0/33")`,
      `${file}: /server/trustedProxies/2: ${expected} (got "privat")`,
    ]);
  });

  test('keys of both generations for the same thing are rejected together', () => {
    const dir = tempDir({ 'config.json': { server: { port: 8080 }, http: { port: 80 }, driver: 'redis://:x@h/nodb', redisHost: 'h' } });
    const file = join(dir, 'config.json');
    const err = configError(() => loadConfigFile(file));
    assert.deepEqual(err.problems, [
      `${file}: /server/port: cannot be combined with "http" (use http.port and http.bind)`,
      `${file}: /redisHost: cannot be combined with "driver"`,
      `${file}: /driver: database must be a number, got "/nodb"`,
    ]);
  });

  test('missing HTTPS key and cert files are config errors', () => {
    const dir = tempDir({ 'config.json': { https: { key: 'missing.key', cert: 'missing.crt', ca: 'ca.pem' } } });
    const file = join(dir, 'config.json');
    const err = configError(() => loadConfigFile(file));
    assert.deepEqual(err.problems, [
      `${file}: /https/key: cannot read "${join(dir, 'missing.key')}": no such file`,
      `${file}: /https/cert: cannot read "${join(dir, 'missing.crt')}": no such file`,
      `${file}: /https/ca: cannot read "${join(dir, 'ca.pem')}": no such file`,
    ]);
  });

  test('a JSON syntax error gives line and column (with and without a position from JSON.parse)', () => {
    const dir = tempDir({
      'trailing.json': '{\n  "server": {\n    "workers": 2,\n  }\n}\n',
      'token.json': '{\n  "http": {\n    "port": }\n}\n',
    });
    const trailing = configError(() => loadConfigFile(join(dir, 'trailing.json')));
    assert.match(trailing.message, /trailing\.json: line 4, column 3: invalid JSON: Expected double-quoted property name/);
    const token = configError(() => loadConfigFile(join(dir, 'token.json')));
    assert.match(token.message, /token\.json: line 3, column 13: invalid JSON: Unexpected token '\}'/);
  });
});

describe('relative paths', () => {
  test('are resolved against the config file directory, not cwd', () => {
    const dir = tempDir({ 'conf/tls/k.pem': 'k', 'conf/tls/c.pem': 'c' });
    writeFileSync(join(dir, 'conf/config.json'), JSON.stringify({
      server: { staticDir: 'static', accessLog: '../log/access.log' },
      https: { key: 'tls/k.pem', cert: 'tls/c.pem', ca: ['tls/c.pem'] },
      file: { path: 'vhosts' },
    }));
    const config = loadConfig({ configPath: 'conf/config.json', cwd: dir, env: {} });
    assert.equal(config.server.staticDir, join(dir, 'conf/static'));
    assert.equal(config.server.accessLog, join(dir, 'log/access.log'));
    assert.equal(config.https?.key, join(dir, 'conf/tls/k.pem'));
    assert.deepEqual(config.https?.ca, [join(dir, 'conf/tls/c.pem')]);
    assert.deepEqual(config.file, { path: join(dir, 'conf/vhosts') });
  });
});

describe('admin API config', () => {
  test('binds loopback by default and needs a token beyond it', () => {
    const ok = configFromObject({ admin: { port: 9180 } }, { origin: null, baseDir: '/' });
    assert.deepEqual(ok.admin, { port: 9180, bind: '127.0.0.1', token: null });
    assert.throws(() => configFromObject({ admin: { port: 9180, bind: '0.0.0.0' } }, { origin: null, baseDir: '/' }), /\/admin\/token/);
    const open = configFromObject({ admin: { port: 9180, bind: '0.0.0.0', token: 'a-long-enough-token' } }, { origin: null, baseDir: '/' });
    assert.equal(open.admin?.token, 'a-long-enough-token');
  });
});

describe('Redis Sentinel config', () => {
  const load = (value: unknown) => configFromObject(value, { origin: 'config.json', baseDir: '/' });

  test('redis.sentinel: nodes in order (default port 26379, IPv6 in brackets), master settings, no fixed endpoints', () => {
    const config = load({
      redis: {
        tracking: 'keyspace',
        sentinel: { name: 'mymaster', nodes: ['10.0.0.1:26380', 'sentinel.local', '[::1]:26381'], password: 'sp', masterPassword: 'mp', db: 2, prefix: 'h:' },
      },
    });
    assert.deepEqual(config.redis, {
      tracking: 'keyspace',
      syncTimeoutMs: 250,
      readYourWrites: true,
      sentinel: {
        name: 'mymaster',
        nodes: [{ host: '10.0.0.1', port: 26380 }, { host: 'sentinel.local', port: 26379 }, { host: '::1', port: 26381 }],
        password: 'sp',
        masterPassword: 'mp',
        db: 2,
        prefix: 'h:',
      },
    });
    assert.deepEqual(load({ redis: { sentinel: { name: 'm', nodes: ['127.0.0.1'] } } }).redis?.sentinel, { name: 'm', nodes: [{ host: '127.0.0.1', port: 26379 }], db: 0, prefix: '' });
  });

  test('sentinel with driver or pre-0.4 keys, bad nodes and unknown keys are reported with their JSON paths', () => {
    const err = configError(() => load({ driver: 'redis://127.0.0.1:6379', redisHost: 'h', redis: { sentinel: { name: 'm', nodes: ['a:99999', 'a:b:c', '::1'] } } }));
    assert.deepEqual(err.problems, [
      'config.json: /redis/sentinel: cannot be combined with "driver": the sentinels name the master (use one or the other)',
      'config.json: /redis/sentinel: cannot be combined with "redisHost": the sentinels name the master (use one or the other)',
      'config.json: /redis/sentinel/nodes/0: port 99999 is out of range 1..65535',
      'config.json: /redis/sentinel/nodes/1: must be "host:port" ("[v6-address]:port" for IPv6), got "a:b:c"',
    ]);
    const schema = configError(() => load({ redis: { sentinel: { name: 'm', nodes: [], pasword: 'x' } } }));
    assert.deepEqual(schema.problems, [
      'config.json: /redis/sentinel/pasword: unknown key (did you mean "password"?)',
      'config.json: /redis/sentinel/nodes: must NOT have fewer than 1 items',
    ]);
  });
});

describe('the published schema', () => {
  test('schema/config.schema.json, which the validator reads, is generated from the TypeBox source (run scripts/gen-schemas.ts)', () => {
    const published = JSON.parse(readFileSync(new URL('../../schema/config.schema.json', import.meta.url), 'utf8'));
    assert.deepEqual(published, JSON.parse(JSON.stringify(ConfigFileSchema)));
  });
});

describe('https.acme', () => {
  const https = { port: 8443, bind: ['127.0.0.1'], key: 'k.pem', cert: 'c.pem' };

  test('paths resolved against the config file, storage next to it by default, seconds as ms', () => {
    const dir = tempDir({ 'k.pem': 'key', 'c.pem': 'cert' });
    const config = configFromObject(
      { http: { port: 8080 }, https: { ...https, acme: { directory: 'https://127.0.0.1:14000/dir', email: 'ops@x.test', ca: 'pebble.pem' } } },
      { origin: null, baseDir: dir },
    );
    assert.deepEqual(config.https?.acme, {
      directory: 'https://127.0.0.1:14000/dir',
      email: 'ops@x.test',
      ca: join(dir, 'pebble.pem'),
      storage: join(dir, 'acme'),
      checkIntervalMs: 60_000,
      retryAfterMs: 300_000,
    });
  });

  test('needs the HTTP listener (HTTP-01 is validated on it); a directory must be a URL', () => {
    const acme = { directory: 'https://127.0.0.1:14000/dir', email: 'ops@x.test' };
    assert.throws(() => configFromObject({ http: { bind: [] }, https: { ...https, acme } }, { origin: null, baseDir: '/' }), /\/https\/acme.*HTTP listener/);
    assert.throws(() => configFromObject({ https: { ...https, acme: { ...acme, directory: 'ftp://x' } } }, { origin: null, baseDir: '/' }), /directory/);
  });
});

const fromObject = (value: unknown) => configFromObject(value, { origin: null, baseDir: '/' });

describe('server.healthCheck', () => {
  test('is kept as written (defaults are applied per backend); false is none', () => {
    assert.deepEqual(fromObject({ server: { healthCheck: { path: '/health', interval: 5 } } }).server.healthCheck, { path: '/health', interval: 5 });
    assert.equal(fromObject({ server: { healthCheck: false } }).server.healthCheck, null);
  });

  test('rejects a bad field with its JSON path', () => {
    assert.throws(() => fromObject({ server: { healthCheck: { interval: 0 } } }), /\/server\/healthCheck/);
    assert.throws(() => fromObject({ server: { healthCheck: { path: 'health' } } }), /\/server\/healthCheck/);
    assert.throws(() => fromObject({ server: { healthCheck: { unhealthyAfter: 0 } } }), /\/server\/healthCheck/);
    assert.throws(() => fromObject({ server: { healthCheck: { every: 3 } } }), /\/server\/healthCheck/);
  });
});
