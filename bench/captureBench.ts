/**
 * `npm run bench:capture`: on a forged 8-block model (n_embd 256, mistral tokenizer), same threads
 * (1 unless FACET_BENCH_THREADS says otherwise), same run:
 *  - residual capture at block 3 with early stop vs a full forward pass of the same tokens
 *    (captureRatio = capture time / full time; target ≤ 0.65);
 *  - greedy generation through the probe addon vs node-llama-cpp's own evaluator on the same model
 *    (genRatio = our tokens/s / node-llama-cpp's; target ≥ 0.9);
 *  - the cost of the process boundary: the same early-stop capture run in a model process (the
 *    ModelProcessHost that `facet serve` and the desktop use for model work, activations sent back
 *    over IPC) vs in this process (boundaryRatio = boundary time / in-process time, warm), the model
 *    process's start-up (fork to ready, processStartMs) and its first call (start-up, model load
 *    and the capture, processFirstCallMs) beside loading the model here (inProcessLoadMs).
 * Prints one JSON line:
 * {"bench":"capture","captureTokPerSec":…,"fullTokPerSec":…,"captureRatio":…,"genRatio":…,
 *  "boundaryRatio":…,"processStartMs":…,"processFirstCallMs":…,"inProcessLoadMs":…}
 */
import { loadavg, tmpdir } from 'node:os';
import type { Token } from 'node-llama-cpp';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { forgeModel } from '../src/core/forge/forgeModel.ts';
import { ProbeModel } from '../src/core/llama/ProbeModel.ts';
import { defaultThreadCount } from '../src/core/llama/physicalCoreCount.ts';
import { Store } from '../src/core/store/Store.ts';
import { databasePath } from '../src/core/workspace/resolveFacetHome.ts';
import { ModelProcessHost } from '../src/engine/modelProcessHost.ts';

// One thread by default: on shared cores, llama.cpp's spinning worker threads make multi-thread
// timings swing by 2x between runs. FACET_BENCH_THREADS=<n> (or "cores") overrides.
const threadSetting = process.env.FACET_BENCH_THREADS ?? '1';
const threads = threadSetting === 'cores' ? defaultThreadCount() : Number(threadSetting);
const layers = 8;
const dim = 256;
const captureLayer = 3;
const repeats = 5;
const generateTokens = 128;

const folder = join(tmpdir(), 'facet-bench');
mkdirSync(folder, { recursive: true });
const path = join(folder, `mistral-L${layers}-d${dim}-s1.gguf`);
if (!existsSync(path)) await forgeModel({ family: 'mistral', layers, dim, seed: 1, contextLength: 4096, out: path });

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const loadStarted = performance.now();
const model = await ProbeModel.load(path, { gpu: false });
const words = 'the river runs past old mills and quiet towns toward a wide grey sea where ships wait'.split(' ');
const samples = Array.from({ length: 24 }, (_, i) => {
  const text = Array.from({ length: 60 + (i % 5) * 15 }, (_, j) => words[(i * 7 + j * 3) % words.length]).join(' ');
  return model.prepare(text, { maxTokens: 512 }).tokens;
});
const tokenCount = samples.reduce((sum, sample) => sum + sample.length, 0);

const contextOptions = { contextSize: 4096, batchSize: 512, sequences: 8, threads };
const context = await model.createContext(contextOptions);
const inProcessLoadMs = performance.now() - loadStarted;
async function timeCapture(earlyStop: boolean): Promise<number> {
  const started = performance.now();
  await context.capture(samples, { layers: [captureLayer], earlyStop });
  return (performance.now() - started) / 1000;
}
await timeCapture(true);
await timeCapture(false);
const captureTimes: number[] = [];
const fullTimes: number[] = [];
for (let i = 0; i < repeats; i++) {
  captureTimes.push(await timeCapture(true));
  fullTimes.push(await timeCapture(false));
}
const captureSeconds = median(captureTimes);
const fullSeconds = median(fullTimes);

