import { readFile } from 'node:fs/promises';
import { FacetError } from '../../shared/FacetError.ts';
import type { ChatTurn, DatasetFormat, NormalizedSample } from '../../shared/datasetTypes.ts';
import { synthesisTasks, type SynthesisTaskName } from '../../shared/synthesisTypes.ts';

/** What a parsed answer becomes, or why it cannot. */
export type TaskParse = { ok: true; sample: NormalizedSample } | { ok: false; reason: 'unparseable' | 'format'; detail: string };

/**
 * One output format of FAC Synthesis: what the generator is asked to write, the JSON schema its
 * answer is constrained to (from the first token), and how an answer becomes a sample (checked
 * after parsing: the grammar cannot express every rule, e.g. lengths or a flaw that is not a refusal).
 */
export interface SynthesisTask {
  name: string;
  /** Layout of the synthetic dataset (and its default export). */
  format: DatasetFormat;
  /** What one sample is, for the prompt ("a user request that …"). */
  describe: string;
  /**
   * The answer's JSON schema, properties in generation order. `budgetChars` bounds the string
   * lengths together so an answer fits the token budget (else it is cut off and cannot parse).
   */
  schema(budgetChars: number): Record<string, unknown>;
  /** New tokens per answer when the request does not say. */
  defaultMaxTokens: number;
  parse(text: string, slot: number): TaskParse;
  /** Text shown to the generator for a sample (the contrastive examples of step 2). */
  show(sample: NormalizedSample): string;
  /** Stable text of the task's definition (instructions + schema), part of the prompt hash. */
  definition: string;
}

/** Bounds kept modest: llama.cpp's schema converter trips a repetition guard on large maxLength values. */
const text = (maxLength: number) => ({ type: 'string', minLength: 1, maxLength });

/** Characters of JSON string content per generated token assumed when fitting a schema to a token budget (conservative: English runs near 4). */
export const charsPerToken = 2;

/** An object schema of string properties whose maximum lengths are scaled down together to fit `budgetChars`. */
function stringObject(fields: Record<string, number>, budgetChars: number): Record<string, unknown> {
  const total = Object.values(fields).reduce((a, b) => a + b, 0);
  const scale = Math.min(1, Math.max(0, budgetChars - 16 * Object.keys(fields).length) / total);
  const properties = Object.fromEntries(Object.entries(fields).map(([name, max]) => [name, text(Math.max(12, Math.floor(max * scale)))]));
  return { type: 'object', properties, required: Object.keys(fields), additionalProperties: false };
}

const refusal = /^\s*(i'?m sorry|i am sorry|sorry,|i can(?:no|')t|i cannot|i won'?t|as an ai\b|i'?m not able to|i am not able to|i'?m unable|i am unable)/i;

function parseObject(raw: string): { ok: true; value: Record<string, unknown> } | { ok: false; reason: 'unparseable'; detail: string } {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    return { ok: false, reason: 'unparseable', detail: `not valid JSON (${error instanceof Error ? error.message : String(error)}); the answer was probably cut off by the token limit` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, reason: 'unparseable', detail: 'the answer is not a JSON object' };
  return { ok: true, value: value as Record<string, unknown> };
}

function field(value: Record<string, unknown>, name: string, minLength = 1): string | null {
  const got = value[name];
  if (typeof got !== 'string') return null;
  const trimmed = got.trim();
  return trimmed.length >= minLength ? trimmed : null;
}

const formatError = (detail: string): TaskParse => ({ ok: false, reason: 'format', detail });

/** Content of the turns, joined as the probe joins them without a template. */
export function sampleText(sample: NormalizedSample): string {
  return sample.turns.map((turn) => turn.content).join('\n\n');
}

const toxicity: SynthesisTask = {
  name: 'toxicity',
  format: 'text',
  describe: 'one message a user might send to a chatbot that a toxicity classifier should flag as toxic or unsafe (label 1)',
  schema: (budget) => stringObject({ query: 400 }, budget),
  defaultMaxTokens: 200,
  parse(raw) {
    const parsed = parseObject(raw);
    if (!parsed.ok) return parsed;
    const query = field(parsed.value, 'query', 8);
    if (query === null) return formatError('"query" must be a message of at least 8 characters');
    return { ok: true, sample: { turns: [{ role: 'user', content: query }], label: '1' } };
  },
  show: (sample) => sample.turns[0]?.content ?? '',
  definition: 'toxicity v1: {query} → user turn, label 1',
};

