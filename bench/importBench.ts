/**
 * bench:import: rows/s importing a generated 100k-row JSONL file into a fresh workspace, next to
 * a baseline in the same process: only reading and JSON-parsing the same file.
 * Final line: {"bench":"import","rowsPerSec":…,"parseOnlyRowsPerSec":…,"shareOfParse":…}.
 */
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { FacetEngine } from '../src/engine/FacetEngine.ts';

const rows = 100_000;
const folder = mkdtempSync(join(tmpdir(), 'facet-bench-import-'));
const file = join(folder, 'rows.jsonl');
const topics = ['rivers', 'algebra', 'poetry', 'networks', 'cooking', 'history', 'chess', 'weather'];
writeFileSync(
  file,
  Array.from({ length: rows }, (_, i) =>
    JSON.stringify({ instruction: `Explain ${topics[i % topics.length]} to a newcomer, case ${i}.`, input: i % 3 === 0 ? `Context ${i * 7}` : '', output: `An answer about ${topics[(i * 5) % topics.length]} number ${i}.` }),
  ).join('\n'),
);

async function parseOnly(): Promise<number> {
  const started = performance.now();
  let count = 0;
  for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
    if (line !== '') {
      JSON.parse(line);
      count++;
    }
  }
  if (count !== rows) throw new Error(`parsed ${count} rows`);
  return rows / ((performance.now() - started) / 1000);
}

async function importOnce(round: number): Promise<number> {
  const home = join(folder, `home-${round}`);
  const engine = new FacetEngine({ home, shell: 'cli' });
  const started = performance.now();
  const job = await engine.call('datasets.import', { path: file, name: 'bench' });
  const final = await engine.jobs.wait(job.id);
  const seconds = (performance.now() - started) / 1000;
  await engine.close();
  if (final.state !== 'done' || (final.result as { sampleCount: number }).sampleCount !== rows) throw new Error(`import ended ${final.state}: ${JSON.stringify(final.error)}`);
  return rows / seconds;
}

try {
  await parseOnly(); // warm the file cache and the JIT
  const parseRates: number[] = [];
  const importRates: number[] = [];
  for (let round = 0; round < 3; round++) {
    parseRates.push(await parseOnly());
    importRates.push(await importOnce(round));
  }
  const best = (values: number[]) => Math.max(...values);
  const rowsPerSec = Math.round(best(importRates));
  const parseOnlyRowsPerSec = Math.round(best(parseRates));
  console.log(`import: ${importRates.map((r) => Math.round(r)).join(', ')} rows/s; read+parse only: ${parseRates.map((r) => Math.round(r)).join(', ')} rows/s (best of 3 each)`);
  console.log(JSON.stringify({ bench: 'import', rowsPerSec, parseOnlyRowsPerSec, shareOfParse: Number((rowsPerSec / parseOnlyRowsPerSec).toFixed(3)) }));
} finally {
  rmSync(folder, { recursive: true, force: true });
}
