import { FacetError, throwIfAborted } from '../../shared/FacetError.ts';
import type { ExplainReport, RelevanceVerdict } from '../../shared/interpretationTypes.ts';
import { SeededRandom } from '../forge/SeededRandom.ts';
import { endpointNotice, type ChatGenerator } from '../generation/ChatGenerator.ts';
import { openChatGenerator, type GeneratorChoice } from '../generation/openChatGenerator.ts';
import type { JobDefinition } from '../jobs/JobRunner.ts';
import { ProbeModel } from '../llama/ProbeModel.ts';
import type { Store } from '../store/Store.ts';
import { FeatureExampleSource, type ExampleCounts, type FeatureExample, type FeatureExamples } from './FeatureExampleSource.ts';
import {
  detectionConversation,
  detectionSchema,
  explanationConversation,
  explanationSchema,
  interpretationPromptVersion,
  parseAnswer,
  parseVerdict,
  verdictSchema,
  verificationConversation,
} from './interpretationPrompts.ts';
import { InterpretationRepository } from './InterpretationRepository.ts';
import { describeSpaceReference, requireIndexedSpace, type SpaceReference } from './requireIndexedSpace.ts';
import { selectFeatures, type FeatureSelection } from './selectFeatures.ts';

export interface ExplainRequest extends SpaceReference {
  /** Who writes: a local model (defaults to the space's own model) or an endpoint. */
  explainer?: GeneratorChoice;
  /** Defaults to `anchor`. */
  features?: FeatureSelection;
  /** At most this many of the selected features (the first, most frequent). */
  limit?: number;
  /** Candidate explanations per feature, scored by detection. Defaults to 3. */
  candidates?: number;
  examples?: ExampleCounts;
  seed?: number;
  cpu?: boolean;
}

export interface ExplainControl {
  signal?: AbortSignal;
  /** Features finished (stored) of those requested. */
  onProgress?: (done: number, total: number) => void;
  /** Said once before anything is sent to an endpoint. */
  onNotice?: (notice: string) => void;
}

interface Candidate {
  explanation: string;
  canTell: boolean;
  score: number | null;
  /** The raw answer when it did not parse (cut off by the token limit, or malformed). */
  invalid?: string;
}

/** Balanced accuracy of yes/no answers: (true-positive rate + true-negative rate) / 2; null without both kinds. */
export function balancedAccuracy(answers: readonly boolean[], truth: readonly boolean[]): number | null {
  let positives = 0;
  let negatives = 0;
  let truePositives = 0;
  let trueNegatives = 0;
  truth.forEach((isActive, i) => {
    if (isActive) {
      positives++;
      if (answers[i]) truePositives++;
    } else {
      negatives++;
      if (!answers[i]) trueNegatives++;
    }
  });
  if (positives === 0 || negatives === 0) return null;
  return (truePositives / positives + trueNegatives / negatives) / 2;
}

function parseExplanation(text: string): Candidate {
  const parsed = parseAnswer(text, (value) => {
    const explanation = value['explanation'];
    const canTell = value['canTell'];
    if (typeof explanation !== 'string' || typeof canTell !== 'boolean') return null;
    const trimmed = explanation.trim();
    return { explanation: canTell ? trimmed : '', canTell: canTell && trimmed.length > 0, score: null };
  });
  return parsed ?? { explanation: '', canTell: false, score: null, invalid: text.slice(0, 400) };
}

/**
 * Explains features of a space (the paper's F step a–b): per feature, `candidates` explanations
 * are written from its top and across-the-range excerpts, each is scored by detection on held-out
 * activating and non-activating excerpts (balanced accuracy), the best is verified on the
 * four-level scale, and the result is stored at once. Features already explained by the same
 * explainer and prompt version are skipped, so a killed run continues where it stopped.
 */
