import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FacetError } from '../../src/shared/FacetError.ts';
import { trainTiedTopKSae, type SaeTrainingOptions } from '../../src/core/sae/training/trainTiedTopKSae.ts';
import { SparseDirectionsSource } from '../../src/core/sae/training/SparseDirectionsSource.ts';
import { activationSourceFromIterables } from '../../src/core/sae/training/ActivationSource.ts';

const sourceOptions = { dIn: 24, directions: 32, activePerRow: 3, chunks: 40, rowsPerChunk: 50, noise: 0.02, seed: 5 };
// Chunks of 50 rows, batches of 64 and a 128-row shuffle buffer: batches straddle chunks, the
// buffer holds leftovers at every checkpoint, and K anneals across the kill point.
const settings: Omit<SaeTrainingOptions, 'source'> = {
  dSae: 48,
  k: 4,
  kAnnealFrom: 12,
  kAnnealSteps: 30,
  epochs: 2,
  batchTokens: 64,
  shuffleTokens: 128,
  validationFraction: 0.1,
  threads: 1,
  device: 'cpu',
  checkpointEverySteps: 5,
};

const folders: string[] = [];
async function folder(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'facet-sae-train-'));
  folders.push(dir);
  return dir;
}
afterAll(async () => {
  for (const dir of folders) await rm(dir, { recursive: true, force: true });
});

function identical(a: Float32Array, b: Float32Array): boolean {
  return a.length === b.length && a.every((value, i) => Object.is(value, b[i]));
}

