import { FacetError, throwIfAborted } from '../../shared/FacetError.ts';
import type { CompareSummary, PairTokenSide, PairTokenView, TokenActivation } from '../../shared/compareTypes.ts';
import type { ChatTurn } from '../../shared/datasetTypes.ts';
import { DatasetRepository } from '../datasets/DatasetRepository.ts';
import { FeatureIndexRepository, type FeatureSpaceRecord } from '../features/FeatureIndexRepository.ts';
import { decodeSampleFeatures } from '../features/SampleFeatures.ts';
import { requireIndexedSpace } from '../interpret/requireIndexedSpace.ts';
import { ProbeModel } from '../llama/ProbeModel.ts';
import { SaeRegistry } from '../sae/SaeRegistry.ts';
import type { Store } from '../store/Store.ts';
import { CompareRepository } from './CompareRepository.ts';

export interface PairTokenRequest {
  runId: number;
  a: number;
  b: number;
  /** Dataset and sample ordinal; absent: the sample of the run's datasets where g_a · g_b is largest. */
  datasetId?: number;
  ordinal?: number;
  signal?: AbortSignal;
}

/**
 * The token-level view of one matched pair on one sample, for models with different tokenizers:
 * each model tokenises and templates the sample as its index did, runs to the space's layer, and
 * its SAE encodes every token t ≥ t0; each token's text is then placed in the sample's own text
 * (the turns' contents joined by a blank line) through character offsets, so both models' tokens
 * and where each feature fires line up on the same characters. Template tokens are left out.
 */
export async function pairTokenView(store: Store, home: string, request: PairTokenRequest): Promise<PairTokenView> {
  const run = new CompareRepository(store.db).get<CompareSummary>(request.runId);
  if (run === undefined || run.state !== 'done') throw new FacetError('NOT_FOUND', `No finished comparison run ${request.runId}.`, { runId: request.runId });
  const features = new FeatureIndexRepository(store.db);
  const spaceA = features.space(run.spaceAId);
  const spaceB = features.space(run.spaceBId);
  if (spaceA === undefined || spaceB === undefined) throw new FacetError('NOT_FOUND', `A feature space of comparison run ${run.id} was removed.`, { runId: run.id });
  if (!Number.isInteger(request.a) || request.a < 0 || request.a >= spaceA.dSae) throw new FacetError('INVALID_ARGUMENT', `Feature ${request.a} is not in space A (0..${spaceA.dSae - 1}).`);
  if (!Number.isInteger(request.b) || request.b < 0 || request.b >= spaceB.dSae) throw new FacetError('INVALID_ARGUMENT', `Feature ${request.b} is not in space B (0..${spaceB.dSae - 1}).`);
  let datasetId = request.datasetId;
  let ordinal = request.ordinal;
  if (datasetId === undefined || ordinal === undefined) {
    const best = strongestSharedSample(features, run.datasets, request.a, request.b);
    if (best === null) throw new FacetError('NOT_FOUND', `Features ${request.a} (A) and ${request.b} (B) never fire on the same sample of ${run.datasets.map((d) => `'${d.dataset}'`).join(', ')}. Pick a sample with datasetId and ordinal.`);
    datasetId = best.datasetId;
    ordinal = best.ordinal;
  }
  if (!run.datasets.some((d) => d.datasetId === datasetId)) throw new FacetError('INVALID_ARGUMENT', `Dataset ${datasetId} is not one comparison run ${run.id} matched over.`);
  const row = new DatasetRepository(store.db).samples(datasetId, ordinal, 1)[0];
  if (row === undefined || row.ordinal !== ordinal) throw new FacetError('NOT_FOUND', `Dataset ${datasetId} has no sample ${ordinal}.`, { datasetId, ordinal });
  const text = row.turns.map((turn) => turn.content).join('\n\n');
  const sides: PairTokenSide[] = [];
  for (const [space, feature] of [[spaceA, request.a], [spaceB, request.b]] as const) {
    throwIfAborted(request.signal);
    sides.push(await tokenSide(store, home, space, feature, row.turns));
  }
  return { runId: run.id, datasetId, ordinal, text, a: sides[0]!, b: sides[1]! };
}

function strongestSharedSample(features: FeatureIndexRepository, datasets: readonly { datasetId: number; indexA: number; indexB: number }[], a: number, b: number): { datasetId: number; ordinal: number } | null {
  let best: { datasetId: number; ordinal: number; score: number } | null = null;
  const valueOf = (entries: Buffer, feature: number): number => {
    const decoded = decodeSampleFeatures(entries);
    const at = decoded.features.indexOf(feature);
    return at < 0 ? 0 : decoded.values[at]!;
  };
  for (const ref of datasets) {
    const gA = new Map<number, number>();
    for (const sample of features.samples(ref.indexA)) {
      const v = valueOf(sample.entries, a);
      if (v > 0) gA.set(sample.ordinal, v);
    }
    for (const sample of features.samples(ref.indexB)) {
      const x = gA.get(sample.ordinal);
      if (x === undefined) continue;
      const score = x * valueOf(sample.entries, b);
      if (score > 0 && (best === null || score > best.score)) best = { datasetId: ref.datasetId, ordinal: sample.ordinal, score };
    }
  }
  return best === null ? null : { datasetId: best.datasetId, ordinal: best.ordinal };
}

