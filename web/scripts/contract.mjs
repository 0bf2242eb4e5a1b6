// The dashboard's API types, generated from the bridge's contract (bridge/contract.py →
// src/generated/contract.schema.json → src/generated/contract.ts). `make schemas` runs it;
// src/generated/contract.test.ts fails when the committed file differs from what it makes.
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { compile } from 'json-schema-to-typescript';

const here = new URL('../src/generated/', import.meta.url);
export const schemaFile = fileURLToPath(new URL('contract.schema.json', here));
export const typesFile = fileURLToPath(new URL('contract.ts', here));

export async function generate() {
  const schema = JSON.parse(await readFile(schemaFile, 'utf8'));
  return compile(schema, 'BridgeApi', {
    additionalProperties: false,
    unreachableDefinitions: true,
    bannerComment:
      '// Generated from bridge/contract.py (via contract.schema.json) by `make schemas`. Do not edit.',
    style: { singleQuote: true, printWidth: 98 },
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await writeFile(typesFile, await generate());
}