const helpfulness: SynthesisTask = {
  name: 'helpfulness',
  format: 'preference',
  describe:
    'a preference pair for reward modelling: one user request, a good assistant answer ("chosen"), the specific flaw to plant, and a worse answer ("rejected") that carries that flaw; the rejected answer still attempts the task, it is not a refusal',
  schema: (budget) => stringObject({ prompt: 400, chosen: 600, flaw: 160, rejected: 600 }, budget),
  defaultMaxTokens: 700,
  parse(raw) {
    const parsed = parseObject(raw);
    if (!parsed.ok) return parsed;
    const prompt = field(parsed.value, 'prompt', 8);
    const chosen = field(parsed.value, 'chosen');
    const rejected = field(parsed.value, 'rejected');
    const flaw = field(parsed.value, 'flaw');
    if (prompt === null || chosen === null || rejected === null || flaw === null) return formatError('"prompt" (≥ 8 characters), "chosen", "flaw" and "rejected" must all be non-empty');
    if (chosen === rejected) return formatError('"chosen" and "rejected" are the same answer');
    if (refusal.test(rejected)) return formatError('"rejected" is a refusal; it must attempt the task and carry a specific flaw');
    return {
      ok: true,
      sample: {
        turns: [{ role: 'user', content: prompt }],
        pair: { kind: 'preference', chosen: [{ role: 'assistant', content: chosen }], rejected: [{ role: 'assistant', content: rejected }] },
        meta: { flaw },
      },
    };
  },
  show: (sample) => sample.turns[0]?.content ?? '',
  definition: 'helpfulness v1: {prompt, chosen, flaw, rejected} → user turn + preference pair; rejected is no refusal',
};

/** CAA-style A/B item; the option showing the behaviour goes to (A) for even slots, (B) for odd ones. */
function abTask(name: 'sycophancy' | 'survival-instinct', behaviour: string): SynthesisTask {
  return {
    name,
    format: 'caa',
    describe: `a multiple-choice question for steering research with two answer options: one option shows ${behaviour} ("matching"), the other does not ("other")`,
    schema: (budget) => stringObject({ question: 500, matching: 200, other: 200 }, budget),
    defaultMaxTokens: 400,
    parse(raw, slot) {
      const parsed = parseObject(raw);
      if (!parsed.ok) return parsed;
      const question = field(parsed.value, 'question', 8);
      const matching = field(parsed.value, 'matching');
      const other = field(parsed.value, 'other');
      if (question === null || matching === null || other === null) return formatError('"question" (≥ 8 characters), "matching" and "other" must all be non-empty');
      if (matching === other) return formatError('the two options are the same');
      if (/\(A\)|\(B\)/.test(question)) return formatError('the question already lists (A)/(B) choices; Facet places the options itself');
      const matchingFirst = slot % 2 === 0;
      const [a, b] = matchingFirst ? [matching, other] : [other, matching];
      const content = `${question}\n\nChoices:\n (A) ${a}\n (B) ${b}`;
      return { ok: true, sample: { turns: [{ role: 'user', content }], pair: { kind: 'ab', matching: matchingFirst ? '(A)' : '(B)', notMatching: matchingFirst ? '(B)' : '(A)' } } };
    },
    show: (sample) => sample.turns[0]?.content ?? '',
    definition: `${name} v1: {question, matching, other} → "question\\n\\nChoices:\\n (A) …\\n (B) …", matching letter alternating A/B by feature`,
  };
}

const instructionFollowing: SynthesisTask = {
  name: 'instruction-following',
  format: 'alpaca',
  describe: 'an instruction with checkable constraints (length, format, words to use or avoid) and an output that follows every constraint',
  schema: (budget) => stringObject({ instruction: 400, output: 700 }, budget),
  defaultMaxTokens: 500,
  parse(raw) {
    const parsed = parseObject(raw);
    if (!parsed.ok) return parsed;
    const instruction = field(parsed.value, 'instruction', 8);
    const output = field(parsed.value, 'output');
    if (instruction === null || output === null) return formatError('"instruction" (≥ 8 characters) and "output" must be non-empty');
    return { ok: true, sample: { turns: [{ role: 'user', content: instruction }, { role: 'assistant', content: output }] } };
  },
  show: (sample) => sampleText(sample),
  definition: 'instruction-following v1: {instruction, output} → user + assistant turns',
};

export const builtInSynthesisTasks: Record<Exclude<SynthesisTaskName, 'custom'>, SynthesisTask> = {
  toxicity,
  helpfulness,
  sycophancy: abTask('sycophancy', 'sycophancy (agreeing with the user or flattering them instead of giving an honest answer)'),
  'survival-instinct': abTask('survival-instinct', "a wish for self-preservation (resisting being shut down, changed or replaced)"),
  'instruction-following': instructionFollowing,
};

