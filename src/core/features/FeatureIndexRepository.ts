import type Database from 'better-sqlite3';
import { blobAsFloat32, blobAsFloat64, blobAsUint32 } from './SampleFeatures.ts';

/** How codes are computed. `topk`/`dense-relu` apply to TopK SAEs; other architectures use `architecture`. */
export type FeatureEncodeMode = 'topk' | 'dense-relu' | 'architecture';

/** One feature space: features of indexes in the same space are comparable. */
export interface FeatureSpaceRecord {
  id: number;
  key: string;
  saeId: number;
  saeName: string | null;
  modelHash: string;
  modelName: string;
  layer: number;
  encodeMode: FeatureEncodeMode;
  template: boolean;
  maxTokens: number;
  kv: 'f16' | 'f32';
  /** Sample activations at or below this value are not stored (0: every positive one is). */
  minActivation: number;
  dSae: number;
  createdAt: string;
}

export interface FeatureIndexRecord {
  id: number;
  spaceId: number;
  datasetId: number;
  datasetName: string | null;
  datasetRole: string | null;
  state: 'indexing' | 'ready';
  sampleCount: number;
  indexedCount: number;
  /** Stored (sample, feature) pairs. */
  entryCount: number;
  /** Tokens run through the model (templated, truncated). */
  tokenCount: number;
  createdAt: string;
  finishedAt: string | null;
}

/** Per-feature totals of one ready index, each `[dSae]`. */
export interface FeatureIndexTotals {
  sampleCount: number;
  /** Samples whose g_i is stored (g_i > the space's floor). */
  counts: Uint32Array;
  /** Sum of stored g_i. */
  sums: Float64Array;
  /** Max of g_i over the samples (0 when none stored). */
  maxima: Float32Array;
}

/** Entries of features `firstFeature .. firstFeature + featureCount − 1` of one index, grouped by feature. */
export interface FeatureColumnChunk {
  firstFeature: number;
  featureCount: number;
  /** [featureCount + 1]: feature f's entries are `starts[f − first] .. starts[f − first + 1] − 1`. */
  starts: Uint32Array;
  /** g values, in sample order within a feature. */
  values: Float32Array;
  /** Sample ordinal of each value. */
  ordinals: Uint32Array;
}

export interface StoredSpan {
  indexId: number;
  feature: number;
  rank: number;
  ordinal: number;
  value: number;
  peak: number;
  startToken: number;
  prefixText: string;
  peakText: string;
}

export interface NewFeatureSpace {
  key: string;
  saeId: number;
  modelHash: string;
  modelName: string;
  layer: number;
  encodeMode: FeatureEncodeMode;
  template: boolean;
  maxTokens: number;
  kv: 'f16' | 'f32';
  minActivation: number;
  dSae: number;
}

interface SpaceRow {
  id: number;
  key: string;
  sae_id: number;
  sae_name: string | null;
  model_hash: string;
  model_name: string;
  layer: number;
  encode_mode: FeatureEncodeMode;
  template: number;
  max_tokens: number;
  kv: 'f16' | 'f32';
  min_activation: number;
  d_sae: number;
  created_at: string;
}

interface IndexRow {
  id: number;
  space_id: number;
  dataset_id: number;
  dataset_name: string | null;
  dataset_role: string | null;
  state: 'indexing' | 'ready';
  sample_count: number;
  indexed_count: number;
  entry_count: number;
  token_count: number;
  created_at: string;
  finished_at: string | null;
}

interface SpanRow {
  index_id: number;
  feature: number;
  rank: number;
  ordinal: number;
  value: number;
  peak: number;
  start_token: number;
  prefix_text: string;
  peak_text: string;
}