async function tokenSide(store: Store, home: string, space: FeatureSpaceRecord, feature: number, turns: readonly ChatTurn[]): Promise<PairTokenSide> {
  const { modelPath } = await requireIndexedSpace(store, home, { spaceId: space.id });
  const registry = new SaeRegistry(store, home);
  const sae = registry.get(String(space.saeId));
  const model = await ProbeModel.load(modelPath, { gpu: false });
  try {
    const prepared = model.prepare({ turns }, { template: space.template, maxTokens: space.maxTokens });
    const context = await model.createContext({ contextSize: Math.max(64, prepared.tokens.length), sequences: 1, kv: space.kv, threads: 1 });
    let x: Float32Array;
    try {
      const captured = await context.capture([prepared.tokens], { layers: [space.layer] });
      x = captured.activations.get(space.layer)!.subarray(prepared.t0 * model.info.nEmbd);
    } finally {
      context.dispose();
    }
    const rows = prepared.tokens.length - prepared.t0;
    const session = await registry.openSession(sae, { activation: space.encodeMode === 'dense-relu' ? 'dense-relu' : 'architecture', provider: 'cpu', threads: 1 });
    let codes: Float32Array;
    try {
      codes = await session.encode(x, rows);
    } finally {
      await session.dispose();
    }
    const { decoded, starts, ends } = tokenCharacterRanges(model, prepared.tokens.subarray(prepared.t0));
    const segments = contentSegments(decoded, turns);
    const tokens: TokenActivation[] = [];
    for (let i = 0; i < ends.length; i++) {
      const start = starts[i]!;
      const end = ends[i]!;
      for (const segment of segments) {
        const from = Math.max(start, segment.decodedStart);
        const to = Math.min(end, segment.decodedEnd);
        if (from < to) {
          tokens.push({ token: prepared.t0 + i, start: segment.textStart + from - segment.decodedStart, end: segment.textStart + to - segment.decodedStart, piece: decoded.slice(start, end), value: codes[i * space.dSae + feature]! });
          break;
        }
      }
    }
    let g = 0;
    let peak: number | null = null;
    for (let r = 0; r < rows; r++) {
      const v = codes[r * space.dSae + feature]!;
      if (v > g) {
        g = v;
        peak = prepared.t0 + r;
      }
    }
    return { spaceId: space.id, model: space.modelName, sae: sae.name, feature, tokenCount: prepared.tokens.length, t0: prepared.t0, g, peak, tokens };
  } finally {
    model.dispose();
  }
}

/**
 * Character ranges of tokens in the concatenation of their own texts. Byte-level BPE splits
 * multi-byte characters over several tokens, whose pieces alone are not text: such a run of tokens
 * is decoded together and every token of it gets the range of the characters it forms. (Decoding
 * the whole sequence at once would not do: llama.cpp then also removes spaces before punctuation.)
 */
export function tokenCharacterRanges(model: ProbeModel, tokens: Int32Array): { decoded: string; starts: number[]; ends: number[] } {
  const pieces = model.tokenTexts(tokens);
  const starts: number[] = [];
  const ends: number[] = [];
  let decoded = '';
  let i = 0;
  while (i < tokens.length) {
    let j = i + 1;
    let text = pieces[i]!;
    if (text.includes('\ufffd')) {
      do {
        text = model.detokenize(tokens.subarray(i, j), { removeSpecial: false, renderSpecial: true });
        if (!text.endsWith('\ufffd')) break;
        j++;
      } while (j <= tokens.length);
      j = Math.min(j, tokens.length);
    }
    for (let t = i; t < j; t++) {
      starts.push(decoded.length);
      ends.push(decoded.length + text.length);
    }
    decoded += text;
    i = j;
  }
  return { decoded, starts, ends };
}

/**
 * Where each turn's content lies in the decoded token text (from t0 on), in order, and where it lies
 * in the joined text. A content cut off by --max-tokens matches with its longest present prefix.
 */
export function contentSegments(decoded: string, turns: readonly { content: string }[]): { decodedStart: number; decodedEnd: number; textStart: number }[] {
  const out: { decodedStart: number; decodedEnd: number; textStart: number }[] = [];
  let cursor = 0;
  let textStart = 0;
  for (const turn of turns) {
    let length = turn.content.length;
    let found = length > 0 ? decoded.indexOf(turn.content, cursor) : -1;
    while (found < 0 && length > 1) {
      length = Math.floor(length / 2);
      found = decoded.indexOf(turn.content.slice(0, length), cursor);
    }
    if (found >= 0) {
      // grow the half-found prefix back as far as the decoded text still agrees
      while (length < turn.content.length && decoded[found + length] === turn.content[length]) length++;
      out.push({ decodedStart: found, decodedEnd: found + length, textStart });
      cursor = found + length;
    }
    textStart += turn.content.length + 2;
  }
  return out;
}
