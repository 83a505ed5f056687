// The three ways a vhosts file gets replaced in real life, as the propagation
// scenario performs them:
//   inplace  an editor that truncates and rewrites the file (same inode);
//   rename   an editor that writes a temporary file and renames it over;
//   symlink  a Kubernetes ConfigMap volume: files live in a timestamped
//            directory, `..data` points at it, `vhosts.yaml` -> `..data/vhosts.yaml`;
//            an update writes a new directory, points `..data_tmp` at it and
//            renames `..data_tmp` over `..data` (kubelet's AtomicWriter).

import { mkdirSync, writeFileSync, renameSync, symlinkSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export const SAVE_MODES = ['inplace', 'rename', 'symlink'];

/** YAML for the given hosts: { host: backendUrl }. */
export function vhostsYaml(hosts) {
  let s = 'vhosts:\n';
  for (const [host, url] of Object.entries(hosts)) s += `  ${JSON.stringify(host)}:\n    backends: [${JSON.stringify(url)}]\n`;
  return s;
}

export function initVhostsDir(dir, mode, content) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  if (mode === 'symlink') {
    mkdirSync(join(dir, '..v0'));
    writeFileSync(join(dir, '..v0', 'vhosts.yaml'), content);
    symlinkSync('..v0', join(dir, '..data'));
    symlinkSync(join('..data', 'vhosts.yaml'), join(dir, 'vhosts.yaml'));
  } else {
    writeFileSync(join(dir, 'vhosts.yaml'), content);
  }
}

/** Save number `seq` (1, 2, ...) of `content`, the way `mode` does it. Synchronous: returns once saved. */
export function saveVhosts(dir, mode, content, seq) {
  const file = join(dir, 'vhosts.yaml');
  switch (mode) {
    case 'inplace':
      writeFileSync(file, content);
      return;
    case 'rename': {
      const tmp = join(dir, `.vhosts.yaml.${seq}.tmp`);
      writeFileSync(tmp, content);
      renameSync(tmp, file);
      return;
    }
    case 'symlink': {
      const version = `..v${seq}`;
      mkdirSync(join(dir, version));
      writeFileSync(join(dir, version, 'vhosts.yaml'), content);
      symlinkSync(version, join(dir, '..data_tmp'));
      renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
      rmSync(join(dir, `..v${seq - 1}`), { recursive: true, force: true });
      return;
    }
    default:
      throw new Error(`unknown save mode ${mode}`);
  }
}