// the same capture through the process boundary (a fresh workspace for the model process to open)
const boundaryHome = mkdtempSync(join(tmpdir(), 'facet-bench-boundary-'));
const boundaryStore = Store.open(databasePath(boundaryHome));
const host = new ModelProcessHost(boundaryHome, boundaryStore);
const boundaryArgs = { model: path, samples, layer: captureLayer, earlyStop: true, context: contextOptions };
async function timeBoundary(): Promise<number> {
  const started = performance.now();
  const result = await host.run('residuals.capture', boundaryArgs);
  if (result.activations.length !== tokenCount * result.nEmbd) throw new Error('the model process captured a different number of rows');
  return (performance.now() - started) / 1000;
}
const processFirstCallMs = (await timeBoundary()) * 1000;
const processStartMs = host.startupMs(path) ?? Number.NaN;
await timeBoundary();
const boundaryTimes: number[] = [];
const inProcessTimes: number[] = [];
for (let i = 0; i < repeats + 2; i++) {
  // alternated in ABBA order, so drift in the machine's load and whatever the first of a pair leaves behind hit both sides alike
  if (i % 2 === 0) {
    inProcessTimes.push(await timeCapture(true));
    boundaryTimes.push(await timeBoundary());
  } else {
    boundaryTimes.push(await timeBoundary());
    inProcessTimes.push(await timeCapture(true));
  }
}
const boundarySeconds = median(boundaryTimes);
const boundaryBaseSeconds = median(inProcessTimes);
await host.close();
boundaryStore.close();
rmSync(boundaryHome, { recursive: true, force: true });

// generation: same prompt, greedy, fixed token count, same threads
const prompt = model.chatPrompt([{ role: 'user', content: 'Write about rivers.' }]);
async function ourGeneration(): Promise<number> {
  const started = performance.now();
  const [result] = await context.generate(prompt, { temperature: 0, maxTokens: generateTokens });
  return result!.tokens.length / ((performance.now() - started) / 1000);
}

const { llama } = model.backend;
const theirModel = await llama.loadModel({ modelPath: path, gpuLayers: 0 });
const theirContext = await theirModel.createContext({ contextSize: 4096, batchSize: 512, threads });
async function theirGeneration(): Promise<number> {
  const sequence = theirContext.getSequence();
  try {
    const started = performance.now();
    let count = 0;
    for await (const token of sequence.evaluate(Array.from(prompt) as Token[], { temperature: 0 })) {
      if (theirModel.isEogToken(token) || ++count >= generateTokens) break;
    }
    return count / ((performance.now() - started) / 1000);
  } finally {
    sequence.dispose();
  }
}
await ourGeneration();
await theirGeneration();
const ours: number[] = [];
const theirs: number[] = [];
for (let i = 0; i < repeats; i++) {
  ours.push(await ourGeneration());
  theirs.push(await theirGeneration());
}
const ourTokPerSec = median(ours);
const theirTokPerSec = median(theirs);
await theirContext.dispose();
await theirModel.dispose();
context.dispose();
model.dispose();

const round = (value: number, digits: number): number => Math.round(value * 10 ** digits) / 10 ** digits;
process.stderr.write(
  `model ${layers} blocks, n_embd ${dim}, ${threads} threads; ${samples.length} samples / ${tokenCount} tokens; ` +
    `load average ${loadavg()[0]!.toFixed(2)} (other work on these cores skews every figure)\n` +
    `capture l_out-${captureLayer} with early stop: ${captureSeconds.toFixed(3)} s (${(tokenCount / captureSeconds).toFixed(0)} tok/s); ` +
    `full forward: ${fullSeconds.toFixed(3)} s (${(tokenCount / fullSeconds).toFixed(0)} tok/s)\n` +
    `greedy generation, ${generateTokens} tokens: probe ${ourTokPerSec.toFixed(1)} tok/s, node-llama-cpp ${theirTokPerSec.toFixed(1)} tok/s\n` +
    `process boundary: the same capture in a model process ${boundarySeconds.toFixed(3)} s vs here ${boundaryBaseSeconds.toFixed(3)} s (x${(boundarySeconds / boundaryBaseSeconds).toFixed(3)}, ` +
    `${((tokenCount * dim * 4) / 2 ** 20).toFixed(1)} MiB of activations over IPC); model process start-up ${processStartMs.toFixed(0)} ms, ` +
    `first call (start-up, load, capture) ${processFirstCallMs.toFixed(0)} ms; loading the model here ${inProcessLoadMs.toFixed(0)} ms\n`,
);
process.stdout.write(
  `${JSON.stringify({
    bench: 'capture',
    captureTokPerSec: round(tokenCount / captureSeconds, 1),
    fullTokPerSec: round(tokenCount / fullSeconds, 1),
    captureRatio: round(captureSeconds / fullSeconds, 3),
    genRatio: round(ourTokPerSec / theirTokPerSec, 3),
    boundaryRatio: round(boundarySeconds / boundaryBaseSeconds, 3),
    processStartMs: round(processStartMs, 0),
    processFirstCallMs: round(processFirstCallMs, 0),
    inProcessLoadMs: round(inProcessLoadMs, 0),
  })}\n`,
);
