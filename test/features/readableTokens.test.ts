import { describe, expect, it } from 'vitest';
import { readableText, readableTokens } from '../../src/renderer/src/components/readableTokens.ts';
import type { FeatureContextToken } from '../../src/shared/featureTypes.ts';

const tokens = (...pieces: [string, number, boolean?][]): FeatureContextToken[] => pieces.map(([text, value, special], position) => ({ position, text, value, special: special ?? false }));

describe('template tokens made readable', () => {
  it('folds a llama3 turn header into one "role:" chip carrying its highest code, and names the end of a turn', () => {
    const pieces = readableTokens(tokens(['Hi', 0.5], ['<|eot_id|>', 2, true], ['<|start_header_id|>', 0, true], ['assistant', 1, false], ['<|end_header_id|>', 0, true], ['\n\n', 0], ['Sure', 3]));
    expect(pieces.map((p) => [p.kind, p.text, p.value])).toEqual([
      ['text', 'Hi', 0.5],
      ['chip', 'end of turn', 2],
      ['chip', 'assistant:', 1],
      ['text', 'Sure', 3],
    ]);
    expect(pieces[2]!.positions).toEqual([2, 3, 4, 5]);
    expect(pieces[2]!.raw).toBe('<|start_header_id|>assistant<|end_header_id|>\n\n');
  });

  it('reads ChatML and Gemma headers up to the line break', () => {
    expect(readableTokens(tokens(['<|im_start|>', 0, true], ['user', 0], ['\n', 0], ['Hello', 1])).map((p) => p.text)).toEqual(['user:', 'Hello']);
    expect(readableTokens(tokens(['<start_of_turn>', 0, true], ['model', 0], ['\n', 0], ['Yes', 1], ['<end_of_turn>', 0, true])).map((p) => p.text)).toEqual(['model:', 'Yes', 'end of turn']);
  });

  it('turns control tokens inside stored span text into the same chips', () => {
    const pieces = readableText('ignored us.<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nThe food');
    expect(pieces.map((p) => [p.kind, p.text])).toEqual([
      ['text', 'ignored us.'],
      ['chip', 'end of turn'],
      ['chip', 'assistant:'],
      ['text', 'The food'],
    ]);
    expect(readableText('plain words').map((p) => p.text)).toEqual(['plain words']);
  });
});
