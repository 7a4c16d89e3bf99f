import { mkdir, open, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FacetError, throwIfAborted } from '../../shared/FacetError.ts';
import type { ChatTurn, DatasetFormat, DatasetSummary, SampleRow } from '../../shared/datasetTypes.ts';
import { writeParquetRecords } from './writeParquetRecords.ts';
import { exportFormats, type DatasetExportView, type ExportFormat, type SynthesisReport } from '../../shared/synthesisTypes.ts';
import type { Store } from '../store/Store.ts';
import { SynthesisRepository } from '../synthesis/SynthesisRepository.ts';
import { DatasetRepository } from './DatasetRepository.ts';

export { exportFormats, type ExportFormat };

export interface ExportRequest {
  /** Registered dataset name or id. */
  dataset: string;
  /** Defaults to `auto`: the layout the dataset was imported (or synthesized) in. */
  format?: ExportFormat;
  /** Also write train.parquet (the same records; nested values as JSON text). */
  parquet?: boolean;
  /** Folder to write `train.jsonl` and `README.md` (the dataset card) into; created if missing. */
  out: string;
  signal?: AbortSignal;
}

export type ExportResult = DatasetExportView;


const layoutOfFormat: Record<DatasetFormat, Exclude<ExportFormat, 'auto'>> = {
  text: 'text',
  csv: 'text',
  preference: 'preference',
  caa: 'caa',
  alpaca: 'alpaca',
  openai: 'openai',
  sharegpt: 'sharegpt',
};

class LayoutError extends Error {}

function transcript(turns: readonly ChatTurn[]): string {
  return turns.map((turn) => `\n\n${turn.role === 'assistant' ? 'Assistant' : 'Human'}: ${turn.content}`).join('');
}

/** Meta fields back at the top level, unless they would overwrite a field of the layout. */
function withMeta(record: Record<string, unknown>, sample: SampleRow): Record<string, unknown> {
  if (sample.meta === undefined) return record;
  const out = { ...record };
  for (const [key, value] of Object.entries(sample.meta)) if (!(key in out)) out[key] = value;
  return out;
}

/**
 * One sample as a record of the layout, written so that importing the file in that format gives
 * back the same sample (turns, label and pair). A sample the layout cannot hold is refused.
 */
export function toExportRecord(sample: SampleRow, layout: Exclude<ExportFormat, 'auto'>): Record<string, unknown> {
  const { turns, pair, label } = sample;
  const singleUser = turns.length >= 1 && turns[0]!.role === 'user' && turns.slice(1).every((turn) => turn.role === 'assistant') && turns.length <= 2;
  switch (layout) {
    case 'text': {
      if (!singleUser || pair !== undefined) throw new LayoutError('text holds one user turn (and at most one answer) without a pair');
      return withMeta({ text: turns[0]!.content, ...(turns[1] ? { completion: turns[1].content } : {}), ...(label !== undefined ? { label } : {}) }, sample);
    }
    case 'preference': {
      if (pair?.kind !== 'preference' || label !== undefined) throw new LayoutError('preference holds chosen/rejected pairs');
      // HH-RLHF: each side is the whole transcript, history included
      return withMeta({ chosen: transcript([...turns, ...pair.chosen]), rejected: transcript([...turns, ...pair.rejected]) }, sample);
    }
    case 'caa': {
      if (pair?.kind !== 'ab' || turns.length !== 1 || turns[0]!.role !== 'user' || label !== undefined) throw new LayoutError('CAA holds one question with answer_matching_behavior / answer_not_matching_behavior');
      return withMeta({ question: turns[0]!.content, answer_matching_behavior: pair.matching, answer_not_matching_behavior: pair.notMatching }, sample);
    }
    case 'alpaca': {
      if (!singleUser || pair !== undefined || label !== undefined) throw new LayoutError('Alpaca holds one instruction and its output');
      return withMeta({ instruction: turns[0]!.content, input: '', output: turns[1]?.content ?? '' }, sample);
    }
    case 'openai': {
      if (pair !== undefined || label !== undefined) throw new LayoutError('OpenAI messages hold a conversation without pairs or labels');
      return withMeta({ messages: turns.map((turn) => ({ role: turn.role, content: turn.content })) }, sample);
    }
    case 'sharegpt': {
      if (pair !== undefined || label !== undefined) throw new LayoutError('ShareGPT holds a conversation without pairs or labels');
      const from = { user: 'human', assistant: 'gpt', system: 'system' } as const;
      return withMeta({ conversations: turns.map((turn) => ({ from: from[turn.role], value: turn.content })) }, sample);
    }
  }
}

