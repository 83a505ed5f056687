// Writes the JSON Schema files in schema/ from their TypeBox sources, so the
// published schema and the TypeScript types cannot drift apart.
// Run: npx tsx scripts/gen-schemas.ts

import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigFileSchema } from '../schema/config.schema.js';
import { VhostsFileSchema } from '../schema/vhosts.schema.js';

const schemaDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'schema');

const outputs: Array<[file: string, schema: object]> = [
  ['config.schema.json', ConfigFileSchema],
  ['vhosts.schema.json', VhostsFileSchema],
];

for (const [file, schema] of outputs) {
  // JSON.stringify drops TypeBox's symbol-keyed metadata, leaving plain JSON Schema.
  writeFileSync(join(schemaDir, file), `${JSON.stringify(schema, null, 2)}\n`);
  console.log(`wrote schema/${file}`);
}
