import { basename, resolve } from 'node:path';
import { FacetError, isAbortError, throwIfAborted } from '../../shared/FacetError.ts';
import type { DatasetFormat, DatasetRole, DatasetSummary, NormalizedSample } from '../../shared/datasetTypes.ts';
import type { JobDefinition } from '../jobs/JobRunner.ts';
import type { Store } from '../store/Store.ts';
import { contentHash } from './contentHash.ts';
import { DatasetRepository } from './DatasetRepository.ts';
import { detectFormat, normalizeRecord, RecordError } from './normalizeRecord.ts';
import { detectLayout, fileSize, readRecords, requireTextFile, type FileLayout } from './readRecords.ts';

export interface DatasetImportParams {
  /** Absolute path of the source file. */
  path: string;
  name: string;
  format: DatasetFormat | 'auto';
  role: DatasetRole;
  skipInvalid: boolean;
}

interface ImportCheckpoint {
  datasetId: number;
  /** Records of the file already handled (imported, duplicate or skipped). */
  records: number;
  samples: number;
  duplicates: number;
  invalid: number;
  format: DatasetFormat;
}

/** Rows per transaction: one checkpoint per batch. */
const batchSize = 4000;

/** Default dataset name: the file name without data extensions. */
export function defaultDatasetName(path: string): string {
  return basename(path).replace(/(\.gz)$/i, '').replace(/\.(jsonl|ndjson|json|csv|txt)$/i, '');
}

/** Checks what can be checked before a job is queued, so the caller gets the error at once. */
export async function validateImportParams(store: Store, params: DatasetImportParams): Promise<DatasetImportParams> {
  const path = resolve(params.path);
  await fileSize(path);
  await requireTextFile(path);
  if (params.name.trim() === '') throw new FacetError('INVALID_ARGUMENT', 'A dataset name must not be empty.', { param: 'name' });
  if (new DatasetRepository(store.db).findByName(params.name) !== undefined) {
    throw new FacetError('DATASET_NAME_TAKEN', `A dataset named '${params.name}' already exists. Pick another name with --name, or remove the old one with 'facet datasets remove ${params.name}'.`, { name: params.name, param: 'name' });
  }
  return { ...params, path };
}

function layoutFor(format: DatasetFormat | 'auto', detected: FileLayout): FileLayout {
  return format === 'csv' ? 'csv' : detected;
}

/**
 * Imports a dataset file as a resumable job. Samples are written in batches, each in one
 * transaction with its checkpoint; the dataset stays in state `importing` (hidden from
 * measurement) until the last batch lands. A refused row, a cancel or a failure removes
 * everything the import wrote, so the database is as it was.
 */