/**
 * Writes a dataset in a task's standard layout (`train.jsonl`) and a dataset card (`README.md`,
 * YAML front matter in the Hugging Face convention) into a folder. Files are written under
 * temporary names and renamed at the end, so a failed export leaves no half-written file.
 */
export async function exportDataset(store: Store, request: ExportRequest): Promise<ExportResult> {
  const datasets = new DatasetRepository(store.db);
  const dataset = datasets.findByName(request.dataset) ?? (/^\d+$/.test(request.dataset) ? datasets.get(Number(request.dataset)) : undefined);
  if (dataset === undefined) throw new FacetError('NOT_FOUND', `No dataset named '${request.dataset}'. See 'facet datasets list'.`, { dataset: request.dataset });
  if (dataset.state !== 'ready') throw new FacetError('DATASET_EMPTY', `Dataset '${dataset.name}' is still being written (import or synthesis unfinished). Wait for it, or resume it with 'facet jobs resume'.`, { dataset: dataset.name });
  const requested = request.format ?? 'auto';
  if (!(exportFormats as readonly string[]).includes(requested)) throw new FacetError('INVALID_ARGUMENT', `Unknown export format '${requested}'. Use ${exportFormats.join(', ')}.`);
  const layout = requested === 'auto' ? layoutOfFormat[dataset.format] : (requested as Exclude<ExportFormat, 'auto'>);
  try {
    await mkdir(request.out, { recursive: true });
  } catch (error) {
    throw new FacetError('EXPORT_FAILED', `Cannot create the export folder ${request.out} (${(error as { code?: string }).code ?? String(error)}). Pick a writable --out folder.`, { out: request.out });
  }
  const dataPath = join(request.out, 'train.jsonl');
  const cardPath = join(request.out, 'README.md');
  const parquetPath = join(request.out, 'train.parquet');
  const parquetRecords: Record<string, unknown>[] | null = request.parquet ? [] : null;
  const partial = `${dataPath}.partial`;
  let file;
  try {
    file = await open(partial, 'w');
  } catch (error) {
    throw new FacetError('EXPORT_FAILED', `Cannot write ${partial} (${(error as { code?: string }).code ?? String(error)}). Pick a writable --out folder.`, { out: request.out });
  }
  try {
    for (let offset = 0; offset < dataset.sampleCount; offset += 1000) {
      throwIfAborted(request.signal);
      const lines: string[] = [];
      for (const sample of datasets.samples(dataset.id, offset, 1000)) {
        try {
          const record = toExportRecord(sample, layout);
          lines.push(JSON.stringify(record));
          parquetRecords?.push(record);
        } catch (error) {
          if (!(error instanceof LayoutError)) throw error;
          throw new FacetError('INVALID_ARGUMENT', `Sample ${sample.ordinal} of '${dataset.name}' does not fit the ${layout} layout: ${error.message}. Export with --format auto (${layoutOfFormat[dataset.format]}) or openai.`, { dataset: dataset.name, ordinal: sample.ordinal, format: layout });
        }
      }
      await file.write(lines.map((line) => `${line}\n`).join(''));
    }
    await file.close();
    file = undefined;
    const synthesis = dataset.role === 'synthetic' ? (new SynthesisRepository(store.db).runOfDataset(dataset.id)?.report ?? null) : null;
    await writeFile(`${cardPath}.partial`, datasetCard(dataset, layout, synthesis));
    if (parquetRecords !== null) await writeParquetRecords(`${parquetPath}.partial`, parquetRecords);
    await rename(partial, dataPath);
    if (parquetRecords !== null) await rename(`${parquetPath}.partial`, parquetPath);
    await rename(`${cardPath}.partial`, cardPath);
  } catch (error) {
    await file?.close().catch(() => undefined);
    await rm(partial, { force: true });
    await rm(`${cardPath}.partial`, { force: true });
    await rm(`${parquetPath}.partial`, { force: true });
    if (error instanceof FacetError) throw error;
    throw new FacetError('EXPORT_FAILED', `Writing the export of '${dataset.name}' to ${request.out} failed: ${error instanceof Error ? error.message : String(error)}.`, { out: request.out }, { cause: error });
  }
  return { dataset: dataset.name, format: layout, samples: dataset.sampleCount, files: { data: dataPath, card: cardPath, ...(parquetRecords !== null ? { parquet: parquetPath } : {}) } };
}

const yamlString = (value: string): string => JSON.stringify(value);

function sizeCategory(n: number): string {
  if (n < 1000) return 'n<1K';
  if (n < 10_000) return '1K<n<10K';
  if (n < 100_000) return '10K<n<100K';
  if (n < 1_000_000) return '100K<n<1M';
  return '1M<n<10M';
}

