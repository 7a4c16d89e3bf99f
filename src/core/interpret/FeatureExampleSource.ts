import { DatasetRepository } from '../datasets/DatasetRepository.ts';
import { SPAN_TOKENS } from '../features/finalizeFeatureIndex.ts';
import { FeatureIndexRepository, type FeatureIndexRecord, type FeatureSpaceRecord } from '../features/FeatureIndexRepository.ts';
import { spanText } from '../features/indexDataset.ts';
import { decodeSampleFeatures } from '../features/SampleFeatures.ts';
import { SeededRandom } from '../forge/SeededRandom.ts';
import type { ProbeModel } from '../llama/ProbeModel.ts';
import type { Store } from '../store/Store.ts';

/** One excerpt of a sample: up to 32 tokens ending with and including its peak token. */
export interface FeatureExample {
  dataset: string | null;
  datasetId: number;
  ordinal: number;
  /** g_i of the sample (0 for a non-activating excerpt). */
  value: number;
  /** Readable text before the peak token (template tokens turned into words or dropped). */
  prefix: string;
  peak: string;
  /** True when the excerpt starts after the sample's first content token. */
  cut: boolean;
}

/** What explaining and scoring one feature is shown. */
export interface FeatureExamples {
  feature: number;
  /** Activating samples in the space's ready indexes. */
  activeSamples: number;
  /** Top excerpts (highest g first), then excerpts drawn across the rest of the activation range. */
  explain: FeatureExample[];
  /** Activating excerpts not shown to the explainer, across the activation range, for detection. */
  heldOut: FeatureExample[];
  /** Excerpts of samples where the feature does not fire, for detection. */
  inactive: FeatureExample[];
}

export interface ExampleCounts {
  /** Top activating excerpts. Defaults to 10 (the paper). */
  top?: number;
  /** Excerpts from across the rest of the activation range. Defaults to 5. */
  range?: number;
  /** Held-out activating excerpts for detection. Defaults to 5. */
  heldOut?: number;
  /** Non-activating excerpts for detection. Defaults to 5. */
  inactive?: number;
}

/** Readable names for chat-template control tokens; other `<|…|>` markers are dropped. */
const templateTokenWords: [RegExp, string][] = [
  [/<\|eot_id\|>|<\|im_end\|>|<\|end\|>|<\/s>|<\|endoftext\|>|<end_of_turn>/g, ' ⏎ '],
  [/<\|start_header_id\|>(\w+)<\|end_header_id\|>/g, ' [$1] '],
  [/<\|im_start\|>(\w+)\n?/g, ' [$1] '],
  [/\[\/?INST\]/g, ' '],
  [/<\|[^|<>]{1,40}\|>|<s>|<bos>|<start_of_turn>/g, ''],
];

/** Template tokens made readable, whitespace runs folded (newlines shown as ⏎). */
export function readableText(text: string): string {
  let out = text;
  for (const [pattern, word] of templateTokenWords) out = out.replace(pattern, word);
  return out.replace(/\r?\n/g, ' ⏎ ').replace(/[ \t]+/g, ' ');
}

interface ActiveEntry {
  index: FeatureIndexRecord;
  ordinal: number;
  value: number;
}

/**
 * Builds the excerpts a feature is explained and scored with, from the feature index: which
 * samples activate the feature and where its peak lies are stored, so excerpts come from
 * re-tokenising those samples with the space's model and template (no forward pass).
 */
export class FeatureExampleSource {
  private readonly repository: FeatureIndexRepository;
  private readonly datasets: DatasetRepository;
  private readonly indexes: FeatureIndexRecord[];
  private readonly tokenCache = new Map<string, { tokens: Int32Array; t0: number }>();
  private readonly space: FeatureSpaceRecord;
  private readonly model: ProbeModel;

  constructor(store: Store, space: FeatureSpaceRecord, model: ProbeModel) {
    this.space = space;
    this.model = model;
    this.repository = new FeatureIndexRepository(store.db);
    this.datasets = new DatasetRepository(store.db);
    this.indexes = this.repository.indexesOfSpace(space.id).filter((index) => index.state === 'ready');
  }

