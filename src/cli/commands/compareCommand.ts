import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { FacetError } from '../../shared/FacetError.ts';
import type { CompareRunView, TransferResult } from '../../shared/compareTypes.ts';
import type { CliContext } from '../CliContext.ts';
import { formatTable } from '../formatTable.ts';
import { openCliEngine } from '../openCliEngine.ts';
import { followJob } from '../runEngineJob.ts';
import { integerOption } from '../integerOption.ts';

const help = `Usage:
  facet compare --a MODEL:SAE[:ENCODE] --b MODEL:SAE[:ENCODE] --dataset D [--dataset D2 …]
                [--min-support 5] [--top 3] [--threshold δ] [--no-template] [--threads N] [--cpu] [--json]
  facet compare transfer --run ID --from-coverage RUN [--min-correlation 0.5] --out FILE [--json]
  facet compare runs [--json]

Matches the features of space A to those of space B (each a registered model and SAE; the layer
is the SAE's, ENCODE is topk or dense-relu for TopK SAEs) over the same datasets. Datasets not yet
indexed in a space are indexed first (as in 'facet coverage'). For every feature of A nonzero in
at least --min-support samples, its best partners in B by Pearson correlation of per-sample g
(zeros included), from sparse co-activation sums — never the dense A×B matrix. Works across
tokenizers: g is per sample. A pair is "analogous", not "same": even retrained SAEs of one model
share only about half their features.
Space similarity: SVCCA and RSA over the pairs' decoder directions (and, in the text output, over
their activation profiles), each beside a null from random pairings of the same features.
The same request again answers from the stored run.

  --a, --b        feature spaces: MODEL (registered name or .gguf path) : SAE (name, id or hash prefix) [: topk|dense-relu]
  --dataset       registered dataset (name or id); repeat for more
  --min-support   nonzero samples a feature needs, on either side (default 5)
  --top           partners kept per feature of A (default 3)
  --threshold     g ≤ δ counts as zero on both sides (default 0; for dense-relu spaces, where nearly
                  every feature is positive on every sample, use the δ of your coverage runs)
  --no-template   index the raw text instead of the model's chat template
  --threads, --cpu  as for 'facet coverage' when datasets are indexed

transfer: maps the missing features of coverage run RUN (measured in space A of comparison ID, at
its first δ) to their best partners in B with correlation ≥ --min-correlation, and writes the B
feature ids as a JSON array to FILE, for 'facet coverage --features FILE' or
'facet synthesize --features FILE' in space B.

JSON: {"runId", "pairs":[{"a","b","correlation"}], "mutual", "svcca", "svccaNull", "rsa",
"rsaNull", "profiles":{svcca, svccaNull, rsa, rsaNull}} (pairs: the best partner of each
supported feature of A); transfer prints the mapping with the list written.`;

const ENCODES = new Set(['topk', 'dense-relu']);

/** `model:sae[:encode]`; a model path may itself hold ':' (SAE names cannot). */
export function parseSpace(value: string | undefined, flag: string): { model: string; sae: string; encode?: 'topk' | 'dense-relu' } {
  if (value === undefined) throw new FacetError('INVALID_ARGUMENT', `--${flag} is required (MODEL:SAE[:ENCODE]).\n\n${help}`);
  const parts = value.split(':');
  let encode: 'topk' | 'dense-relu' | undefined;
  if (parts.length >= 3 && ENCODES.has(parts[parts.length - 1]!)) encode = parts.pop() as 'topk' | 'dense-relu';
  const sae = parts.pop();
  const model = parts.join(':');
  if (sae === undefined || sae === '' || model === '') throw new FacetError('INVALID_ARGUMENT', `--${flag} must be MODEL:SAE or MODEL:SAE:ENCODE (ENCODE topk or dense-relu), got '${value}'.`);
  return { model, sae, ...(encode !== undefined ? { encode } : {}) };
}


