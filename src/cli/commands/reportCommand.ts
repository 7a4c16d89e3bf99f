import { writeFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { FacetError } from '../../shared/FacetError.ts';
import type { DiversityReport } from '../../core/evaluate/diversityReport.ts';
import { renderReportHtml } from '../../shared/renderReportHtml.ts';
import type { CliContext } from '../CliContext.ts';
import { formatTable } from '../formatTable.ts';
import { openCliEngine } from '../openCliEngine.ts';
import { followJob } from '../runEngineJob.ts';
import { integerOption } from '../integerOption.ts';

const help = `Usage:
  facet report --model M --sae S --datasets A,B,… [--anchor A] [--threshold 0,1,2] [--no-template]
               [--kv f16|f32] [--layer L] [--encode topk|dense-relu] [--embedding-cap 1000]
               [--self-bleu-cap 500] [--threads N] [--cpu] [--out report.html] [--json]

Diversity of each dataset in one feature space: size and length (tokens after the chat-template
prefix), FAC at each δ against the anchor set (by default the first listed dataset with the anchor
role) and on length-matched subsets, text metrics (distinct-1/2, n-gram diversity, bigram entropy,
self-BLEU-4, gzip compression ratio) and embedding metrics (mean pairwise cosine distance and Vendi
score of mean-pooled last-block residuals). Definitions are printed in the report. Datasets not yet
indexed in the space are indexed first. --out writes one offline HTML file with the plots.
JSON: {"datasets":[{"name", "size", "distinct1", "distinct2", "ngramDiversity", "bigramEntropy",
"selfBleu4", "compressionRatio", "embeddingCosineDistance", "vendi", "meanTokens",
"coverage":[{"threshold", "fac"}], …}], …}`;

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      sae: { type: 'string' },
      datasets: { type: 'string' },
      anchor: { type: 'string' },
      threshold: { type: 'string', default: '0,1,2' },
      'no-template': { type: 'boolean', default: false },
      kv: { type: 'string' },
      layer: { type: 'string' },
      encode: { type: 'string' },
      'embedding-cap': { type: 'string', default: '1000' },
      'self-bleu-cap': { type: 'string', default: '500' },
      threads: { type: 'string' },
      cpu: { type: 'boolean', default: false },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    ctx.out(help);
    return 0;
  }
  for (const name of ['model', 'sae', 'datasets'] as const) if (values[name] === undefined) throw new FacetError('INVALID_ARGUMENT', `--${name} is required. See 'facet report --help'.`);
  const thresholds = values.threshold.split(',').map((part) => Number(part.trim()));
  if (thresholds.some((value) => !Number.isFinite(value) || value < 0)) throw new FacetError('INVALID_ARGUMENT', `--threshold must be comma-separated numbers ≥ 0 (got '${values.threshold}').`);
  if (values.kv !== undefined && values.kv !== 'f16' && values.kv !== 'f32') throw new FacetError('INVALID_ARGUMENT', `--kv must be f16 or f32 (got '${values.kv}').`);
  if (values.encode !== undefined && values.encode !== 'topk' && values.encode !== 'dense-relu') throw new FacetError('INVALID_ARGUMENT', `--encode must be topk or dense-relu (got '${values.encode}').`);
  if (values.out !== undefined && extname(values.out).toLowerCase() !== '.html') throw new FacetError('INVALID_ARGUMENT', `--out writes an HTML file: give a path ending in .html (got '${values.out}').`);
  const layer = integerOption(values.layer, 'layer', 0);
  const threads = integerOption(values.threads, 'threads', 1);
  const engine = openCliEngine(ctx);
  try {
    const job = await engine.call('evaluate.report', {
      model: values.model!,
      sae: values.sae!,
      datasets: values.datasets!.split(',').map((name) => name.trim()).filter((name) => name !== ''),
      thresholds,
      template: !values['no-template'],
      embeddingCap: integerOption(values['embedding-cap'], 'embedding-cap', 2)!,
      selfBleuCap: integerOption(values['self-bleu-cap'], 'self-bleu-cap', 2)!,
      cpu: values.cpu,
      ...(values.anchor !== undefined ? { anchor: values.anchor } : {}),
      ...(values.kv !== undefined ? { kv: values.kv as 'f16' | 'f32' } : {}),
      ...(values.encode !== undefined ? { encode: values.encode as 'topk' | 'dense-relu' } : {}),
      ...(layer !== undefined ? { layer } : {}),
      ...(threads !== undefined ? { threads } : {}),
    });
    const final = await followJob(engine, ctx, job, 'Diversity report');
    const report = final.result as DiversityReport;
    if (values.out !== undefined) await writeFile(resolve(values.out), renderReportHtml(report));
    if (ctx.json) {
      ctx.printJson(report);
      return 0;
    }
    const percent = (value: number | null): string => (value === null ? '—' : `${(value * 100).toFixed(1)}%`);
    ctx.out(`Feature space: ${report.model} · SAE ${report.sae} · l_out-${report.layer}; anchor ${report.anchor}.`);
    ctx.out(
      formatTable(
        ['dataset', 'samples', 'mean tokens', ...report.thresholds.map((delta) => `FAC δ=${delta}`), ...report.thresholds.map((delta) => `len-matched δ=${delta}`), 'distinct-1', 'distinct-2', 'self-BLEU-4', 'compression', 'cos dist', 'Vendi'],
        report.datasets.map((d) => [d.name, d.size, d.meanTokens.toFixed(1), ...d.coverage.map((c) => percent(c.fac)), ...d.lengthMatchedCoverage.map((c) => percent(c.fac)), d.distinct1.toFixed(3), d.distinct2.toFixed(3), d.selfBleu4.toFixed(3), d.compressionRatio.toFixed(2), d.embeddingCosineDistance.toFixed(3), d.vendi.toFixed(2)]),
      ),
    );
    if (values.out !== undefined) ctx.out(`Report written to ${resolve(values.out)}`);
    return 0;
  } finally {
    await engine.close();
  }
}
