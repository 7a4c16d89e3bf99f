import { FacetError, throwIfAborted } from '../../shared/FacetError.ts';
import type { ChatTurn, SampleRow } from '../../shared/datasetTypes.ts';
import type { ProbeReport, ProbeRun } from '../../shared/evaluateTypes.ts';
import { DatasetRepository } from '../datasets/DatasetRepository.ts';
import { resolveIndexDataset } from '../features/resolveFeatureSpace.ts';
import type { JobDefinition } from '../jobs/JobRunner.ts';
import { ProbeModel } from '../llama/ProbeModel.ts';
import { resolveModel } from '../models/ModelService.ts';
import type { Store } from '../store/Store.ts';
import { lastTokenStates } from './lastTokenStates.ts';
import { headScore, sigmoid, trainLogisticHead, trainRewardHead, type HeadTraining } from './linearHeads.ts';
import { accuracy, auprc, auroc, meanAndStd, precisionRecallCurve } from './probeMetrics.ts';

export type { ProbeReport, ProbeRun };

/** A probe in the paper's head-only setting: the model is frozen, a linear head is trained on its last-token final hidden state. */
export interface ProbeRequest {
  kind: 'classify' | 'reward';
  model: string;
  /** Training configurations compared side by side; each is one dataset or several joined (e.g. [["seed"], ["seed", "synthetic"]]). */
  train: string[][];
  eval: string;
  /** For classify: the sample field holding the 0/1 label (`label` = the imported label). Defaults to `label`. */
  labelField?: string;
  epochs?: number;
  learningRate?: number;
  l2?: number;
  /** Defaults to [0, 1, 2]: mean ± std over three seeds. */
  seeds?: number[];
  template?: boolean;
  maxTokens?: number;
  threads?: number;
  cpu?: boolean;
}

function labelOf(row: SampleRow, field: string, dataset: string): 0 | 1 {
  const raw = field === 'label' ? (row.label ?? row.meta?.['label']) : row.meta?.[field];
  const text = typeof raw === 'string' ? raw.trim().toLowerCase() : raw;
  if (text === 1 || text === '1' || text === true || text === 'true') return 1;
  if (text === 0 || text === '0' || text === false || text === 'false') return 0;
  throw new FacetError('INVALID_ARGUMENT', `Sample ${row.ordinal} (line ${row.sourceLine}) of dataset '${dataset}' has no 0/1 label in '${field}' (found ${raw === undefined ? 'nothing' : JSON.stringify(raw)}). Import a dataset whose rows carry a 0/1 label, or name the field with --label-field.`, { dataset, ordinal: row.ordinal, field });
}

function preferenceOf(row: SampleRow, dataset: string): { chosen: ChatTurn[]; rejected: ChatTurn[] } {
  if (row.pair?.kind !== 'preference') {
    throw new FacetError('INVALID_ARGUMENT', `Sample ${row.ordinal} (line ${row.sourceLine}) of dataset '${dataset}' is not a preference pair. The reward probe needs pairs {chosen, rejected} with one shared history.`, { dataset, ordinal: row.ordinal });
  }
  return { chosen: [...row.turns, ...row.pair.chosen], rejected: [...row.turns, ...row.pair.rejected] };
}

/**
 * Trains and evaluates a head-only probe: `classify` fits logistic regression on the last token's
 * final hidden state and reports AUPRC, AUROC and accuracy; `reward` fits a Bradley–Terry head on
 * chosen/rejected pairs and reports pairwise accuracy. Each training configuration runs with every
 * seed (mean ± std). Nothing is written to the workspace.
 */