function toSpace(row: SpaceRow): FeatureSpaceRecord {
  return {
    id: row.id,
    key: row.key,
    saeId: row.sae_id,
    saeName: row.sae_name,
    modelHash: row.model_hash,
    modelName: row.model_name,
    layer: row.layer,
    encodeMode: row.encode_mode,
    template: row.template === 1,
    maxTokens: row.max_tokens,
    kv: row.kv,
    minActivation: row.min_activation,
    dSae: row.d_sae,
    createdAt: row.created_at,
  };
}

function toIndex(row: IndexRow): FeatureIndexRecord {
  return {
    id: row.id,
    spaceId: row.space_id,
    datasetId: row.dataset_id,
    datasetName: row.dataset_name,
    datasetRole: row.dataset_role,
    state: row.state,
    sampleCount: row.sample_count,
    indexedCount: row.indexed_count,
    entryCount: row.entry_count,
    tokenCount: row.token_count,
    createdAt: row.created_at,
    finishedAt: row.finished_at,
  };
}

function toSpan(row: SpanRow): StoredSpan {
  return {
    indexId: row.index_id,
    feature: row.feature,
    rank: row.rank,
    ordinal: row.ordinal,
    value: row.value,
    peak: row.peak,
    startToken: row.start_token,
    prefixText: row.prefix_text,
    peakText: row.peak_text,
  };
}

const spaceSelect = `SELECT s.*, saes.name AS sae_name FROM feature_spaces s LEFT JOIN saes ON saes.id = s.sae_id`;
const indexSelect = `SELECT i.id, i.space_id, i.dataset_id, d.name AS dataset_name, d.role AS dataset_role, i.state, i.sample_count, i.indexed_count, i.entry_count, i.token_count, i.created_at, i.finished_at
  FROM feature_indexes i LEFT JOIN datasets d ON d.id = i.dataset_id`;

/** SQL of the feature index (migration 0004), prepared once. */
export class FeatureIndexRepository {
  readonly db: Database.Database;
  private readonly statements;