  examples(feature: number, counts: ExampleCounts = {}, seed = 0): FeatureExamples {
    const top = counts.top ?? 10;
    const range = counts.range ?? 5;
    const heldOutCount = counts.heldOut ?? 5;
    const inactiveCount = counts.inactive ?? 5;
    const active = this.activeEntries(feature);
    active.sort((a, b) => b.value - a.value || a.index.datasetId - b.index.datasetId || a.ordinal - b.ordinal);
    const explainEntries = active.slice(0, top);
    const rest = active.slice(top);
    const heldOutEntries: ActiveEntry[] = [];
    // Evenly spaced over the rest of the range: alternate between the explainer and detection.
    const picks = Math.min(rest.length, range + heldOutCount);
    for (let j = 0; j < picks; j++) {
      const entry = rest[Math.floor(((j + 0.5) * rest.length) / picks)]!;
      if (j % 2 === 1 && heldOutEntries.length < heldOutCount) heldOutEntries.push(entry);
      else if (explainEntries.length < top + range) explainEntries.push(entry);
      else heldOutEntries.push(entry);
    }
    // Few activating samples: hold out some of the weaker top ones rather than score nothing.
    while (heldOutEntries.length < 2 && explainEntries.length >= 4) heldOutEntries.push(explainEntries.pop()!);
    const random = new SeededRandom(`${seed}:${this.space.id}:${feature}`);
    return {
      feature,
      activeSamples: active.length,
      explain: explainEntries.map((entry) => this.activeExample(entry, feature)),
      heldOut: heldOutEntries.map((entry) => this.activeExample(entry, feature)),
      inactive: this.inactiveExamples(active, inactiveCount, random),
    };
  }

  private activeEntries(feature: number): ActiveEntry[] {
    const entries: ActiveEntry[] = [];
    for (const index of this.indexes) {
      const chunk = this.repository.columnChunk(index.id, feature);
      if (chunk === undefined) continue;
      const k = feature - chunk.firstFeature;
      for (let e = chunk.starts[k]!; e < chunk.starts[k + 1]!; e++) entries.push({ index, ordinal: chunk.ordinals[e]!, value: chunk.values[e]! });
    }
    return entries;
  }

  private sampleTokens(index: FeatureIndexRecord, ordinal: number): { tokens: Int32Array; t0: number } | undefined {
    const key = `${index.datasetId}:${ordinal}`;
    const cached = this.tokenCache.get(key);
    if (cached !== undefined) return cached;
    const row = this.datasets.sample(index.datasetId, ordinal);
    if (row === undefined) return undefined;
    const prepared = this.model.prepare({ turns: row.turns }, { template: this.space.template, maxTokens: this.space.maxTokens });
    if (this.tokenCache.size > 4096) this.tokenCache.clear();
    this.tokenCache.set(key, prepared);
    return prepared;
  }

  private excerpt(index: FeatureIndexRecord, ordinal: number, value: number, peak: number, t0: number, tokens: Int32Array): FeatureExample {
    const start = Math.max(t0, peak - (SPAN_TOKENS - 1));
    const text = spanText(this.model, tokens, start, peak);
    return { dataset: index.datasetName, datasetId: index.datasetId, ordinal, value, prefix: readableText(text.prefix).trimStart(), peak: readableText(text.peak), cut: start > t0 };
  }

  private activeExample(entry: ActiveEntry, feature: number): FeatureExample {
    const row = this.repository.sample(entry.index.id, entry.ordinal);
    const prepared = this.sampleTokens(entry.index, entry.ordinal);
    if (row === undefined || prepared === undefined) {
      return { dataset: entry.index.datasetName, datasetId: entry.index.datasetId, ordinal: entry.ordinal, value: entry.value, prefix: '', peak: '', cut: false };
    }
    const sample = decodeSampleFeatures(row.entries);
    let peak = row.t0;
    for (let i = 0; i < sample.features.length; i++) if (sample.features[i] === feature) peak = sample.peaks[i]!;
    return this.excerpt(entry.index, entry.ordinal, entry.value, peak, row.t0, prepared.tokens);
  }

  /** Samples of the same indexes where the feature does not fire, each a window ending at a random token. */
  private inactiveExamples(active: readonly ActiveEntry[], count: number, random: SeededRandom): FeatureExample[] {
    const firing = new Set(active.map((entry) => `${entry.index.id}:${entry.ordinal}`));
    const out: FeatureExample[] = [];
    const total = this.indexes.reduce((sum, index) => sum + index.sampleCount, 0);
    for (let attempt = 0; attempt < count * 8 && out.length < count && total > firing.size; attempt++) {
      let pick = Math.floor(random.nextFloat() * total);
      const index = this.indexes.find((candidate) => {
        if (pick < candidate.sampleCount) return true;
        pick -= candidate.sampleCount;
        return false;
      })!;
      if (firing.has(`${index.id}:${pick}`) || out.some((example) => example.datasetId === index.datasetId && example.ordinal === pick)) continue;
      const row = this.repository.sample(index.id, pick);
      const prepared = this.sampleTokens(index, pick);
      if (row === undefined || prepared === undefined || prepared.tokens.length <= row.t0) continue;
      const last = prepared.tokens.length - 1;
      const end = row.t0 + Math.floor(random.nextFloat() * (last - row.t0 + 1));
      out.push(this.excerpt(index, pick, 0, end, row.t0, prepared.tokens));
    }
    return out;
  }
}
