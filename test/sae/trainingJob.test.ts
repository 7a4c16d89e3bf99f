import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { JobRunner } from '../../src/core/jobs/JobRunner.ts';
import { SaeRegistry } from '../../src/core/sae/SaeRegistry.ts';
import { createSaeTrainingJob, type SaeTrainingParams, type SaeTrainingSummary } from '../../src/core/sae/training/runSaeTraining.ts';
import { Store } from '../../src/core/store/Store.ts';
import { forgeTestModel } from '../forge/forgeTestModel.ts';
import { tempHome } from '../support/tempHome.ts';

describe('sae.train as a job', () => {
  const home = tempHome('facet-sae-job-');
  afterAll(() => home.remove());

  it('runs through the JobRunner with token progress and registers the SAE', async () => {
    const { path } = await forgeTestModel({ family: 'mistral', layers: 3, dim: 64, heads: 4, kvHeads: 2, seed: 5, contextLength: 512 });
    const dataset = join(home.path, 'texts.jsonl');
    writeFileSync(dataset, Array.from({ length: 30 }, (_, i) => JSON.stringify({ text: `Note ${i}: ${'abcdefghij'.slice(i % 5)} ${i * 17}` })).join('\n'));
    const store = Store.open(join(home.path, 'facet.db'));
    const runner = new JobRunner(store);
    try {
      runner.register(createSaeTrainingJob(store, home.path));
      const params: SaeTrainingParams = { model: path, layer: 2, dataset, name: 'job-sae', features: 96, k: 5, epochs: 2, batchTokens: 48, threads: 1, device: 'cpu', cpuModel: true };
      const seen: number[] = [];
      runner.subscribe((job) => seen.push(job.done));
      const submitted = runner.submit('sae.train', params);
      expect(submitted.title).toContain('l_out-2');
      const finished = await runner.wait(submitted.id);
      expect(finished.state, JSON.stringify(finished.error)).toBe('done');
      const summary = finished.result as SaeTrainingSummary;
      expect(summary.sae).toMatchObject({ name: 'job-sae', dSae: 96, k: 5, layer: 2 });
      expect(finished.done).toBe(summary.tokens);
      expect(finished.total).toBe(summary.tokens);
      expect(Math.max(...seen)).toBe(summary.tokens);
      expect(new SaeRegistry(store, home.path).get('job-sae').architecture).toBe('topk');

      // Cancel a second run mid-way: it saves a checkpoint; the same request submitted again
      // continues from it instead of starting over.
      const again: SaeTrainingParams = { ...params, name: 'job-sae-2', seed: 1 };
      const first = runner.submit('sae.train', again);
      const unsubscribe = runner.subscribe((job) => {
        if (job.id === first.id && job.done > 0 && job.state === 'running') runner.cancel(first.id);
      });
      const cancelled = await runner.wait(first.id);
      unsubscribe();
      expect(cancelled.state).toBe('cancelled');
      const second = await runner.wait(runner.submit('sae.train', again).id);
      expect(second.state, JSON.stringify(second.error)).toBe('done');
      const resumed = second.result as SaeTrainingSummary;
      expect(resumed.resumedFromStep).toBeGreaterThan(0);
      expect(resumed.tokens).toBe(summary.tokens);
    } finally {
      await runner.close();
      store.close();
    }
  });
});
