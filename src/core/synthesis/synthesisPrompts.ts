import { createHash } from 'node:crypto';
import type { ChatTurn } from '../../shared/datasetTypes.ts';
import type { SynthesisTask } from './synthesisTasks.ts';

/**
 * Facet's own prompts for the two synthesis steps. Bump {@link synthesisPromptVersion} whenever a
 * prompt changes: every accepted sample records the version and the hash of the exact
 * conversation it was written from.
 */
export const synthesisPromptVersion = 1;

/** What the generator is told about the target feature. */
export interface FeatureBrief {
  feature: number;
  /** The stored explanation, or null (then the spans alone describe the feature). */
  explanation: string | null;
  /** Excerpts where the feature fires most, the peak token between [[ ]], strongest first. */
  spans: { text: string; value: number }[];
}

/** One side of the contrastive pair. */
export interface ContrastExample {
  text: string;
  activation: number;
}

function briefLines(brief: FeatureBrief): string[] {
  const lines: string[] = [];
  if (brief.explanation !== null && brief.explanation.trim() !== '') lines.push(`What the feature responds to: ${brief.explanation.trim()}`);
  if (brief.spans.length > 0) {
    lines.push('Excerpts where it fires most strongly (the token where it peaks is wrapped in [[ ]]):');
    brief.spans.forEach((span, i) => lines.push(`${i + 1}. (strength ${span.value.toFixed(2)}) ${span.text}`));
  }
  if (lines.length === 0) lines.push('Nothing is known about the feature yet; write something varied and natural.');
  return lines;
}

function systemTurn(task: SynthesisTask, aimed = true): ChatTurn {
  const aim = aimed ? ['Each piece of data you write should make one particular internal feature of the model fire, so that the data covers what the feature detects.'] : [];
  return {
    role: 'system',
    content: [
      'You write training data for a language model.',
      ...aim,
      `Write ${task.describe}.`,
      `The text must read naturally${aimed ? ' and must not mention features, excerpts or strengths' : ''}. Answer in the JSON format requested.`,
    ].join(' '),
  };
}

/** Step 1: the feature's description and spans; n candidates are sampled from this one conversation. */
export function stepOneConversation(task: SynthesisTask, brief: FeatureBrief): ChatTurn[] {
  return [systemTurn(task), { role: 'user', content: [...briefLines(brief), '', 'Write one new piece of data in which the feature fires.'].join('\n') }];
}

/** Step 2: the description plus the contrastive pair (x⁺ strong, x⁻ weak) with their measured strengths. */
export function stepTwoConversation(task: SynthesisTask, brief: FeatureBrief, strong: ContrastExample, weak: ContrastExample | null): ChatTurn[] {
  const lines = [...briefLines(brief), ''];
  lines.push(`This piece of data makes the feature fire strongly (strength ${strong.activation.toFixed(2)}):`, strong.text, '');
  if (weak !== null) lines.push(`This one makes it fire only weakly (strength ${weak.activation.toFixed(2)}):`, weak.text, '');
  lines.push('Write one new piece of data, different from both, in which the feature fires at least as strongly as in the first one.');
  return [systemTurn(task), { role: 'user', content: lines.join('\n') }];
}

/**
 * The plain baseline: the same system turn and task format with no feature to aim at, so a
 * same-budget comparison isolates what the feature targets add.
 */
export function plainConversation(task: SynthesisTask): ChatTurn[] {
  return [systemTurn(task, false), { role: 'user', content: 'Write one new piece of data.' }];
}

/** sha256 of the exact conversation and schema a candidate was sampled from. */
export function promptHash(conversation: readonly ChatTurn[], schema: Record<string, unknown>): string {
  return createHash('sha256').update(JSON.stringify({ version: synthesisPromptVersion, conversation, schema })).digest('hex');
}