export async function explainFeatures(store: Store, home: string, request: ExplainRequest, control: ExplainControl = {}): Promise<ExplainReport> {
  const started = performance.now();
  const { space, modelPath } = await requireIndexedSpace(store, home, request);
  const candidatesPerFeature = request.candidates ?? 3;
  if (!Number.isInteger(candidatesPerFeature) || candidatesPerFeature < 1 || candidatesPerFeature > 16) throw new FacetError('INVALID_ARGUMENT', `--candidates must be 1 … 16 (got ${candidatesPerFeature}).`);
  const selected = selectFeatures(store, space, request.features ?? 'anchor');
  const requested = request.limit === undefined ? selected : selected.slice(0, request.limit);
  const repository = new InterpretationRepository(store.db);
  const generator = await openChatGenerator(store, request.explainer ?? {}, modelPath, control.signal);
  let measured: ProbeModel | undefined;
  try {
    const notice = endpointNotice(generator);
    if (notice !== null) control.onNotice?.(notice);
    const existing = repository.explainedFeatures(space.id, generator.identity, interpretationPromptVersion);
    const todo = requested.filter((feature) => !existing.has(feature));
    measured = await ProbeModel.load(modelPath, { gpu: false, ...(control.signal ? { signal: control.signal } : {}) });
    const source = new FeatureExampleSource(store, space, measured);
    const seed = request.seed ?? 0;
    // As many features per round as there are parallel sequences: their candidates fill whole decode groups.
    const group = Math.max(1, generator.parallel);
    let done = requested.length - todo.length;
    control.onProgress?.(done, requested.length);
    for (let start = 0; start < todo.length; start += group) {
      throwIfAborted(control.signal);
      const features = todo.slice(start, start + group);
      const examples = features.map((feature) => source.examples(feature, request.examples, seed));
      const results = await explainGroup(generator, examples, candidatesPerFeature, seed, control.signal);
      repository.transaction(() => {
        results.forEach((result, i) => {
          repository.insertExplanation({
            spaceId: space.id,
            feature: features[i]!,
            explainer: generator.identity,
            explainerLabel: generator.label,
            promptVersion: interpretationPromptVersion,
            explanation: result.best?.explanation ?? '',
            canTell: result.best?.canTell ?? false,
            score: result.best?.score ?? null,
            verification: result.verification,
            candidates: result.candidates,
            examples: { explain: examples[i]!.explain, heldOut: examples[i]!.heldOut, inactive: examples[i]!.inactive },
          });
        });
      });
      done += features.length;
      control.onProgress?.(done, requested.length);
    }
    const stored = repository.bestExplanationsBy(space.id, generator.identity, interpretationPromptVersion);
    return {
      spaceId: space.id,
      explainer: generator.label,
      notice,
      explained: requested.flatMap((feature) => {
        const row = stored.get(feature);
        return row === undefined ? [] : [{ feature, explanation: row.explanation, score: row.score, verification: row.verification, canTell: row.canTell }];
      }),
      skipped: requested.length - todo.length,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    measured?.dispose();
    await generator.dispose();
  }
}

interface GroupResult {
  candidates: Candidate[];
  best: Candidate | undefined;
  verification: RelevanceVerdict | null;
}

/** One group of features: all their candidates, detections and verifications decoded together. */
async function explainGroup(generator: ChatGenerator, examples: readonly FeatureExamples[], candidatesPerFeature: number, seed: number, signal: AbortSignal | undefined): Promise<GroupResult[]> {
  const control = signal ? { signal } : {};
  const explainable = examples.map((example) => example.explain.length > 0);
  // 1. Candidates: the same conversation sampled with different seeds.
  const conversations = examples.flatMap((example, i) => (explainable[i] ? Array.from({ length: candidatesPerFeature }, () => explanationConversation(example.explain)) : []));
  const answers = await generator.complete(conversations, { jsonSchema: explanationSchema, temperature: 0.7, topP: 0.95, maxTokens: 160, seed: seed * 7919 + examples[0]!.feature }, control);
  const candidates: Candidate[][] = [];
  let cursor = 0;
  for (let i = 0; i < examples.length; i++) {
    candidates.push(explainable[i] ? answers.slice(cursor, (cursor += candidatesPerFeature)).map((answer) => parseExplanation(answer.text)) : []);
  }
  // 2. Detection: held-out activating and non-activating excerpts, shuffled per feature.
  const detections: { feature: number; candidate: Candidate; shown: FeatureExample[]; truth: boolean[] }[] = [];
  examples.forEach((example, i) => {
    const mixed = [...example.heldOut.map((shown) => ({ shown, active: true })), ...example.inactive.map((shown) => ({ shown, active: false }))];
    const random = new SeededRandom(`${seed}:detect:${example.feature}`);
    for (let j = mixed.length - 1; j > 0; j--) {
      const k = Math.floor(random.nextFloat() * (j + 1));
      [mixed[j], mixed[k]] = [mixed[k]!, mixed[j]!];
    }
    if (!mixed.some((item) => item.active) || !mixed.some((item) => !item.active)) return;
    for (const candidate of candidates[i]!) {
      if (candidate.canTell) detections.push({ feature: example.feature, candidate, shown: mixed.map((item) => item.shown), truth: mixed.map((item) => item.active) });
    }
  });
  if (detections.length > 0) {
    // Same excerpt count per call keeps one schema per call; group by count.
    for (const count of new Set(detections.map((detection) => detection.shown.length))) {
      const batch = detections.filter((detection) => detection.shown.length === count);
      const replies = await generator.complete(
        batch.map((detection) => detectionConversation(detection.candidate.explanation, detection.shown)),
        { jsonSchema: detectionSchema(count), temperature: 0, maxTokens: 12 * count + 16, seed },
        control,
      );
      replies.forEach((reply, j) => {
        const detection = batch[j]!;
        const said = parseAnswer(reply.text, (value) => {
          const out: boolean[] = [];
          for (let e = 1; e <= count; e++) {
            const answer = value[`excerpt${e}`];
            if (answer !== 'yes' && answer !== 'no') return null;
            out.push(answer === 'yes');
          }
          return out;
        });
        detection.candidate.score = said === null ? null : balancedAccuracy(said, detection.truth);
      });
    }
  }
  // 3. The best candidate per feature (highest score; unscored after scored; first on ties), verified.
  const best = candidates.map((list) => {
    let chosen: Candidate | undefined;
    for (const candidate of list) {
      if (!candidate.canTell) continue;
      if (chosen === undefined || (candidate.score ?? -1) > (chosen.score ?? -1)) chosen = candidate;
    }
    return chosen ?? list[0];
  });
  const toVerify = examples.map((example, i) => ({ example, best: best[i] })).filter((item) => item.best?.canTell === true);
  const verdicts = new Map<number, RelevanceVerdict | null>();
  if (toVerify.length > 0) {
    const ask = async (items: typeof toVerify, maxTokens: number, temperature: number): Promise<void> => {
      const replies = await generator.complete(
        items.map((item) => verificationConversation(item.best!.explanation, item.example.explain)),
        { jsonSchema: verdictSchema, temperature, maxTokens, seed },
        control,
      );
      replies.forEach((reply, j) => verdicts.set(items[j]!.example.feature, parseVerdict(reply.text)?.verdict ?? null));
    };
    await ask(toVerify, 200, 0);
    // An answer cut off by the token limit gets one more try with more room; still none: stored as not verified.
    const again = toVerify.filter((item) => verdicts.get(item.example.feature) === null);
    if (again.length > 0) await ask(again, 400, 0.3);
  }
  return examples.map((example, i) => ({ candidates: candidates[i]!, best: best[i], verification: verdicts.get(example.feature) ?? null }));
}

export const EXPLAIN_JOB = 'features.explain';

export function createExplainJob(store: Store, home: string): JobDefinition<ExplainRequest, never, ExplainReport> {
  return {
    kind: EXPLAIN_JOB,
    title: (request) => `Explain features of ${describeSpaceReference(request)}${request.explainer?.endpoint ? ` with ${request.explainer.endpoint.model} at ${request.explainer.endpoint.baseUrl}` : request.explainer?.model ? ` with ${request.explainer.model}` : ''}`,
    run: (request, ctx) => explainFeatures(store, home, request, { signal: ctx.signal, onProgress: (done, total) => ctx.progress(done, total) }),
  };
}
