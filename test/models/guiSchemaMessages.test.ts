import { describe, expect, it } from 'vitest';
import { methodSchemas } from '../../src/shared/api/contract.ts';
import { FacetError } from '../../src/shared/FacetError.ts';
import { guiErrorText } from '../../src/renderer/src/guiErrorText.ts';

/** The engine's refusal of `saes.train` params, as the engine words it (the schema's issues in details). */
function refusal(params: Record<string, unknown>): FacetError {
  const parsed = methodSchemas['saes.train'].safeParse({ model: 'demo', dataset: 'd', layer: 0, ...params });
  expect(parsed.success).toBe(false);
  const issues = parsed.error!.issues.map((issue) => ({ path: issue.path, message: issue.message }));
  return new FacetError('INVALID_ARGUMENT', `Invalid parameters for saes.train: ${issues[0]!.message}.`, { issues });
}

describe('schema refusals in the GUI read as plain words', () => {
  const controls = { k: 'K', batchTokens: 'Batch', epochs: 'Epochs', layer: 'Layer', name: 'SAE name' };
  it('bounds, whole numbers and empty text', () => {
    expect(guiErrorText(refusal({ k: 5000 }), { controls })).toBe("'K' must be at most 1,024.");
    expect(guiErrorText(refusal({ batchTokens: 0 }), { controls })).toBe("'Batch' must be at least 16.");
    expect(guiErrorText(refusal({ epochs: 0 }), { controls })).toBe("'Epochs' must be at least 1.");
    expect(guiErrorText(refusal({ layer: 1.5 }), { controls })).toBe("'Layer' must be a whole number.");
    expect(guiErrorText(refusal({ name: '' }), { controls })).toBe("'SAE name' must not be empty.");
    // a message of another wording is passed on as it is
    const other = new FacetError('INVALID_ARGUMENT', 'x', { issues: [{ path: ['k'], message: 'Number must be greater than or equal to 1' }] });
    expect(guiErrorText(other, { controls })).toBe("'K': Number must be greater than or equal to 1.");
  });
});