export async function runProbe(store: Store, request: ProbeRequest, control: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {}): Promise<ProbeReport> {
  const started = performance.now();
  const seeds = request.seeds ?? [0, 1, 2];
  const training: HeadTraining = { epochs: request.epochs ?? 15, learningRate: request.learningRate ?? 0.01, l2: request.l2 ?? 1e-3 };
  const field = request.labelField ?? 'label';
  if (request.train.length === 0 || request.train.some((set) => set.length === 0)) throw new FacetError('INVALID_ARGUMENT', 'Give at least one training set (--train D, or --train A,B to join datasets).');
  const rows = new DatasetRepository(store.db);
  const load = (name: string): { name: string; samples: SampleRow[] } => {
    const dataset = resolveIndexDataset(store, name);
    return { name: dataset.name, samples: rows.samples(dataset.id, 0, dataset.sampleCount) };
  };
  const evalSet = load(request.eval);
  const trainSets = request.train.map((names) => names.map(load));
  // validate every label / pair before loading the model
  type Item = { row: SampleRow; label?: 0 | 1; pair?: { chosen: ChatTurn[]; rejected: ChatTurn[] } };
  const describe = (set: { name: string; samples: SampleRow[] }): Item[] =>
    request.kind === 'classify' ? set.samples.map((row) => ({ row, label: labelOf(row, field, set.name) })) : set.samples.map((row) => ({ row, pair: preferenceOf(row, set.name) }));
  const evalItems = describe(evalSet);
  const trainItems = trainSets.map((sets) => sets.flatMap(describe));
  if (request.kind === 'classify') {
    for (const [i, items] of [...trainItems.entries(), [-1, evalItems] as const]) {
      const labels = new Set(items.map((item) => item.label));
      if (labels.size < 2) throw new FacetError('INVALID_ARGUMENT', `The ${i === -1 ? `eval set '${evalSet.name}'` : `training set ${request.train[i as number]!.join('+')}`} has only label ${[...labels].join('')}: a classifier needs both 0 and 1 examples.`, {});
    }
  }

  const resolved = await resolveModel(store, request.model);
  const model = await ProbeModel.load(resolved.path, { gpu: request.cpu ? false : 'auto', ...(control.signal ? { signal: control.signal } : {}) });
  try {
    const maxTokens = request.maxTokens ?? 512;
    const context = await model.createContext({ contextSize: Math.min(model.info.nCtxTrain > 0 ? model.info.nCtxTrain : 4096, maxTokens * 4), sequences: 4, ...(request.threads !== undefined ? { threads: request.threads } : {}) });
    const cache = new Map<string, Float64Array[]>();
    const statesOf = async (key: string, conversations: ChatTurn[][]): Promise<Float64Array[]> => {
      const cached = cache.get(key);
      if (cached !== undefined) return cached;
      const states = await lastTokenStates(model, context, conversations, { template: request.template ?? true, maxTokens, ...(control.signal ? { signal: control.signal } : {}) });
      cache.set(key, states);
      return states;
    };
    const total = trainSets.length * seeds.length + 1;
    let done = 0;
    control.onProgress?.(0, total);
    const d = model.info.nEmbd;
    const textOf = (turns: readonly ChatTurn[]): string => turns.map((turn) => turn.content).join('\n');
    const runs: ProbeRun[] = [];
    let firstScores: ProbeReport['scores'] = [];
    if (request.kind === 'classify') {
      const evalRows = evalItems.map((item) => ({ row: item.row, label: item.label! }));
      const evalStates = await statesOf(`eval:${evalSet.name}`, evalRows.map((item) => item.row.turns));
      done++;
      control.onProgress?.(done, total);
      for (const [c, sets] of trainSets.entries()) {
        const stateParts = await Promise.all(sets.map(async (set) => statesOf(`set:${set.name}`, set.samples.map((row) => row.turns))));
        const states = stateParts.flat();
        const labels = trainItems[c]!.map((item) => item.label!);
        const perSeed: ProbeRun['perSeed'] = [];
        let curve: ProbeRun['curve'] = [];
        for (const seed of seeds) {
          throwIfAborted(control.signal);
          const head = trainLogisticHead(states, labels, d, { ...training, seed });
          const scores = evalStates.map((state) => sigmoid(headScore(head, state)));
          const truth = evalRows.map((item) => item.label);
          perSeed.push({ seed, auprc: auprc(scores, truth), auroc: auroc(scores, truth), accuracy: accuracy(scores, truth) });
          if (seed === seeds[0]) curve = precisionRecallCurve(scores, truth).map(({ recall, precision }) => ({ recall, precision }));
          if (c === 0 && seed === seeds[0]) firstScores = evalRows.map((item, i) => ({ text: textOf(item.row.turns), label: item.label, score: scores[i]! }));
          control.onProgress?.(++done, total);
        }
        runs.push({ ...summarise(sets.map((set) => set.name), states.length, perSeed), curve });
      }
    } else {
      const evalPairs = evalItems.map((item) => ({ row: item.row, pair: item.pair! }));
      const evalChosen = await statesOf(`eval-chosen:${evalSet.name}`, evalPairs.map((item) => item.pair.chosen));
      const evalRejected = await statesOf(`eval-rejected:${evalSet.name}`, evalPairs.map((item) => item.pair.rejected));
      done++;
      control.onProgress?.(done, total);
      for (const [c, sets] of trainSets.entries()) {
        const pairs = trainItems[c]!.map((item) => ({ pair: item.pair! }));
        const chosen = await statesOf(`chosen:${sets.map((set) => set.name).join('+')}`, pairs.map((item) => item.pair.chosen));
        const rejected = await statesOf(`rejected:${sets.map((set) => set.name).join('+')}`, pairs.map((item) => item.pair.rejected));
        const perSeed: ProbeRun['perSeed'] = [];
        for (const seed of seeds) {
          throwIfAborted(control.signal);
          const head = trainRewardHead(chosen, rejected, d, { ...training, seed });
          const margins = evalChosen.map((state, i) => headScore(head, state) - headScore(head, evalRejected[i]!));
          perSeed.push({ seed, auprc: null, auroc: null, accuracy: margins.filter((margin) => margin > 0).length / Math.max(1, margins.length) });
          if (c === 0 && seed === seeds[0]) firstScores = evalPairs.map((item, i) => ({ text: textOf(item.pair.chosen), label: 1, score: margins[i]! }));
          control.onProgress?.(++done, total);
        }
        runs.push(summarise(sets.map((set) => set.name), pairs.length, perSeed));
      }
    }
    const first = runs[0]!.perSeed[0]!;
    return {
      kind: request.kind,
      model: resolved.record?.name ?? resolved.path,
      eval: evalSet.name,
      evalSamples: evalItems.length,
      settings: { epochs: training.epochs!, learningRate: training.learningRate!, l2: training.l2!, seeds, features: `final hidden state of the last token (residual after block ${model.info.nLayer - 1} through the final RMS norm), ${request.template === false ? 'raw text' : 'chat template applied'}, standardised on the training set` },
      auprc: first.auprc,
      auroc: first.auroc,
      accuracy: first.accuracy,
      scores: firstScores,
      runs,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    model.dispose();
  }
}

function summarise(train: string[], trainSamples: number, perSeed: ProbeRun['perSeed']): ProbeRun {
  const pick = (key: 'auprc' | 'auroc'): { mean: number; std: number } | null => (perSeed.every((run) => run[key] !== null) ? meanAndStd(perSeed.map((run) => run[key]!)) : null);
  return { train, trainSamples, perSeed, auprc: pick('auprc'), auroc: pick('auroc'), accuracy: meanAndStd(perSeed.map((run) => run.accuracy)) };
}

export const PROBE_JOB = 'evaluate.probe';

export function createProbeJob(store: Store): JobDefinition<ProbeRequest, never, ProbeReport> {
  return {
    kind: PROBE_JOB,
    title: (request) => `${request.kind === 'classify' ? 'Classification' : 'Reward'} probe on ${request.model}: ${request.train.map((set) => set.join('+')).join(' vs ')} → ${request.eval}`,
    run: (request, ctx) => runProbe(store, request, { signal: ctx.signal, onProgress: (done, total) => ctx.progress(done, total) }),
  };
}