export function createDatasetImportJob(store: Store): JobDefinition<DatasetImportParams, ImportCheckpoint, DatasetSummary> {
  const repository = new DatasetRepository(store.db);
  return {
    kind: 'dataset.import',
    title: (params) => `Import ${basename(params.path)} as '${params.name}'`,
    async run(params, ctx) {
      await requireTextFile(params.path);
      const layout = layoutFor(params.format, await detectLayout(params.path));
      const totalBytes = await fileSize(params.path);
      const resumed = ctx.checkpoint;
      const initialFormat: DatasetFormat = params.format === 'auto' || params.format === 'csv' ? 'text' : params.format;
      let datasetId: number;
      let state: ImportCheckpoint;
      if (resumed !== undefined && repository.get(resumed.datasetId)?.state === 'importing') {
        datasetId = resumed.datasetId;
        state = { ...resumed };
      } else {
        const existing = repository.findByName(params.name);
        // An import killed between creating its dataset and its first checkpoint (before that
        // was one transaction) left an empty `importing` dataset of the same file: continue it.
        const leftover = existing !== undefined && existing.state === 'importing' && existing.sampleCount === 0 && existing.sourcePath === params.path;
        if (existing !== undefined && !leftover) {
          throw new FacetError('DATASET_NAME_TAKEN', `A dataset named '${params.name}' already exists. Pick another name with --name.`, { name: params.name, param: 'name' });
        }
        // The dataset row and the first checkpoint naming it land together: a kill at any point
        // leaves either neither or a job that resumes into its own dataset.
        state = repository.transaction(() => {
          if (leftover) repository.remove(existing.id);
          const id = repository.create(params.name, params.role, initialFormat, params.path);
          const first: ImportCheckpoint = { datasetId: id, records: 0, samples: 0, duplicates: 0, invalid: 0, format: initialFormat };
          ctx.progress(0, null, first);
          return first;
        });
        datasetId = state.datasetId;
      }
      let format: DatasetFormat | undefined = resumed !== undefined ? resumed.format : params.format === 'auto' || params.format === 'csv' ? undefined : params.format;
      let bytesRead = 0;
      let pending: { line: number; sample: NormalizedSample }[] = [];
      let recordsSeen = 0;
      const warnings: string[] = [];
      // A .gz file's record count cannot be estimated early (and a file of empty lines yields no
      // records at all): its progress is the compressed bytes read of the file's size.
      const gzipped = params.path.toLowerCase().endsWith('.gz');
      const estimatedTotal = (): number | null => (bytesRead > 0 && recordsSeen > 0 ? Math.max(recordsSeen, Math.round((recordsSeen * totalBytes) / bytesRead)) : null);
      const progressNow = (checkpoint?: ImportCheckpoint): void => {
        if (gzipped) ctx.progress(bytesRead, totalBytes, checkpoint);
        else ctx.progress(recordsSeen, estimatedTotal(), checkpoint);
      };
      let lastProgressAt = 0;
      let reading = true;
      // Called from the file stream's events, outside this job's promise: it must never throw.
      const onBytes = (bytes: number): void => {
        bytesRead = bytes;
        const now = Date.now();
        if (reading && now - lastProgressAt > 250) {
          lastProgressAt = now;
          try {
            progressNow();
          } catch {
            // progress is advisory; the next batch records it again
          }
        }
      };
      const flush = (): void => {
        repository.transaction(() => {
          for (const { line, sample } of pending) {
            if (repository.insertSample(datasetId, state.samples, line, contentHash(sample), sample)) state.samples++;
            else state.duplicates++;
          }
          state.records = recordsSeen;
          state.format = format ?? state.format;
          repository.updateCounts(datasetId, state.samples, state.duplicates, state.invalid, state.format);
          progressNow(state);
        });
        pending = [];
      };

      try {
        const onInvalidUtf8 = (sequences: number, line: number): void => {
          warnings.length = 0;
          warnings.push(`${params.path}: ${sequences} byte sequence${sequences === 1 ? ' was' : 's were'} not UTF-8 (first at line ${line}) and ${sequences === 1 ? 'was' : 'were'} stored as U+FFFD. Re-save the file as UTF-8 to keep those characters.`);
        };
        for await (const record of readRecords(params.path, layout, { signal: ctx.signal, onBytes, onInvalidUtf8 })) {
          recordsSeen++;
          if (recordsSeen <= state.records) continue; // handled before the crash
          let sample: NormalizedSample;
          try {
            if (record.error !== undefined && record.code !== undefined && !params.skipInvalid) {
              throw new FacetError(record.code, `${record.error} Nothing was imported.`, { path: params.path, line: record.line, param: 'path', option: 'skipInvalid' });
            }
            if (record.error !== undefined) throw new RecordError('(line)', record.error);
            if (format === undefined) {
              format = detectFormat(record.value);
              if (format === undefined) {
                throw new FacetError(
                  'DATASET_FORMAT_UNKNOWN',
                  `${params.path}:${record.line}: cannot tell the dataset format from the fields ${JSON.stringify(Object.keys((record.value as object) ?? {}))}. Pass --format alpaca|openai|sharegpt|text|preference|caa, or rename the fields.`,
                  { path: params.path, line: record.line, param: 'path', option: 'format' },
                );
              }
            }
            sample = normalizeRecord(record.value, format);
          } catch (error) {
            if (!(error instanceof RecordError)) throw error;
            if (params.skipInvalid) {
              state.invalid++;
              continue;
            }
            const problem = error.field === '(line)' ? `is ${error.expected}` : `field '${error.field}': expected ${error.expected} (format ${format ?? 'unknown'})`;
            throw new FacetError(
              'DATASET_LINE_INVALID',
              `${params.path}:${record.line}: ${problem}. Fix that line, or pass --skip-invalid to import only the valid rows. Nothing was imported.`,
              { path: params.path, line: record.line, field: error.field, expected: error.expected, format, param: 'path', option: 'skipInvalid' },
            );
          }
          pending.push({ line: record.line, sample });
          if (pending.length >= batchSize) {
            flush();
            throwIfAborted(ctx.signal);
            // let cancellation and other requests in between batches
            await new Promise((resolve) => setImmediate(resolve));
          }
        }
        reading = false;
        flush();
        if (state.samples === 0) {
          throw new FacetError('DATASET_EMPTY', `${params.path} holds no valid samples${state.invalid > 0 ? ` (${state.invalid} invalid rows skipped)` : ''}. Check the file and its format.`, { path: params.path, param: 'path' });
        }
        repository.transaction(() => {
          repository.updateCounts(datasetId, state.samples, state.duplicates, state.invalid, state.format);
          repository.markReady(datasetId);
          if (gzipped) ctx.progress(totalBytes, totalBytes, state);
          else ctx.progress(recordsSeen, recordsSeen, state);
        });
        const summary = repository.get(datasetId) as DatasetSummary;
        return warnings.length > 0 ? { ...summary, warnings } : summary;
      } catch (error) {
        reading = false;
        repository.remove(datasetId);
        if (isAbortError(error)) throw new FacetError('CANCELLED', 'Import cancelled; nothing was imported.');
        throw error;
      }
    },
  };
}
