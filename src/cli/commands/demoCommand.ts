import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { DatasetRole, DatasetSummary } from '../../shared/datasetTypes.ts';
import type { CliContext } from '../CliContext.ts';
import { formatTable } from '../formatTable.ts';
import { openCliEngine } from '../openCliEngine.ts';
import { followJob } from '../runEngineJob.ts';

const help = `Usage: facet demo [--json]

The headless main job on built-in defaults: imports the sample datasets shipped in resources/samples
(an anchor set and a narrow seed set) into the workspace and summarises them.`;

const samples: { file: string; name: string; role: DatasetRole }[] = [
  { file: 'anchor-instructions.jsonl', name: 'demo-anchor', role: 'anchor' },
  { file: 'seed-instructions.jsonl', name: 'demo-seed', role: 'seed' },
];

function samplePath(file: string): string {
  return fileURLToPath(new URL(`../../../resources/samples/${file}`, import.meta.url));
}

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { help: { type: 'boolean', default: false } } });
  if (values.help) {
    ctx.out(help);
    return 0;
  }
  const engine = openCliEngine(ctx);
  try {
    const datasets: DatasetSummary[] = [];
    for (const sample of samples) {
      const existing = (await engine.call('datasets.list', {})).find((dataset) => dataset.name === sample.name && dataset.state === 'ready');
      if (existing !== undefined) {
        datasets.push(existing);
        continue;
      }
      const job = await engine.call('datasets.import', { path: samplePath(sample.file), name: sample.name, role: sample.role });
      datasets.push((await followJob(engine, ctx, job, `Importing ${sample.file}`)).result as DatasetSummary);
    }
    const summary = [];
    for (const dataset of datasets) {
      const { samples: rows } = await engine.call('datasets.samples', { id: dataset.id, offset: 0, limit: 1000 });
      const lengths = rows.map((row) => row.turns.reduce((sum, turn) => sum + turn.content.length, 0));
      const words = new Set(rows.flatMap((row) => row.turns.flatMap((turn) => turn.content.toLowerCase().match(/[a-z']+/g) ?? [])));
      summary.push({
        name: dataset.name,
        role: dataset.role,
        samples: dataset.sampleCount,
        meanChars: Math.round(lengths.reduce((a, b) => a + b, 0) / Math.max(1, lengths.length)),
        distinctWords: words.size,
      });
    }
    if (ctx.json) ctx.printJson({ workspace: ctx.home, datasets: summary });
    else {
      ctx.out(`Workspace: ${ctx.home}\n`);
      ctx.out(formatTable(['dataset', 'role', 'samples', 'mean chars', 'distinct words'], summary.map((s) => [s.name, s.role, s.samples, s.meanChars, s.distinctWords])));
    }
    return 0;
  } finally {
    await engine.close();
  }
}