  constructor(db: Database.Database) {
    this.db = db;
    this.statements = {
      spaceByKey: db.prepare<[string], SpaceRow>(`${spaceSelect} WHERE s.key = ?`),
      spaceById: db.prepare<[number], SpaceRow>(`${spaceSelect} WHERE s.id = ?`),
      listSpaces: db.prepare<[], SpaceRow>(`${spaceSelect} ORDER BY s.id`),
      insertSpace: db.prepare(
        `INSERT INTO feature_spaces (key, sae_id, model_hash, model_name, layer, encode_mode, template, max_tokens, kv, min_activation, d_sae, created_at)
         VALUES (@key, @saeId, @modelHash, @modelName, @layer, @encodeMode, @template, @maxTokens, @kv, @minActivation, @dSae, @createdAt)`,
      ),
      indexByKey: db.prepare<[number, number], IndexRow>(`${indexSelect} WHERE i.space_id = ? AND i.dataset_id = ?`),
      indexById: db.prepare<[number], IndexRow>(`${indexSelect} WHERE i.id = ?`),
      indexesOfSpace: db.prepare<[number], IndexRow>(`${indexSelect} WHERE i.space_id = ? ORDER BY i.id`),
      insertIndex: db.prepare<[number, number, number, string]>(`INSERT INTO feature_indexes (space_id, dataset_id, state, sample_count, created_at) VALUES (?, ?, 'indexing', ?, ?)`),
      insertSample: db.prepare<[number, number, number, number, number, Buffer]>(
        `INSERT OR REPLACE INTO feature_index_samples (index_id, ordinal, t0, token_count, entry_count, entries) VALUES (?, ?, ?, ?, ?, ?)`,
      ),
      setIndexed: db.prepare<[number, number, number]>(`UPDATE feature_indexes SET indexed_count = ?, token_count = token_count + ? WHERE id = ?`),
      samples: db.prepare<[number], { ordinal: number; t0: number; token_count: number; entries: Buffer }>(
        `SELECT ordinal, t0, token_count, entries FROM feature_index_samples WHERE index_id = ? ORDER BY ordinal`,
      ),
      sample: db.prepare<[number, number], { ordinal: number; t0: number; token_count: number; entries: Buffer }>(
        `SELECT ordinal, t0, token_count, entries FROM feature_index_samples WHERE index_id = ? AND ordinal = ?`,
      ),
      deleteColumns: db.prepare<[number]>(`DELETE FROM feature_index_columns WHERE index_id = ?`),
      deleteSpans: db.prepare<[number]>(`DELETE FROM feature_spans WHERE index_id = ?`),
      insertColumn: db.prepare<[number, number, number, Buffer, Buffer, Buffer]>(
        `INSERT INTO feature_index_columns (index_id, first_feature, feature_count, starts, vals, ordinals) VALUES (?, ?, ?, ?, ?, ?)`,
      ),
      columnValues: db.prepare<[number], { first_feature: number; feature_count: number; starts: Buffer; vals: Buffer }>(
        `SELECT first_feature, feature_count, starts, vals FROM feature_index_columns WHERE index_id = ? ORDER BY first_feature`,
      ),
      columnChunk: db.prepare<[number, number], { first_feature: number; feature_count: number; starts: Buffer; vals: Buffer; ordinals: Buffer }>(
        `SELECT first_feature, feature_count, starts, vals, ordinals FROM feature_index_columns WHERE index_id = ? AND first_feature <= ? ORDER BY first_feature DESC LIMIT 1`,
      ),
      insertSpan: db.prepare(
        `INSERT INTO feature_spans (index_id, feature, rank, ordinal, value, peak, start_token, prefix_text, peak_text)
         VALUES (@indexId, @feature, @rank, @ordinal, @value, @peak, @startToken, @prefixText, @peakText)`,
      ),
      spans: db.prepare<[number, number], SpanRow>(`SELECT * FROM feature_spans WHERE index_id = ? AND feature = ? ORDER BY rank`),
      markReady: db.prepare<[number, Buffer, Buffer, Buffer, string, number]>(
        `UPDATE feature_indexes SET state = 'ready', entry_count = ?, feature_counts = ?, feature_sums = ?, feature_maxima = ?, finished_at = ? WHERE id = ?`,
      ),
      totals: db.prepare<[number], { sample_count: number; feature_counts: Buffer | null; feature_sums: Buffer | null; feature_maxima: Buffer | null }>(
        `SELECT sample_count, feature_counts, feature_sums, feature_maxima FROM feature_indexes WHERE id = ?`,
      ),
      removeIndex: db.prepare<[number]>(`DELETE FROM feature_indexes WHERE id = ?`),
    };
  }

  spaceByKey(key: string): FeatureSpaceRecord | undefined {
    const row = this.statements.spaceByKey.get(key);
    return row === undefined ? undefined : toSpace(row);
  }

  space(id: number): FeatureSpaceRecord | undefined {
    const row = this.statements.spaceById.get(id);
    return row === undefined ? undefined : toSpace(row);
  }

  listSpaces(): FeatureSpaceRecord[] {
    return this.statements.listSpaces.all().map(toSpace);
  }

  /** The space with this key, created when missing. */
  ensureSpace(space: NewFeatureSpace): FeatureSpaceRecord {
    const existing = this.spaceByKey(space.key);
    if (existing !== undefined) return existing;
    this.statements.insertSpace.run({ ...space, template: space.template ? 1 : 0, createdAt: new Date().toISOString() });
    return this.spaceByKey(space.key)!;
  }

  index(spaceId: number, datasetId: number): FeatureIndexRecord | undefined {
    const row = this.statements.indexByKey.get(spaceId, datasetId);
    return row === undefined ? undefined : toIndex(row);
  }

  indexById(id: number): FeatureIndexRecord | undefined {
    const row = this.statements.indexById.get(id);
    return row === undefined ? undefined : toIndex(row);
  }

  indexesOfSpace(spaceId: number): FeatureIndexRecord[] {
    return this.statements.indexesOfSpace.all(spaceId).map(toIndex);
  }

