import { describe, expect, it } from 'vitest';
import { CsvParser } from '../../../src/core/datasets/CsvParser.ts';
import { JsonArraySplitter } from '../../../src/core/datasets/JsonArraySplitter.ts';
import { parseTranscript } from '../../../src/core/datasets/parseTranscript.ts';

function splitAll(text: string, chunkSize: number): { line: number; text: string }[] {
  const splitter = new JsonArraySplitter('x.json');
  const out = [];
  for (let i = 0; i < text.length; i += chunkSize) out.push(...splitter.push(text.slice(i, i + chunkSize)));
  splitter.end();
  return out;
}

describe('JsonArraySplitter', () => {
  const text = '[\n  {"a": "x ] , [ } \\" {", "b": [1, {"c": 2}]},\n  {"a": "\\\\"},\n  3,\n  "s,]"\n]\n';
  it('splits elements at any chunk boundary, ignoring brackets inside strings', () => {
    for (const size of [1, 2, 3, 7, 1000]) {
      const elements = splitAll(text, size);
      expect(elements.map((element) => JSON.parse(element.text))).toEqual([{ a: 'x ] , [ } " {', b: [1, { c: 2 }] }, { a: '\\' }, 3, 's,]']);
      expect(elements.map((element) => element.line)).toEqual([2, 3, 4, 5]);
    }
  });
  it('handles an empty array and refuses a truncated one', () => {
    expect(splitAll('[ ]', 1)).toEqual([]);
    expect(() => splitAll('[{"a": 1},', 4)).toThrow(/truncated/);
    expect(() => new JsonArraySplitter('x').push('{"a":1}')).toThrow(/expected '\['/);
  });
});

describe('CsvParser', () => {
  it('parses quoted fields with commas, doubled quotes, newlines and CRLF at any chunk size', () => {
    const text = 'text,label\r\n"a, b",1\r\n"say ""hi""\nthere",0\r\nplain,2';
    for (const size of [1, 3, 100]) {
      const parser = new CsvParser();
      const rows = [];
      for (let i = 0; i < text.length; i += size) rows.push(...parser.push(text.slice(i, i + size)));
      rows.push(...parser.end());
      expect(rows.map((row) => row.fields)).toEqual([['text', 'label'], ['a, b', '1'], ['say "hi"\nthere', '0'], ['plain', '2']]);
      expect(rows.map((row) => row.line)).toEqual([1, 2, 3, 5]);
    }
  });
  it('refuses an unclosed quote', () => {
    const parser = new CsvParser();
    parser.push('text\n"open');
    expect(() => parser.end()).toThrow(/not closed/);
  });
});

describe('parseTranscript', () => {
  it('splits Human/Assistant transcripts into turns', () => {
    expect(parseTranscript('\n\nHuman: hi there\n\nAssistant: hello\n\nHuman: bye')).toEqual([
      { role: 'user', content: 'hi there' },
      { role: 'assistant', content: 'hello' },
      { role: 'user', content: 'bye' },
    ]);
    expect(parseTranscript('Human: a\n\nAssistant: b')).toEqual([
      { role: 'user', content: 'a' },
      { role: 'assistant', content: 'b' },
    ]);
    expect(parseTranscript('just a reply')).toBeUndefined();
  });
});