describe('SAE training checkpoints', () => {
  it('saves a checkpoint when cancelled and resumes to bit-identical weights, history and step count', async () => {
    const source = new SparseDirectionsSource(sourceOptions);
    const straight = await trainTiedTopKSae({ source, ...settings, checkpointDir: await folder() });
    expect(straight.complete).toBe(true);

    const dir = await folder();
    const controller = new AbortController();
    // Abort in epoch 1 between scheduled checkpoints: the cancel itself saves one.
    const stopAt = Math.floor(straight.steps / 2) + 3;
    await expect(
      trainTiedTopKSae({ source, ...settings, checkpointDir: dir }, { signal: controller.signal, onProgress: (p) => p.step === stopAt && controller.abort() }),
    ).rejects.toMatchObject({ code: 'CANCELLED' });
    const resumed = await trainTiedTopKSae({ source, ...settings, checkpointDir: dir });
    expect(resumed.resumedFromStep).toBe(stopAt);
    expect(resumed.steps).toBe(straight.steps);
    expect(identical(resumed.parameters.weight, straight.parameters.weight)).toBe(true);
    expect(identical(resumed.parameters.encoderBias, straight.parameters.encoderBias)).toBe(true);
    expect(identical(resumed.parameters.decoderBias, straight.parameters.decoderBias)).toBe(true);
    expect(resumed.history).toEqual(straight.history);
  });

  it('resumes a process killed with SIGKILL to the same weights', async () => {
    const source = new SparseDirectionsSource(sourceOptions);
    const straight = await trainTiedTopKSae({ source, ...settings });
    const dir = await folder();
    const script = `
      import { trainTiedTopKSae } from ${JSON.stringify(resolve('src/core/sae/training/trainTiedTopKSae.ts'))};
      import { SparseDirectionsSource } from ${JSON.stringify(resolve('src/core/sae/training/SparseDirectionsSource.ts'))};
      const settings = ${JSON.stringify(settings)};
      // 15 ms per step, so the parent's SIGKILL lands mid-run.
      const pause = new Int32Array(new SharedArrayBuffer(4));
      await trainTiedTopKSae({ source: new SparseDirectionsSource(${JSON.stringify(sourceOptions)}), ...settings, checkpointDir: ${JSON.stringify(dir)} },
        { onProgress: (p) => { if (p.phase === 'train') { process.stdout.write('step ' + p.step + '\\n'); Atomics.wait(pause, 0, 0, 15); } } });
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const killedAt = await new Promise<number>((done, fail) => {
      let text = '';
      child.stdout.on('data', (data: Buffer) => {
        text += data.toString();
        const steps = [...text.matchAll(/step (\d+)/g)].map((m) => Number(m[1]));
        const last = steps.at(-1) ?? 0;
        if (last >= 23 && child.exitCode === null && !child.killed) {
          child.kill('SIGKILL');
          done(last);
        }
      });
      child.on('exit', (code, signal) => signal === null && fail(new Error(`child exited with ${code} before it was killed`)));
    });
    expect(killedAt).toBeGreaterThanOrEqual(23);
    expect(await readdir(dir)).toContain('checkpoint');
    const resumed = await trainTiedTopKSae({ source, ...settings, checkpointDir: dir });
    expect(resumed.resumedFromStep).toBeGreaterThanOrEqual(20);
    expect(resumed.resumedFromStep).toBeLessThan(straight.steps);
    expect(identical(resumed.parameters.weight, straight.parameters.weight)).toBe(true);
    expect(identical(resumed.parameters.decoderBias, straight.parameters.decoderBias)).toBe(true);
  });

  it('stops after maxSteps with a checkpoint and refuses to resume with other settings', async () => {
    const source = new SparseDirectionsSource(sourceOptions);
    const dir = await folder();
    const partial = await trainTiedTopKSae({ source, ...settings, checkpointDir: dir, maxSteps: 7 });
    expect(partial.complete).toBe(false);
    expect(partial.steps).toBe(7);
    const error = await trainTiedTopKSae({ source, ...settings, k: 5, checkpointDir: dir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FacetError);
    expect((error as FacetError).code).toBe('INVALID_ARGUMENT');
    expect((error as FacetError).message).toMatch(/k: 4 there, 5 now/);
    const finished = await trainTiedTopKSae({ source, ...settings, checkpointDir: dir });
    expect(finished.resumedFromStep).toBe(7);
    expect(finished.complete).toBe(true);
  });

  it('resumes from the previous checkpoint when a save was cut between its renames', async () => {
    const source = new SparseDirectionsSource(sourceOptions);
    const straight = await trainTiedTopKSae({ source, ...settings });
    const dir = await folder();
    await trainTiedTopKSae({ source, ...settings, checkpointDir: dir, maxSteps: 12 });
    // State of a save killed after moving the old checkpoint aside, before the new one landed.
    await rename(join(dir, 'checkpoint'), join(dir, 'checkpoint.old'));
    const resumed = await trainTiedTopKSae({ source, ...settings, checkpointDir: dir });
    expect(resumed.resumedFromStep).toBe(12);
    expect(identical(resumed.parameters.weight, straight.parameters.weight)).toBe(true);
  });

  it('trains the same from a plain AsyncIterable factory as from a skipping source', async () => {
    const source = new SparseDirectionsSource(sourceOptions);
    const plain = activationSourceFromIterables(source.dIn, async function* () {
      for (let c = 0; c < sourceOptions.chunks; c++) yield source.chunk(c);
    });
    const a = await trainTiedTopKSae({ source, ...settings, epochs: 1 });
    const b = await trainTiedTopKSae({ source: plain, ...settings, epochs: 1 });
    expect(identical(a.parameters.weight, b.parameters.weight)).toBe(true);
    expect(b.history).toEqual(a.history);
  });

  it('stops with SAE_NAN naming the step when activations hold NaN', async () => {
    const clean = new SparseDirectionsSource(sourceOptions);
    const source = {
      dIn: clean.dIn,
      async *chunks({ startChunk }: { startChunk: number }) {
        for (let c = startChunk; c < 10; c++) {
          const chunk = clean.chunk(c);
          if (c === 6) chunk[17] = Number.NaN;
          yield chunk;
        }
      },
    };
    const error = await trainTiedTopKSae({ source, ...settings, validationFraction: 0, shuffleTokens: 64 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FacetError);
    expect((error as FacetError).code).toBe('SAE_NAN');
    expect((error as FacetError).message).toMatch(/diverged at step \d+.*NaN\/Inf/);
  });

  it('rejects chunks whose length is not a multiple of d_in', async () => {
    const source = { dIn: 4, async *chunks() { yield new Float32Array(10); } };
    await expect(trainTiedTopKSae({ source, dSae: 8, k: 2, epochs: 1, batchTokens: 4, threads: 1, device: 'cpu' })).rejects.toMatchObject({ code: 'SAE_SHAPE_MISMATCH' });
  });
});
