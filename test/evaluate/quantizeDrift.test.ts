import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readGgufHeader } from '../../src/core/gguf/GgufReader.ts';
import { Store } from '../../src/core/store/Store.ts';
import { forgeModelAndSae, populateWorkspace } from '../features/featureFixtures.ts';
import { runFacet } from '../support/runFacet.ts';
import { tempHome } from '../support/tempHome.ts';

describe('facet models quantize and facet sae drift (forged llama3, TopK SAE)', () => {
  const home = tempHome('facet-drift-');
  let modelPath: string;
  const json = (stdout: string) => JSON.parse(stdout.trim().split('\n').pop()!);
  beforeAll(async () => {
    const forged = await forgeModelAndSae();
    modelPath = forged.modelPath;
    const store = Store.open(join(home.path, 'facet.db'));
    await populateWorkspace(store, home.path, { config: forged.config, weights: forged.weights });
    store.close();
  }, 120_000);
  afterAll(() => home.remove());

  it("quantizes with llama.cpp's own quantizer and reports drift against the first variant", async () => {
    const q8 = join(home.path, 'q8.gguf');
    const q4 = join(home.path, 'q4.gguf');
    for (const [type, out] of [['q8_0', q8], ['q4_0', q4]] as const) {
      const run = await runFacet(['models', 'quantize', modelPath, '--type', type, '--out', out, '--name', `tiny-${type}`, '--json'], home.path, { timeoutMs: 120_000 });
      expect(run.code, run.stderr).toBe(0);
      expect(json(run.stdout)).toMatchObject({ type, registered: `tiny-${type}` });
      expect(statSync(out).size).toBeLessThan(statSync(modelPath).size);
    }
    // llama.cpp records the file type it wrote: 7 = MOSTLY_Q8_0, 2 = MOSTLY_Q4_0
    expect((await readGgufHeader(q8)).metadata.get('general.file_type')?.value).toBe(7);
    expect((await readGgufHeader(q4)).metadata.get('general.file_type')?.value).toBe(2);

    const drift = await runFacet(['sae', 'drift', '--sae', 'test-sae', '--models', `${modelPath},tiny-q8_0,tiny-q4_0`, '--dataset', 'anchor', '--tokens', '512', '--cpu', '--json'], home.path, { timeoutMs: 300_000 });
    expect(drift.code, drift.stderr).toBe(0);
    const report = json(drift.stdout);
    expect(report.variants).toHaveLength(3);
    const [reference, ...others] = report.variants;
    expect(reference.facAgainstReference).toBe(1);
    expect(reference.meanJaccard).toBe(1);
    for (const variant of others) {
      expect(variant.meanJaccard).toBeGreaterThan(0);
      expect(variant.meanJaccard).toBeLessThanOrEqual(1);
      expect(variant.facAgainstReference).toBeGreaterThan(0);
      expect(variant.fractionOfVarianceUnexplained).toBeGreaterThan(0);
    }
    // three different models: three feature spaces
    expect(new Set(report.variants.map((v: { spaceId: number }) => v.spaceId)).size).toBe(3);
  }, 600_000);

  it('refuses a quantization type llama.cpp does not know, and an existing output, with one coded line', async () => {
    const unknown = await runFacet(['models', 'quantize', modelPath, '--type', 'q9_z', '--out', join(home.path, 'x.gguf')], home.path);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^Error \[INVALID_ARGUMENT\]: llama.cpp does not know the quantization type 'q9_z'/);
    const existing = await runFacet(['models', 'quantize', modelPath, '--type', 'q8_0', '--out', join(home.path, 'q8.gguf')], home.path);
    expect(existing.code).toBe(2);
    expect(existing.stderr).toMatch(/already exists/);
    // refused before a job queued: the workspace holds only the two quantizations of the first test, as jobs
    const jobs = json((await runFacet(['jobs', 'list', '--json'], home.path)).stdout) as { kind: string; state: string }[];
    expect(jobs.filter((job) => job.kind === 'model.quantize').map((job) => job.state)).toEqual(['done', 'done']);
  });
});
