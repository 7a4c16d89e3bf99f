import { describe, expect, it } from 'vitest';
import { unpickle } from '../../src/core/sae/formats/PickleReader.ts';

// Bytes produced once by CPython's pickle module (an independent reference), kept here as hex.
// pickle.dumps({'a': [1, 2.5, None, True, -70000, 2**70], 'b': (1,), 'c': 'héllo', 'd': b'xy'}, protocol=4)
const PROTOCOL_4 =
  '80049548000000000000007d94288c0161945d94284b014740040000000000004e884a90eefeff8a09000000000000000040658c0162944b0185948c0163948c0668c3a96c6c6f948c0164944302787994752e';
// pickle.dumps(collections.OrderedDict([('w', 3), ('v', (1, 2, 3))]), protocol=2)
const ORDERED_DICT = '800263636f6c6c656374696f6e730a4f726465726564446963740a7100295271012858010000007771024b0358010000007671034b014b024b03877104752e';

describe('PickleReader', () => {
  it('reads protocol 4 (FRAME, MEMOIZE, SHORT_BINUNICODE, LONG1 beyond 2^53, bytes)', () => {
    const value = unpickle(Buffer.from(PROTOCOL_4, 'hex'), 'test.pkl') as Map<string, unknown>;
    expect(value).toBeInstanceOf(Map);
    expect(value.get('a')).toEqual([1, 2.5, null, true, -70000, 2n ** 70n]);
    expect(value.get('b')).toEqual([1]);
    expect(value.get('c')).toBe('héllo');
    expect(Array.from(value.get('d') as Uint8Array)).toEqual([0x78, 0x79]);
  });

  it('reads protocol 2 OrderedDict via GLOBAL + REDUCE + SETITEMS, in order', () => {
    const value = unpickle(Buffer.from(ORDERED_DICT, 'hex'), 'test.pkl') as Map<string, unknown>;
    expect([...value.entries()]).toEqual([
      ['w', 3],
      ['v', [1, 2, 3]],
    ]);
  });

  it('refuses truncated input and unknown opcodes with SAE_FILE_INVALID naming the file and offset', () => {
    expect(() => unpickle(Buffer.from(ORDERED_DICT.slice(0, 60), 'hex'), 'cut.pkl')).toThrow(expect.objectContaining({ code: 'SAE_FILE_INVALID', message: expect.stringMatching(/cut\.pkl.*byte \d+/) }));
    expect(() => unpickle(Buffer.from([0x80, 0x02, 0x01]), 'odd.pkl')).toThrow(/opcode 0x1 is not supported/);
  });
});
