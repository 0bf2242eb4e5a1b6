import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
// @ts-expect-error -- a plain Node script (scripts/contract.mjs), shared with `make schemas`
import { generate, typesFile } from '../../scripts/contract.mjs';

describe('generated contract types', () => {
  it('match what the generator makes from the committed schema (run `make schemas`)', async () => {
    const committed = await readFile(typesFile, 'utf8');
    expect(committed).toBe(await generate());
  });
});