const taskCategories: Record<string, string> = {
  toxicity: 'text-classification',
  helpfulness: 'text-generation',
  sycophancy: 'question-answering',
  'survival-instinct': 'question-answering',
  'instruction-following': 'text-generation',
};

const percent = (value: number | null): string => (value === null ? '—' : `${(value * 100).toFixed(2)}%`);

/** README.md with YAML front matter (Hugging Face dataset card convention). */
export function datasetCard(dataset: DatasetSummary, layout: string, report: SynthesisReport | null): string {
  const front = [
    '---',
    `pretty_name: ${yamlString(dataset.name)}`,
    'language:',
    '- en',
    'size_categories:',
    `- ${sizeCategory(dataset.sampleCount)}`,
    ...(report !== null && taskCategories[report.task] !== undefined ? ['task_categories:', `- ${taskCategories[report.task]}`] : []),
    'tags:',
    ...(report !== null ? ['- synthetic', '- fac-synthesis', '- sparse-autoencoder', `- ${report.task}`] : [`- ${dataset.role}`]),
    'configs:',
    '- config_name: default',
    '  data_files:',
    '  - split: train',
    '    path: train.jsonl',
    '---',
    '',
  ];
  const body = [`# ${dataset.name}`, '', `${dataset.sampleCount} samples, layout \`${layout}\` (JSON Lines, \`train.jsonl\`). Dataset role in Facet: ${dataset.role}.`, ''];
  if (report === null) {
    body.push(`Imported into Facet from \`${dataset.sourcePath}\` (${dataset.format}); ${dataset.duplicateCount} duplicates and ${dataset.invalidCount} invalid rows were skipped at import.`, '');
    return [...front, ...body].join('\n');
  }
  const record = report.accepted[0]?.record;
  body.push(
    `Written by FAC Synthesis in Facet for the task **${report.task}**: for each feature of the model that the anchor set activates but the seed set does not, a local generator wrote candidates aimed at that feature, and a sample was kept only when its activation of the target feature, measured again on exactly this text, lay above δ, it parsed in the task's format, its perplexity stayed within the bound set from the anchor set, and it was not a near-duplicate.`,
    '',
    '## Sizes',
    '',
    `- samples: ${dataset.sampleCount}`,
    `- target features: ${report.features.length} (${report.features.length - report.uncovered.length} got a sample)`,
    `- candidates generated: ${report.candidates} (rejected: ${report.rejected.length})`,
    '',
    '## Coverage (FAC) before and after',
    '',
    '| δ | FAC of the seed | FAC of seed ∪ synthetic | missing features activated by the synthetic set |',
    '|---|---|---|---|',
    ...report.coverage.map((row) => `| ${row.threshold} | ${percent(row.seedFac)} | ${percent(row.combinedFac)} | ${row.missingActivated} of ${row.missing} (${percent(row.missingShareActivated)}) |`),
    '',
    '## Models and SAE',
    '',
    ...(record !== undefined
      ? [
          `- measuring model: ${record.measuringModel} (\`${record.measuringModelHash}\`)`,
          `- generator: ${record.generator} (\`${record.generatorHash}\`)`,
          `- SAE: ${record.sae} (\`${record.saeHash}\`), layer l_out-${record.layer} (llama.cpp 0-based block), encode ${record.encode}, chat template ${record.template ? 'on' : 'off'}, KV ${record.kv}`,
        ]
      : ['- no sample was accepted, so no sample records the models']),
    '',
    '## Settings',
    '',
    ...(record !== undefined
      ? [
          `- δ = ${record.threshold}; sampling temperature ${record.sampling.temperature}, top-p ${record.sampling.topP}, up to ${record.sampling.maxTokens} new tokens`,
          `- prompt version ${record.promptVersion}; each sample records its prompt hash, seed, rank, fallback and steering strength (\`facet synthesize\` provenance in the workspace database)`,
        ]
      : []),
    `- coherence bound: perplexity ≤ ${report.coherence.bound === null ? '— (off)' : report.coherence.bound.toFixed(3)} (${report.coherence.quantile} quantile of ${report.coherence.anchorSamples} anchor samples × ${report.coherence.slack})`,
    `- steering: ${report.steering.map((row) => `${row.strength}: ${row.passed}/${row.candidates} passed${row.meanPerplexity === null ? '' : `, mean perplexity ${row.meanPerplexity.toFixed(2)}`}`).join('; ')}`,
    '',
    '## Input datasets',
    '',
    `- anchor: ${report.anchor}`,
    `- seed: ${report.seed}`,
    `- coverage run: ${report.coverageRunId ?? '—'}`,
    '',
  );
  return [...front, ...body].join('\n');
}

