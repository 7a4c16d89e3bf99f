import type { ChatTurn } from '../../shared/datasetTypes.ts';
import { relevanceVerdicts, type RelevanceVerdict } from '../../shared/interpretationTypes.ts';
import type { FeatureExample } from './FeatureExampleSource.ts';

/**
 * Facet's own prompts for explaining, scoring, verifying and judging SAE features. Bump
 * {@link interpretationPromptVersion} whenever a prompt or schema changes: stored results are keyed
 * by it, so a new version explains again instead of mixing answers to different questions.
 */
export const interpretationPromptVersion = 1;

/** The peak token of an excerpt is shown between these marks. */
export const peakOpen = '[[';
export const peakClose = ']]';

/** An excerpt as the explainer sees it: the peak marked, or plain text for detection. */
export function renderExample(example: FeatureExample, marked: boolean): string {
  const lead = example.cut ? '…' : '';
  return marked ? `${lead}${example.prefix}${peakOpen}${example.peak}${peakClose}` : `${lead}${example.prefix}${example.peak}`;
}

/** Answers are generated in property order: what the model noticed first, then the explanation. */
export const explanationSchema = {
  type: 'object',
  properties: {
    observations: { type: 'string', maxLength: 240 },
    explanation: { type: 'string', maxLength: 120 },
    canTell: { type: 'boolean' },
  },
  required: ['observations', 'explanation', 'canTell'],
  additionalProperties: false,
} as const;

export function explanationConversation(examples: readonly FeatureExample[]): ChatTurn[] {
  const lines = examples.map((example, i) => `${i + 1}. (strength ${example.value.toFixed(2)}) ${renderExample(example, true)}`);
  return [
    {
      role: 'system',
      content: [
        'You are studying a single feature inside a language model. Each excerpt below is text on which the feature fired;',
        `the token where it fired most strongly is wrapped in ${peakOpen} ${peakClose} and the excerpt stops right after it.`,
        'Stronger excerpts come first, weaker ones after them.',
        'First note what the marked tokens and the words just before them have in common. Then name, in at most fifteen words,',
        'what the feature responds to: a word or phrase, a topic, a kind of request, a grammatical role, a format or a position in a conversation.',
        'If the excerpts share nothing you could name, set canTell to false and leave the explanation empty.',
      ].join(' '),
    },
    { role: 'user', content: `Excerpts:\n${lines.join('\n')}` },
  ];
}

/** One yes/no answer per excerpt, in order, as fixed keys so the count cannot drift. */
export function detectionSchema(count: number): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  for (let i = 1; i <= count; i++) properties[`excerpt${i}`] = { enum: ['yes', 'no'] };
  return { type: 'object', properties, required: Object.keys(properties), additionalProperties: false };
}

export function detectionConversation(explanation: string, examples: readonly FeatureExample[]): ChatTurn[] {
  const lines = examples.map((example, i) => `excerpt${i + 1}: ${renderExample(example, false)}`);
  return [
    {
      role: 'system',
      content: [
        'You are checking a description of a feature inside a language model.',
        'Some of the excerpts below make the feature fire and some do not. Using only the description,',
        'answer yes for each excerpt you expect the feature to fire on and no for the others.',
      ].join(' '),
    },
    { role: 'user', content: `Description: ${explanation}\n\n${lines.join('\n')}` },
  ];
}

/** Analysis first, then the verdict on the four-level scale. */
export const verdictSchema = {
  type: 'object',
  properties: {
    analysis: { type: 'string', maxLength: 300 },
    verdict: { enum: [...relevanceVerdicts] },
  },
  required: ['analysis', 'verdict'],
  additionalProperties: false,
} as const;

export function verificationConversation(explanation: string, examples: readonly FeatureExample[]): ChatTurn[] {
  const lines = examples.map((example, i) => `${i + 1}. ${renderExample(example, true)}`);
  return [
    {
      role: 'system',
      content: [
        `A description was written for a feature of a language model from excerpts where it fired (the strongest token in ${peakOpen} ${peakClose}).`,
        'Say briefly whether the description fits the excerpts, then answer Yes, Probably, Maybe or No.',
      ].join(' '),
    },
    { role: 'user', content: `Description: ${explanation}\n\nExcerpts:\n${lines.join('\n')}` },
  ];
}

export function judgeConversation(rubric: string, explanation: string | null, examples: readonly FeatureExample[]): ChatTurn[] {
  const lines = examples.map((example, i) => `${i + 1}. ${renderExample(example, true)}`);
  return [
    {
      role: 'system',
      content: [
        'You decide whether a feature inside a language model matters for a task, so that training data can be checked for it.',
        `The task and what counts as relevant:\n${rubric}\n`,
        'Write a short analysis of what the feature detects and how that relates to the task, then give a verdict:',
        'Yes (clearly relevant), Probably, Maybe, or No (unrelated).',
      ].join(' '),
    },
    {
      role: 'user',
      content: `${explanation ? `Description of the feature: ${explanation}\n\n` : ''}Excerpts where it fires (strongest token in ${peakOpen} ${peakClose}):\n${lines.join('\n')}`,
    },
  ];
}

/** Parses a JSON answer; null when it is cut off or not the expected shape. */
export function parseAnswer<T>(text: string, check: (value: Record<string, unknown>) => T | null): T | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  return check(value as Record<string, unknown>);
}

export function parseVerdict(text: string): { analysis: string; verdict: RelevanceVerdict } | null {
  return parseAnswer(text, (value) => {
    const verdict = value['verdict'];
    const analysis = value['analysis'];
    if (typeof analysis !== 'string' || typeof verdict !== 'string' || !(relevanceVerdicts as readonly string[]).includes(verdict)) return null;
    return { analysis: analysis.trim(), verdict: verdict as RelevanceVerdict };
  });
}
