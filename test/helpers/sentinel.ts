// A real Redis Sentinel (redis-server --sentinel) for the failover tests. The
// conf file is written into a temp dir of its own: sentinel rewrites it.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { onCleanup, type CleanupScope } from './cleanup.js';
import { freePort } from './ports.js';
import { spawnCaptured } from './process.js';
import { rawRedisCommand, redisClient } from './redis-proxy.js';
import { tempDir } from './tmp.js';
import { waitFor } from './wait.js';

export interface Sentinel {
  port: number;
  /** "127.0.0.1:<port>", as the proxy config lists it. */
  address: string;
  /** `SENTINEL get-master-addr-by-name <name>` as "host:port" ('' when unknown). */
  masterAddress(): Promise<string>;
  /** Ports of the replicas the sentinel knows of the master. */
  replicaPorts(): Promise<number[]>;
  logs(): string;
}

export interface SentinelOptions {
  name: string;
  masterPort: number;
  /** Defaults keep a failover within a few seconds. */
  downAfterMs?: number;
  failoverTimeoutMs?: number;
  scope?: CleanupScope;
}

export async function startSentinel(opts: SentinelOptions): Promise<Sentinel> {
  const port = await freePort();
  const dir = tempDir('sentinel', opts.scope);
  const conf = path.join(dir, 'sentinel.conf');
  writeFileSync(
    conf,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      'daemonize no',
      `dir ${dir}`,
      `sentinel monitor ${opts.name} 127.0.0.1 ${opts.masterPort} 1`,
      `sentinel down-after-milliseconds ${opts.name} ${opts.downAfterMs ?? 500}`,
      `sentinel failover-timeout ${opts.name} ${opts.failoverTimeoutMs ?? 2000}`,
      '',
    ].join('\n'),
  );
  const proc = spawnCaptured('redis-server', [conf, '--sentinel']);
  onCleanup(() => proc.stop('SIGTERM', 5000), opts.scope);
  await waitFor(
    async () => {
      if (proc.hasExited()) throw new Error(`redis sentinel exited:\n${proc.output()}`);
      return (await rawRedisCommand(port, 'PING')) === '+PONG';
    },
    { timeoutMs: 10_000, intervalMs: 50, message: `redis sentinel on ${port} answering PING` },
  );
  const client = await redisClient(`redis://127.0.0.1:${port}`, opts.scope);
  const sentinel: Sentinel = {
    port,
    address: `127.0.0.1:${port}`,
    masterAddress: async () => {
      const reply = await client.sendCommand(['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', opts.name]);
      return Array.isArray(reply) ? reply.map(String).join(':') : '';
    },
    replicaPorts: async () => {
      const reply = (await client.sendCommand(['SENTINEL', 'REPLICAS', opts.name])) as unknown[];
      // One entry per replica: a flat [field, value, ...] list, or an object (node-redis maps some replies).
      return reply.map((fields) => {
        if (!Array.isArray(fields)) return Number((fields as Record<string, unknown>).port);
        const list = fields.map(String);
        return Number(list[list.indexOf('port') + 1]);
      });
    },
    logs: proc.output,
  };
  return sentinel;
}
