import { throwIfAborted } from '../../shared/FacetError.ts';
import type { JudgeReport, RelevanceVerdict } from '../../shared/interpretationTypes.ts';
import { endpointNotice } from '../generation/ChatGenerator.ts';
import { openChatGenerator, type GeneratorChoice } from '../generation/openChatGenerator.ts';
import type { JobDefinition } from '../jobs/JobRunner.ts';
import { ProbeModel } from '../llama/ProbeModel.ts';
import type { Store } from '../store/Store.ts';
import { FeatureExampleSource } from './FeatureExampleSource.ts';
import { interpretationPromptVersion, judgeConversation, parseVerdict, verdictSchema } from './interpretationPrompts.ts';
import { InterpretationRepository } from './InterpretationRepository.ts';
import { selectFeatures, type FeatureSelection } from './selectFeatures.ts';
import { describeSpaceReference, requireIndexedSpace, type SpaceReference } from './requireIndexedSpace.ts';
import type { TaskRubric } from './taskRubrics.ts';

export interface JudgeRequest extends SpaceReference {
  /** The rubric, read when the job was submitted (so a resumed job judges by the same text). */
  rubric: TaskRubric;
  judge?: GeneratorChoice;
  /** Defaults to `anchor`. */
  features?: FeatureSelection;
  limit?: number;
  seed?: number;
}

export interface JudgeControl {
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
  onNotice?: (notice: string) => void;
}

/** Excerpts the judge sees beside the feature's explanation. */
const judgeExcerpts = 6;

/**
 * Task relevance (the paper's F step c): for each feature, the judge reads the task's rubric, the
 * feature's best stored explanation (when there is one) and its top excerpts, writes a short
 * analysis and then a verdict Yes / Probably / Maybe / No. Relevant = Yes, Probably or Maybe.
 * Stored per (space, feature, judge, prompt version, task, rubric hash); existing verdicts are skipped.
 */
export async function judgeFeatures(store: Store, home: string, request: JudgeRequest, control: JudgeControl = {}): Promise<JudgeReport> {
  const started = performance.now();
  const { space, modelPath } = await requireIndexedSpace(store, home, request);
  const selected = selectFeatures(store, space, request.features ?? 'anchor');
  const requested = request.limit === undefined ? selected : selected.slice(0, request.limit);
  const repository = new InterpretationRepository(store.db);
  const generator = await openChatGenerator(store, request.judge ?? {}, modelPath, control.signal);
  let measured: ProbeModel | undefined;
  try {
    const notice = endpointNotice(generator);
    if (notice !== null) control.onNotice?.(notice);
    const { task, hash } = request.rubric;
    const existing = repository.judgedFeatures(space.id, generator.identity, interpretationPromptVersion, task, hash);
    const todo = requested.filter((feature) => !existing.has(feature));
    measured = await ProbeModel.load(modelPath, { gpu: false, ...(control.signal ? { signal: control.signal } : {}) });
    const source = new FeatureExampleSource(store, space, measured);
    const explanations = repository.bestExplanations(space.id, todo);
    let done = requested.length - todo.length;
    const unanswered: number[] = [];
    control.onProgress?.(done, requested.length);
    for (let start = 0; start < todo.length; start += generator.parallel) {
      throwIfAborted(control.signal);
      const features = todo.slice(start, start + generator.parallel);
      const shown = features.map((feature) => source.examples(feature, { top: judgeExcerpts, range: 0, heldOut: 0, inactive: 0 }).explain);
      const described = features.map((feature) => {
        const explanation = explanations.get(feature);
        return explanation?.canTell ? explanation.explanation : null;
      });
      const asked = features.map((_, i) => i).filter((i) => shown[i]!.length > 0 || described[i] !== null);
      for (const i of features.keys()) if (!asked.includes(i)) unanswered.push(features[i]!);
      let verdicts = await ask(asked, 300, 0);
      // An answer cut off by the token limit gets one more try with more room.
      const retry = asked.filter((_, j) => verdicts[j] === null);
      if (retry.length > 0) {
        const again = await ask(retry, 600, 0.3);
        verdicts = verdicts.map((verdict, j) => verdict ?? again[retry.indexOf(asked[j]!)] ?? null);
      }
      repository.transaction(() => {
        asked.forEach((i, j) => {
          const verdict = verdicts[j];
          if (verdict === null || verdict === undefined) {
            unanswered.push(features[i]!);
            return;
          }
          repository.insertVerdict({
            spaceId: space.id,
            feature: features[i]!,
            judge: generator.identity,
            judgeLabel: generator.label,
            promptVersion: interpretationPromptVersion,
            task,
            rubricHash: hash,
            verdict: verdict.verdict,
            analysis: verdict.analysis,
            explanation: described[i]!,
            examples: shown[i]!,
          });
        });
      });
      done += features.length;
      control.onProgress?.(done, requested.length);

      async function ask(indices: number[], maxTokens: number, temperature: number): Promise<({ analysis: string; verdict: RelevanceVerdict } | null)[]> {
        if (indices.length === 0) return [];
        const replies = await generator.complete(
          indices.map((i) => judgeConversation(request.rubric.text, described[i]!, shown[i]!)),
          { jsonSchema: verdictSchema, temperature, maxTokens, seed: request.seed ?? 0 },
          control.signal ? { signal: control.signal } : {},
        );
        return replies.map((reply) => parseVerdict(reply.text));
      }
    }
    const latest = repository.latestVerdicts(space.id, task);
    return {
      spaceId: space.id,
      task,
      judge: generator.label,
      notice,
      verdicts: requested.flatMap((feature) => {
        const verdict = latest.get(feature);
        return verdict === undefined ? [] : [{ feature, verdict: verdict.verdict, analysis: verdict.analysis }];
      }),
      skipped: requested.length - todo.length,
      seconds: (performance.now() - started) / 1000,
      ...(unanswered.length > 0 ? { unanswered: [...new Set(unanswered)] } : {}),
    };
  } finally {
    measured?.dispose();
    await generator.dispose();
  }
}

export const JUDGE_JOB = 'features.judge';

export function createJudgeJob(store: Store, home: string): JobDefinition<JudgeRequest, never, JudgeReport> {
  return {
    kind: JUDGE_JOB,
    title: (request) => `Judge features of ${describeSpaceReference(request)} for ${request.rubric.task}`,
    run: (request, ctx) => judgeFeatures(store, home, request, { signal: ctx.signal, onProgress: (done, total) => ctx.progress(done, total) }),
  };
}
