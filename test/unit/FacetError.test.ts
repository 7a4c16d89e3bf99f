import { describe, expect, it } from 'vitest';
import { FacetError, toWireError } from '../../src/shared/FacetError.ts';

describe('FacetError', () => {
  it('round-trips through the wire form', () => {
    const error = new FacetError('DATASET_LINE_INVALID', 'bad line', { line: 3 });
    const back = FacetError.fromWire(JSON.parse(JSON.stringify(error.toWire())));
    expect(back.code).toBe('DATASET_LINE_INVALID');
    expect(back.details).toEqual({ line: 3 });
  });
  it('turns unexpected errors into INTERNAL and aborts into CANCELLED', () => {
    expect(toWireError(new TypeError('x')).code).toBe('INTERNAL');
    expect(toWireError(new DOMException('stop', 'AbortError')).code).toBe('CANCELLED');
  });
});
