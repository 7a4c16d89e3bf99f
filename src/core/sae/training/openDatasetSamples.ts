import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { FacetError, throwIfAborted } from '../../../shared/FacetError.ts';
import { DatasetRepository } from '../../datasets/DatasetRepository.ts';
import { detectFormat, normalizeRecord } from '../../datasets/normalizeRecord.ts';
import { detectLayout, readRecords } from '../../datasets/readRecords.ts';
import type { SampleInput } from '../../llama/ProbeModel.ts';
import type { Store } from '../../store/Store.ts';

/** Samples of a dataset in a fixed order, readable by page. */
export interface DatasetSamples {
  /** Registered name, or the file path. */
  name: string;
  /** Registered id; null for a file read directly. */
  id: number | null;
  count: number;
  /** Changes when the samples may have changed (keys training checkpoints to the data). */
  identity: string;
  read(offset: number, limit: number): SampleInput[];
}

/**
 * A dataset argument: a registered dataset (name or id) read page by page from the store, else
 * a dataset file (any importable format) read into memory once (texts only; activations are
 * never held).
 */
export async function openDatasetSamples(store: Store, reference: string, signal?: AbortSignal): Promise<DatasetSamples> {
  const repository = new DatasetRepository(store.db);
  const registered = repository.findByName(reference) ?? (/^\d+$/.test(reference) ? repository.get(Number(reference)) : undefined);
  if (registered !== undefined) {
    if (registered.state !== 'ready') {
      throw new FacetError('DATASET_EMPTY', `Dataset '${registered.name}' is still importing (or its import was cut off). Wait for it, or resume it with 'facet jobs resume'.`, { name: registered.name });
    }
    if (registered.sampleCount === 0) throw new FacetError('DATASET_EMPTY', `Dataset '${registered.name}' has no samples. Import a file with content.`, { name: registered.name });
    return {
      name: registered.name,
      id: registered.id,
      count: registered.sampleCount,
      identity: `dataset:${registered.id}:${registered.createdAt}:${registered.sampleCount}`,
      read: (offset, limit) => repository.samples(registered.id, offset, limit).map((row) => ({ turns: row.turns })),
    };
  }
  const path = resolve(reference);
  const info = await stat(path).catch(() => undefined);
  if (info?.isFile() !== true) {
    const names = repository.list().map((dataset) => dataset.name);
    throw new FacetError('NOT_FOUND', `No dataset named '${reference}' and no file at ${path}. ${names.length > 0 ? `Registered datasets: ${names.join(', ')}.` : "Import one with 'facet datasets import <file>'."}`, { reference });
  }
  const samples: SampleInput[] = [];
  for await (const record of readRecords(path, await detectLayout(path), signal ? { signal } : {})) {
    throwIfAborted(signal);
    if (record.error !== undefined) throw new FacetError('DATASET_LINE_INVALID', `${path} line ${record.line}: ${record.error}. Fix the line or remove it.`, { path, line: record.line });
    if (typeof record.value === 'string') {
      samples.push({ text: record.value });
      continue;
    }
    const format = detectFormat(record.value);
    if (format === undefined) {
      throw new FacetError('DATASET_FORMAT_UNKNOWN', `${path} line ${record.line}: no known sample fields (text, prompt, messages, conversations, instruction, chosen/rejected, question). Convert it to JSONL with a "text" field.`, { path, line: record.line });
    }
    try {
      samples.push({ turns: normalizeRecord(record.value, format).turns });
    } catch (error) {
      throw new FacetError('DATASET_LINE_INVALID', `${path} line ${record.line}: ${(error as Error).message}.`, { path, line: record.line }, { cause: error });
    }
  }
  if (samples.length === 0) throw new FacetError('DATASET_EMPTY', `${path} holds no samples.`, { path });
  return { name: path, id: null, count: samples.length, identity: `file:${path}:${info.size}:${info.mtimeMs}`, read: (offset, limit) => samples.slice(offset, offset + limit) };
}