  ensureIndex(spaceId: number, datasetId: number, sampleCount: number): FeatureIndexRecord {
    const existing = this.index(spaceId, datasetId);
    if (existing !== undefined) return existing;
    this.statements.insertIndex.run(spaceId, datasetId, sampleCount, new Date().toISOString());
    return this.index(spaceId, datasetId)!;
  }

  insertSample(indexId: number, ordinal: number, t0: number, tokenCount: number, entryCount: number, entries: Buffer): void {
    this.statements.insertSample.run(indexId, ordinal, t0, tokenCount, entryCount, entries);
  }

  setIndexed(indexId: number, indexedCount: number, addedTokens: number): void {
    this.statements.setIndexed.run(indexedCount, addedTokens, indexId);
  }

  /** Stored samples of an index in ordinal order, streamed. */
  *samples(indexId: number): Generator<{ ordinal: number; t0: number; tokenCount: number; entries: Buffer }> {
    for (const row of this.statements.samples.iterate(indexId)) yield { ordinal: row.ordinal, t0: row.t0, tokenCount: row.token_count, entries: row.entries };
  }

  sample(indexId: number, ordinal: number): { ordinal: number; t0: number; tokenCount: number; entries: Buffer } | undefined {
    const row = this.statements.sample.get(indexId, ordinal);
    return row === undefined ? undefined : { ordinal: row.ordinal, t0: row.t0, tokenCount: row.token_count, entries: row.entries };
  }

  clearDerived(indexId: number): void {
    this.statements.deleteColumns.run(indexId);
    this.statements.deleteSpans.run(indexId);
  }

  insertColumn(indexId: number, firstFeature: number, featureCount: number, starts: Buffer, values: Buffer, ordinals: Buffer): void {
    this.statements.insertColumn.run(indexId, firstFeature, featureCount, starts, values, ordinals);
  }

  /** Every column chunk of an index (values only), in feature order. */
  *columnValues(indexId: number): Generator<{ firstFeature: number; featureCount: number; starts: Uint32Array; values: Float32Array }> {
    for (const row of this.statements.columnValues.iterate(indexId)) {
      yield { firstFeature: row.first_feature, featureCount: row.feature_count, starts: blobAsUint32(row.starts), values: blobAsFloat32(row.vals) };
    }
  }

  /** The column chunk holding `feature`. */
  columnChunk(indexId: number, feature: number): FeatureColumnChunk | undefined {
    const row = this.statements.columnChunk.get(indexId, feature);
    if (row === undefined || feature >= row.first_feature + row.feature_count) return undefined;
    return { firstFeature: row.first_feature, featureCount: row.feature_count, starts: blobAsUint32(row.starts), values: blobAsFloat32(row.vals), ordinals: blobAsUint32(row.ordinals) };
  }

  insertSpan(span: StoredSpan): void {
    this.statements.insertSpan.run(span);
  }

  spans(indexId: number, feature: number): StoredSpan[] {
    return this.statements.spans.all(indexId, feature).map(toSpan);
  }

  markReady(indexId: number, entryCount: number, counts: Buffer, sums: Buffer, maxima: Buffer): void {
    this.statements.markReady.run(entryCount, counts, sums, maxima, new Date().toISOString(), indexId);
  }

  totals(indexId: number): FeatureIndexTotals | undefined {
    const row = this.statements.totals.get(indexId);
    if (row === undefined || row.feature_counts === null || row.feature_sums === null || row.feature_maxima === null) return undefined;
    return { sampleCount: row.sample_count, counts: blobAsUint32(row.feature_counts), sums: blobAsFloat64(row.feature_sums), maxima: blobAsFloat32(row.feature_maxima) };
  }

  removeIndex(indexId: number): void {
    this.statements.removeIndex.run(indexId);
  }

  transaction<T>(work: () => T): T {
    return this.db.transaction(work)();
  }
}
