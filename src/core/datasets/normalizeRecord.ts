import type { ChatTurn, DatasetFormat, NormalizedSample } from '../../shared/datasetTypes.ts';
import { parseTranscript } from './parseTranscript.ts';

/** Why one record does not fit its format: the field and what was expected there. */
export class RecordError extends Error {
  readonly field: string;
  readonly expected: string;
  constructor(field: string, expected: string) {
    super(`field '${field}': expected ${expected}`);
    this.field = field;
    this.expected = expected;
  }
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function requireString(record: Json, field: string, what = 'a non-empty string'): string {
  const value = record[field];
  if (typeof value !== 'string' || value.trim() === '') throw new RecordError(field, what);
  return value;
}

function optionalString(record: Json, field: string): string | undefined {
  const value = record[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value !== 'string') throw new RecordError(field, 'a string when present');
  return value;
}

function roleOf(raw: unknown, field: string): ChatTurn['role'] {
  switch (raw) {
    case 'system':
      return 'system';
    case 'user':
    case 'human':
      return 'user';
    case 'assistant':
    case 'gpt':
    case 'model':
    case 'bot':
      return 'assistant';
    default:
      throw new RecordError(field, "a role of 'system', 'user' or 'assistant' (ShareGPT: 'human' or 'gpt')");
  }
}

function contentOf(raw: unknown, field: string): string {
  if (typeof raw === 'string') return raw;
  // OpenAI content parts: [{type: 'text', text}]
  if (Array.isArray(raw) && raw.every((part) => isObject(part) && typeof part['text'] === 'string')) {
    return raw.map((part) => (part as Json)['text'] as string).join('');
  }
  throw new RecordError(field, 'a string (or a list of {type: "text", text} parts)');
}

/** Fields not consumed by the format, kept as metadata (e.g. IFEval's instruction ids). */
function metaOf(record: Json, consumed: readonly string[]): Record<string, unknown> | undefined {
  const rest = Object.entries(record).filter(([key]) => !consumed.includes(key));
  return rest.length === 0 ? undefined : Object.fromEntries(rest);
}

function withMeta(sample: NormalizedSample, meta: Record<string, unknown> | undefined): NormalizedSample {
  return meta === undefined ? sample : { ...sample, meta };
}

/** Turns of one side of a preference pair: a transcript, plain text, or a message list. */
function sideTurns(value: unknown, field: string): ChatTurn[] {
  if (typeof value === 'string') {
    if (value.trim() === '') throw new RecordError(field, 'a non-empty string or message list');
    return parseTranscript(value) ?? [{ role: 'assistant', content: value.trim() }];
  }
  if (Array.isArray(value)) return messagesOf(value, field);
  throw new RecordError(field, 'a string, a "\\n\\nHuman: …\\n\\nAssistant: …" transcript, or a message list');
}

function messagesOf(list: unknown[], field: string): ChatTurn[] {
  if (list.length === 0) throw new RecordError(field, 'at least one message');
  return list.map((message, i) => {
    if (!isObject(message)) throw new RecordError(`${field}[${i}]`, 'an object {role, content}');
    return { role: roleOf(message['role'], `${field}[${i}].role`), content: contentOf(message['content'], `${field}[${i}].content`) };
  });
}

function sameTurn(a: ChatTurn | undefined, b: ChatTurn | undefined): boolean {
  return a !== undefined && b !== undefined && a.role === b.role && a.content === b.content;
}

function answerOf(record: Json, field: string): string {
  const value = record[field];
  if (typeof value === 'string' && value.trim() !== '') return value;
  if (Array.isArray(value) && typeof value[0] === 'string') return value[0];
  throw new RecordError(field, 'an answer label such as "(A)"');
}

/** Normalises one parsed record of the given format into Facet's sample shape. */
export function normalizeRecord(value: unknown, format: DatasetFormat): NormalizedSample {
  if (!isObject(value)) throw new RecordError('(record)', 'a JSON object');
  switch (format) {
    case 'alpaca': {
      const instruction = requireString(value, 'instruction');
      const input = optionalString(value, 'input') ?? '';
      const output = optionalString(value, 'output') ?? '';
      const turns: ChatTurn[] = [{ role: 'user', content: input.trim() === '' ? instruction : `${instruction}\n\n${input}` }];
      if (output !== '') turns.push({ role: 'assistant', content: output });
      return withMeta({ turns }, metaOf(value, ['instruction', 'input', 'output']));
    }
    case 'openai': {
      const messages = value['messages'];
      if (!Array.isArray(messages)) throw new RecordError('messages', 'a list of {role, content}');
      return withMeta({ turns: messagesOf(messages, 'messages') }, metaOf(value, ['messages']));
    }
    case 'sharegpt': {
      const conversations = value['conversations'];
      if (!Array.isArray(conversations) || conversations.length === 0) throw new RecordError('conversations', 'a non-empty list of {from, value}');
      const turns = conversations.map((turn, i) => {
        if (!isObject(turn)) throw new RecordError(`conversations[${i}]`, 'an object {from, value}');
        return { role: roleOf(turn['from'], `conversations[${i}].from`), content: contentOf(turn['value'], `conversations[${i}].value`) };
      });
      return withMeta({ turns }, metaOf(value, ['conversations']));
    }
    case 'text':
    case 'csv': {
      const field = typeof value['text'] === 'string' ? 'text' : typeof value['prompt'] === 'string' ? 'prompt' : undefined;
      if (field === undefined) throw new RecordError('text', "a non-empty string (or 'prompt')");
      const text = requireString(value, field);
      const turns: ChatTurn[] = [{ role: 'user', content: text }];
      const completionField = ['completion', 'response', 'output'].find((name) => typeof value[name] === 'string');
      if (completionField !== undefined && (value[completionField] as string) !== '') turns.push({ role: 'assistant', content: value[completionField] as string });
      const label = optionalString(value, 'label');
      const sample: NormalizedSample = label === undefined ? { turns } : { turns, label };
      return withMeta(sample, metaOf(value, [field, 'label', ...(completionField ? [completionField] : [])]));
    }
    case 'preference': {
      const chosen = sideTurns(value['chosen'], 'chosen');
      const rejected = sideTurns(value['rejected'], 'rejected');
      let history: ChatTurn[] = [];
      const prompt = value['prompt'];
      if (prompt !== undefined && prompt !== null) {
        history = typeof prompt === 'string' ? (parseTranscript(prompt) ?? [{ role: 'user', content: prompt.trim() }]) : sideTurns(prompt, 'prompt');
      }
      // The longest prefix both sides share is the history; what follows are the continuations.
      let shared = 0;
      while (shared < chosen.length - 1 && shared < rejected.length - 1 && sameTurn(chosen[shared], rejected[shared])) shared++;
      const turns = [...history, ...chosen.slice(0, shared)];
      return withMeta({ turns, pair: { kind: 'preference', chosen: chosen.slice(shared), rejected: rejected.slice(shared) } }, metaOf(value, ['chosen', 'rejected', 'prompt']));
    }
    case 'caa': {
      const question = requireString(value, 'question');
      const matching = answerOf(value, 'answer_matching_behavior');
      const notMatching = answerOf(value, 'answer_not_matching_behavior');
      return withMeta(
        { turns: [{ role: 'user', content: question }], pair: { kind: 'ab', matching, notMatching } },
        metaOf(value, ['question', 'answer_matching_behavior', 'answer_not_matching_behavior']),
      );
    }
  }
}

/** Picks the format from the keys of the first record. */
export function detectFormat(value: unknown): DatasetFormat | undefined {
  if (!isObject(value)) return undefined;
  if ('messages' in value) return 'openai';
  if ('conversations' in value) return 'sharegpt';
  if ('chosen' in value && 'rejected' in value) return 'preference';
  if ('question' in value && 'answer_matching_behavior' in value) return 'caa';
  if ('instruction' in value) return 'alpaca';
  if ('text' in value || 'prompt' in value) return 'text';
  return undefined;
}