const fixed = (value: number | null | undefined, digits = 3): string => (value === null || value === undefined ? '—' : value.toFixed(digits));

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  if (argv[0] === 'transfer') return transfer(argv.slice(1), ctx);
  if (argv[0] === 'runs') return runs(ctx);
  const { values } = parseArgs({
    args: argv,
    options: {
      a: { type: 'string' },
      b: { type: 'string' },
      dataset: { type: 'string', multiple: true },
      'min-support': { type: 'string' },
      top: { type: 'string' },
      threshold: { type: 'string', default: '0' },
      'no-template': { type: 'boolean', default: false },
      threads: { type: 'string' },
      cpu: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    ctx.out(help);
    return 0;
  }
  const a = parseSpace(values.a, 'a');
  const b = parseSpace(values.b, 'b');
  if (values.dataset === undefined || values.dataset.length === 0) throw new FacetError('INVALID_ARGUMENT', `--dataset is required (repeat it for several).\n\n${help}`);
  const minSupport = integerOption(values['min-support'], 'min-support', 2) ?? 5;
  const top = integerOption(values.top, 'top', 1) ?? 3;
  if (top > 100) throw new FacetError('INVALID_ARGUMENT', `--top must be at most 100 (got ${top}).`);
  const engine = openCliEngine(ctx);
  try {
    const threads = integerOption(values.threads, 'threads', 1);
    if (!/^\d+(\.\d+)?$/.test(values.threshold)) throw new FacetError('INVALID_ARGUMENT', `--threshold must be a number ≥ 0 (got '${values.threshold}').`);
    const job = await engine.call('compare.run', { a, b, datasets: values.dataset, minSupport, top, threshold: Number(values.threshold), template: !values['no-template'], ...(threads !== undefined ? { threads } : {}), cpu: values.cpu });
    const final = await followJob(engine, ctx, job, `Comparing ${a.model}:${a.sae} with ${b.model}:${b.sae}`);
    const report = final.result as CompareRunView;
    if (ctx.json) {
      ctx.printJson({
        runId: report.runId,
        pairs: report.pairs.map((p) => ({ a: p.a, b: p.b, correlation: p.correlation })),
        mutual: report.mutual,
        svcca: report.decoder?.svcca ?? null,
        svccaNull: report.decoder?.svccaNull ?? null,
        rsa: report.decoder?.rsa ?? null,
        rsaNull: report.decoder?.rsaNull ?? null,
        profiles: report.profiles,
      });
      return 0;
    }
    printReport(ctx, report);
    return 0;
  } finally {
    await engine.close();
  }
}

function printReport(ctx: CliContext, report: CompareRunView): void {
  const space = (s: CompareRunView['spaceA']): string => `${s.model} · SAE ${s.sae} · l_out-${s.layer} · ${s.encode}${s.template ? '' : ' · no template'} (${s.dSae} features)`;
  ctx.out(`Comparison run ${report.runId}${report.reused ? ' (stored; nothing recomputed)' : ''}`);
  ctx.out(`  A: ${space(report.spaceA)}`);
  ctx.out(`  B: ${space(report.spaceB)}`);
  ctx.out(`  over ${report.datasets.map((d) => `${d.dataset} (${d.samples})`).join(', ')} = ${report.samples} samples; min support ${report.params.minSupport}`);
  ctx.out(`  supported features: A ${report.supportedA}, B ${report.supportedB}; pairs ${report.pairCount}, mutual best ${report.mutual}; mean correlation ${fixed(report.meanCorrelation)}`);
  ctx.out('');
  const rows: (string | number)[][] = [];
  if (report.decoder !== null) rows.push(['decoder directions', fixed(report.decoder.svcca), fixed(report.decoder.svccaNull), fixed(report.decoder.rsa), fixed(report.decoder.rsaNull)]);
  rows.push(['activation profiles', fixed(report.profiles.svcca), fixed(report.profiles.svccaNull), fixed(report.profiles.rsa), fixed(report.profiles.rsaNull)]);
  ctx.out(formatTable(['over ' + report.pairsUsed + ' pairs', 'SVCCA', 'null', 'RSA', 'null'], rows));
  ctx.out(`(null: mean over ${report.nullRepeats} random pairings of the same features)`);
  const best = [...report.pairs].sort((x, y) => y.correlation - x.correlation).slice(0, 15);
  if (best.length > 0) {
    ctx.out('\nMost correlated analogous pairs:');
    ctx.out(formatTable(['A feature', 'B feature', 'correlation', 'mutual'], best.map((p) => [p.a, p.b, p.correlation.toFixed(3), p.mutual ? 'yes' : ''])));
  }
}

async function transfer(argv: string[], ctx: CliContext): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      run: { type: 'string' },
      'from-coverage': { type: 'string' },
      'min-correlation': { type: 'string', default: '0.5' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    ctx.out(help);
    return 0;
  }
  const runId = integerOption(values.run, 'run', 1);
  const coverageRunId = integerOption(values['from-coverage'], 'from-coverage', 1);
  if (runId === undefined || coverageRunId === undefined || values.out === undefined) throw new FacetError('INVALID_ARGUMENT', `transfer needs --run, --from-coverage and --out.\n\n${help}`);
  const minCorrelation = Number(values['min-correlation']);
  if (!/^-?\d+(\.\d+)?$/.test(values['min-correlation']) || minCorrelation < -1 || minCorrelation > 1) throw new FacetError('INVALID_ARGUMENT', `--min-correlation must be a number in [-1, 1] (got '${values['min-correlation']}').`);
  const engine = openCliEngine(ctx);
  let result: TransferResult;
  try {
    result = await engine.call('compare.transfer', { runId, coverageRunId, minCorrelation });
  } finally {
    await engine.close();
  }
  const out = resolve(values.out);
  try {
    await writeFile(out, `${JSON.stringify(result.features)}\n`);
  } catch (error) {
    throw new FacetError('INVALID_ARGUMENT', `Cannot write the feature list to ${out}: ${(error as Error).message}. Pick a writable --out path.`, { path: out });
  }
  if (ctx.json) {
    ctx.printJson({ ...result, out });
    return 0;
  }
  ctx.out(`${result.mapping.length} of ${result.missing} missing features (coverage run ${result.coverageRunId}, δ = ${result.threshold}) have a partner with correlation ≥ ${result.minCorrelation} in space ${result.spaceB}: ${result.features.length} distinct features written to ${out}.`);
  if (result.unmatched.length > 0) ctx.out(`${result.unmatched.length} had none (too little support in the compared datasets, or no partner above the bound).`);
  ctx.out(`Use it with: facet coverage --features ${values.out} … (model and SAE of space B)`);
  return 0;
}

async function runs(ctx: CliContext): Promise<number> {
  const engine = openCliEngine(ctx);
  try {
    const list = await engine.call('compare.runs', { limit: 50 });
    if (ctx.json) {
      ctx.printJson(list);
      return 0;
    }
    if (list.length === 0) {
      ctx.out("No comparison runs yet. Run 'facet compare --a MODEL:SAE --b MODEL:SAE --dataset D'.");
      return 0;
    }
    ctx.out(
      formatTable(
        ['run', 'A', 'B', 'datasets', 'pairs', 'mutual', 'SVCCA (null)', 'RSA (null)'],
        list.map((r) => [r.runId, `${r.spaceA.model}:${r.spaceA.sae}`, `${r.spaceB.model}:${r.spaceB.sae}`, r.datasets.map((d) => d.dataset).join(','), r.pairCount, r.mutual, `${fixed(r.decoder?.svcca)} (${fixed(r.decoder?.svccaNull)})`, `${fixed(r.decoder?.rsa)} (${fixed(r.decoder?.rsaNull)})`]),
      ),
    );
    return 0;
  } finally {
    await engine.close();
  }
}