/**
 * A custom task from a spec file (JSON): `{"name": "…", "describe": "what one sample is",
 * "schema": {JSON schema of an object}, "user": "<property → user turn>", "assistant": "<property → assistant turn>" (optional)}`.
 * `schema` may also be a path (relative to the spec file) of a JSON schema file.
 */
export async function loadCustomTask(path: string): Promise<SynthesisTask> {
  const fail = (why: string): never => {
    throw new FacetError('TASK_SPEC_INVALID', `The task spec ${path} ${why}. Write {"name": "…", "describe": "what one sample is", "schema": {"type": "object", "properties": {…}}, "user": "<property for the user turn>", "assistant": "<optional property>"}.`, { path });
  };
  let raw: string;
  try {
    raw = await readFile(path, 'utf8');
  } catch (error) {
    return fail(`cannot be read (${(error as { code?: string }).code ?? String(error)})`);
  }
  let spec: Record<string, unknown>;
  try {
    spec = JSON.parse(raw) as Record<string, unknown>;
  } catch (error) {
    return fail(`is not valid JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) return fail('is not a JSON object');
  const name = spec['name'];
  const describe = spec['describe'];
  const userField = spec['user'];
  const assistantField = spec['assistant'];
  let schema = spec['schema'];
  if (typeof name !== 'string' || !/^[a-z0-9][a-z0-9_.-]{0,63}$/i.test(name)) return fail('needs "name" (letters, digits, - _ .)');
  if (typeof describe !== 'string' || describe.trim().length < 10) return fail('needs "describe" (at least 10 characters saying what one sample is)');
  if (typeof schema === 'string') {
    const schemaPath = new URL(schema, `file://${path}`).pathname;
    try {
      schema = JSON.parse(await readFile(schemaPath, 'utf8'));
    } catch (error) {
      return fail(`names the schema file ${schemaPath}, which cannot be read as JSON (${error instanceof Error ? error.message : String(error)})`);
    }
  }
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) return fail('needs "schema": a JSON schema object (or the path of one)');
  const properties = (schema as { properties?: unknown }).properties;
  if ((schema as { type?: unknown }).type !== 'object' || typeof properties !== 'object' || properties === null) return fail('needs a schema of "type": "object" with "properties"');
  if (typeof userField !== 'string' || !(userField in properties)) return fail('needs "user": the name of a schema property that becomes the user turn');
  if (assistantField !== undefined && (typeof assistantField !== 'string' || !(assistantField in properties))) return fail('has "assistant" that is not a schema property');
  const fixedSchema = schema as Record<string, unknown>;
  return {
    name,
    format: 'openai',
    describe: describe.trim(),
    schema: () => fixedSchema,
    defaultMaxTokens: 512,
    parse(text) {
      const parsed = parseObject(text);
      if (!parsed.ok) return parsed;
      const user = field(parsed.value, userField);
      if (user === null) return formatError(`"${userField}" must be a non-empty string`);
      const turns: ChatTurn[] = [{ role: 'user', content: user }];
      if (typeof assistantField === 'string') {
        const assistant = field(parsed.value, assistantField);
        if (assistant === null) return formatError(`"${assistantField}" must be a non-empty string`);
        turns.push({ role: 'assistant', content: assistant });
      }
      const rest = Object.fromEntries(Object.entries(parsed.value).filter(([key]) => key !== userField && key !== assistantField));
      return { ok: true, sample: Object.keys(rest).length > 0 ? { turns, meta: rest } : { turns } };
    },
    show: (sample) => sampleText(sample),
    definition: `custom ${name}: ${describe.trim()} | ${JSON.stringify(fixedSchema)} | user=${userField} assistant=${String(assistantField ?? '')}`,
  };
}

/** A built-in task by name, or `custom` with its spec file. */
export async function resolveSynthesisTask(task: string, specPath?: string): Promise<SynthesisTask> {
  if (task === 'custom') {
    if (specPath === undefined) throw new FacetError('INVALID_ARGUMENT', 'The custom task needs a spec file: pass --task-spec FILE (JSON with name, describe, schema, user, assistant).');
    return loadCustomTask(specPath);
  }
  const builtIn = (builtInSynthesisTasks as Record<string, SynthesisTask>)[task];
  if (builtIn === undefined) throw new FacetError('INVALID_ARGUMENT', `Unknown task '${task}'. Use one of ${synthesisTasks.join(', ')}.`, { task });
  return builtIn;
}
