import { describe, expect, it } from 'vitest';
import { detectFormat, normalizeRecord, RecordError } from '../../../src/core/datasets/normalizeRecord.ts';

describe('normalizeRecord', () => {
  it('alpaca: instruction + input as the user turn, output as the assistant turn', () => {
    expect(normalizeRecord({ instruction: 'Sum', input: '1 2', output: '3' }, 'alpaca')).toEqual({
      turns: [
        { role: 'user', content: 'Sum\n\n1 2' },
        { role: 'assistant', content: '3' },
      ],
    });
    expect(normalizeRecord({ instruction: 'Hi', input: '', output: '' }, 'alpaca').turns).toEqual([{ role: 'user', content: 'Hi' }]);
  });
  it('openai and sharegpt messages, with content parts and role aliases', () => {
    expect(normalizeRecord({ messages: [{ role: 'system', content: 's' }, { role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] }] }, 'openai').turns).toEqual([
      { role: 'system', content: 's' },
      { role: 'user', content: 'ab' },
    ]);
    expect(normalizeRecord({ conversations: [{ from: 'human', value: 'q' }, { from: 'gpt', value: 'a' }], id: 7 }, 'sharegpt')).toEqual({
      turns: [
        { role: 'user', content: 'q' },
        { role: 'assistant', content: 'a' },
      ],
      meta: { id: 7 },
    });
  });
  it('text with a label, and prompt records keep extra fields as metadata', () => {
    expect(normalizeRecord({ text: 'hello', label: 1 }, 'text')).toEqual({ turns: [{ role: 'user', content: 'hello' }], label: '1' });
    expect(normalizeRecord({ key: 5, prompt: 'Write', instruction_id_list: ['a:b'] }, 'text')).toEqual({
      turns: [{ role: 'user', content: 'Write' }],
      meta: { key: 5, instruction_id_list: ['a:b'] },
    });
  });
  it('preference transcripts: the shared history becomes the turns, the differing replies the pair', () => {
    const sample = normalizeRecord({ chosen: '\n\nHuman: q1\n\nAssistant: a1\n\nHuman: q2\n\nAssistant: good', rejected: '\n\nHuman: q1\n\nAssistant: a1\n\nHuman: q2\n\nAssistant: bad' }, 'preference');
    expect(sample.turns).toEqual([
      { role: 'user', content: 'q1' },
      { role: 'assistant', content: 'a1' },
      { role: 'user', content: 'q2' },
    ]);
    expect(sample.pair).toEqual({ kind: 'preference', chosen: [{ role: 'assistant', content: 'good' }], rejected: [{ role: 'assistant', content: 'bad' }] });
    const withPrompt = normalizeRecord({ prompt: 'p', chosen: 'yes', rejected: 'no' }, 'preference');
    expect(withPrompt.turns).toEqual([{ role: 'user', content: 'p' }]);
    expect(withPrompt.pair).toEqual({ kind: 'preference', chosen: [{ role: 'assistant', content: 'yes' }], rejected: [{ role: 'assistant', content: 'no' }] });
  });
  it('CAA A/B items keep both answer labels', () => {
    expect(normalizeRecord({ question: 'Q?\n (A) x\n (B) y', answer_matching_behavior: ' (A)', answer_not_matching_behavior: ' (B)' }, 'caa')).toEqual({
      turns: [{ role: 'user', content: 'Q?\n (A) x\n (B) y' }],
      pair: { kind: 'ab', matching: ' (A)', notMatching: ' (B)' },
    });
  });
  it('names the field and what was expected', () => {
    const error = (() => {
      try {
        normalizeRecord({ chosen: 5, rejected: 'x' }, 'preference');
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(RecordError);
    expect((error as RecordError).field).toBe('chosen');
    expect(() => normalizeRecord({ messages: [{ role: 'robot', content: 'x' }] }, 'openai')).toThrow(/messages\[0\]\.role/);
    expect(() => normalizeRecord('str', 'text')).toThrow(/JSON object/);
  });
  it('detects formats from field names', () => {
    expect(detectFormat({ messages: [] })).toBe('openai');
    expect(detectFormat({ conversations: [] })).toBe('sharegpt');
    expect(detectFormat({ chosen: '', rejected: '' })).toBe('preference');
    expect(detectFormat({ question: '', answer_matching_behavior: '' })).toBe('caa');
    expect(detectFormat({ instruction: '' })).toBe('alpaca');
    expect(detectFormat({ text: '' })).toBe('text');
    expect(detectFormat({ foo: 1 })).toBeUndefined();
  });
});
