import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * Fuzzes what users feed Facet: GGUF headers and vocabularies (SentencePiece and byte-level BPE) (through Facet's reader and model
 * checks, then the accepted ones through real llama.cpp), and JSONL/CSV lines (through the reader,
 * the normaliser and the import job). Each part runs in its own process (test/fuzz/fuzzWorker.ts)
 * so a native abort or segfault is seen as an exit by signal. Any exit by signal, any non-zero
 * exit, and any error without a Facet code fails the test. Seeds are fixed (FACET_FUZZ_SEED
 * changes them); the cases found so far are fixed in validateModelGguf and the import readers.
 */
const dir = mkdtempSync(join(tmpdir(), 'facet-fuzz-'));
const worker = join(import.meta.dirname, 'fuzzWorker.ts');
const seed = Number(process.env.FACET_FUZZ_SEED ?? 20_261_202);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Report {
  cases: number;
  outcomes: Record<string, number>;
  uncoded: { input: string; error: string }[];
  extra?: Record<string, unknown>;
}

function runWorker(args: string[], env: Record<string, string> = {}): Report {
  const started = performance.now();
  const result = spawnSync(process.execPath, [worker, ...args], { encoding: 'utf8', timeout: 100_000, env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024 });
  const current = join(dir, 'native-current');
  const crashedOn = existsSync(current) ? readFileSync(current, 'utf8') : '';
  const context = `fuzzWorker ${args.join(' ')}: exit ${result.status}, signal ${result.signal}${crashedOn !== '' ? `, while loading ${crashedOn}` : ''}\n${result.stderr.slice(-3000)}`;
  expect(result.signal, context).toBeNull();
  expect(result.status, context).toBe(0);
  const report = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as Report;
  expect(report.uncoded, JSON.stringify(report.uncoded, null, 2)).toEqual([]);
  console.log(`fuzz ${args[0]}: ${report.cases} cases in ${((performance.now() - started) / 1000).toFixed(1)} s ${JSON.stringify(report.outcomes)}`);
  return report;
}

describe('fuzzed inputs give coded errors, never a crash', () => {
  it('≥ 10,000 cases within two minutes', () => {
    const started = performance.now();
    const gguf = runWorker(['gguf', dir, String(seed), '6000'], { FACET_FUZZ_NATIVE: '300' });
    expect(gguf.cases).toBe(6000);
    // the mutants that pass Facet's checks are many (a real test of what llama.cpp does with them)
    expect(gguf.outcomes.accepted ?? 0).toBeGreaterThan(300);
    const native = runWorker(['native', dir]);
    expect(native.cases).toBe(300);
    expect(native.outcomes['loaded and captured'] ?? 0).toBeGreaterThan(50);
    const lines = runWorker(['lines', join(dir, 'lines'), String(seed), '10000']);
    expect(lines.cases).toBeGreaterThanOrEqual(10_000);
    expect(lines.extra?.importingLeft).toBe(0);
    const total = gguf.cases + native.cases + lines.cases;
    const seconds = (performance.now() - started) / 1000;
    console.log(`fuzz total: ${total} cases in ${seconds.toFixed(1)} s`);
    expect(total).toBeGreaterThanOrEqual(10_000);
    expect(seconds).toBeLessThan(120);
  }, 180_000);
});
