import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readFeatureList } from '../../src/core/coverage/readFeatureList.ts';

describe('readFeatureList', () => {
  const dir = mkdtempSync(join(tmpdir(), 'facet-features-list-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it('reads JSON arrays, {features: […]} objects and plain text with comments, sorted and deduplicated', async () => {
    expect(await readFeatureList(file('a.json', '[5, 2, 5, 9]'))).toEqual([2, 5, 9]);
    expect(await readFeatureList(file('b.json', '{"features": [3, 1], "rubric": "toxicity"}'))).toEqual([1, 3]);
    expect(await readFeatureList(file('c.txt', '# relevant features\n7, 4\n4 100 # trailing note\n'))).toEqual([4, 7, 100]);
  });

  it('refuses ids that are not non-negative integers, bad JSON and missing files with the path in the message', async () => {
    await expect(readFeatureList(file('d.txt', '1 two 3'))).rejects.toThrow(/d\.txt holds 'two'/);
    await expect(readFeatureList(file('e.json', '[1, -2]'))).rejects.toThrow(/not a feature id/);
    await expect(readFeatureList(file('f.json', '[1,'))).rejects.toThrow(/not valid JSON/);
    await expect(readFeatureList(join(dir, 'missing.txt'))).rejects.toThrow(/missing\.txt cannot be read/);
  });
});
