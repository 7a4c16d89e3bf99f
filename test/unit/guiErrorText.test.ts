import { describe, expect, it } from 'vitest';
import { FacetError } from '../../src/shared/FacetError.ts';
import { errorParam, guiErrorText, shownJobTitle } from '../../src/renderer/src/guiErrorText.ts';

const importControls = { path: 'File', name: 'Name', format: 'Format', skipInvalid: 'Skip invalid rows' };

describe('guiErrorText: engine errors in the words of the GUI', () => {
  it('drops CLI advice, names the checkbox and shows the file name the user chose', () => {
    const server = '/home/u/.facet/uploads/0f8c2a1e-3b4d-4e5f-8a9b-0c1d2e3f4a5b/my_broken_file.jsonl';
    const error = new FacetError('DATASET_LINE_INVALID', `${server}:3: field 'text': expected a string (format text). Fix that line, or pass --skip-invalid to import only the valid rows. Nothing was imported.`, { path: server, line: 3, param: 'path', option: 'skipInvalid' });
    const text = guiErrorText(error.toWire(), { controls: importControls, files: { [server]: 'my broken file.jsonl' } });
    expect(text).toBe("my broken file.jsonl:3: field 'text': expected a string (format text). Fix that line, or tick 'Skip invalid rows' to import only the valid rows. Nothing was imported.");
  });

  it('falls back to the upload copy name when the original is not known', () => {
    const server = '/tmp/h/uploads/0f8c2a1e-3b4d-4e5f-8a9b-0c1d2e3f4a5b/data.csv';
    expect(guiErrorText({ code: 'DATASET_EMPTY', message: `${server} holds no valid samples. Check the file and its format.`, details: { path: server, param: 'path' } }, { controls: importControls })).toBe("data.csv holds no valid samples. Check the file and its format. (field 'File')");
  });

  it('names the field for a taken name, a schema refusal and a layer out of range', () => {
    const taken = new FacetError('DATASET_NAME_TAKEN', "A dataset named 'x' already exists. Pick another name with --name, or remove the old one with 'facet datasets remove x'.", { name: 'x', param: 'name' });
    expect(guiErrorText(taken, { controls: importControls })).toBe("A dataset named 'x' already exists. Type another name in 'Name', or remove the old dataset.");
    const schema = new FacetError('INVALID_ARGUMENT', 'Invalid parameters for saes.train: k: Number must be greater than or equal to 1.', { issues: [{ path: ['k'], message: 'Number must be greater than or equal to 1' }] });
    expect(guiErrorText(schema, { controls: { k: 'K' } })).toBe("'K': Number must be greater than or equal to 1.");
    expect(errorParam(schema)).toBe('k');
    const layer = new FacetError('LAYER_OUT_OF_RANGE', "Layer 5 does not exist in 'tiny': it has 2 blocks, so the layer (llama.cpp's 0-based l_out index) must be 0 to 1.", { param: 'layer' });
    expect(guiErrorText(layer, { controls: { layer: 'Layer' } })).toBe("Layer 5 does not exist in 'tiny': it has 2 blocks, so the layer (llama.cpp's 0-based l_out index) must be 0 to 1. (field 'Layer')");
    expect(errorParam(layer)).toBe('layer');
  });

  it("names an upload in a job's title by the user's file, not the server copy", () => {
    const files = { '/home/u/.facet/uploads/1733-my_data.jsonl': 'my data.jsonl' };
    expect(shownJobTitle("Import 1733-my_data.jsonl as 'my-data'", files)).toBe("Import my data.jsonl as 'my-data'");
    expect(shownJobTitle("Import other.jsonl as 'o'", files)).toBe("Import other.jsonl as 'o'");
  });

  it('keeps a message whose only sentence names a flag, telling the flag as the form control', () => {
    const layer = new FacetError('LAYER_OUT_OF_RANGE', '--layer must be 1..3 for demo-llama3 (llama.cpp 0-based block; block 0 cannot be steered).', { layer: 9 });
    expect(guiErrorText(layer, { controls: { layer: 'Layer (l_out, ≥ 1)' } })).toBe("'Layer (l_out, ≥ 1)' must be 1 to 3 for demo-llama3 (llama.cpp 0-based block; block 0 cannot be steered).");
    expect(guiErrorText(new FacetError('INVALID_ARGUMENT', '--max-new-tokens must be 8..4096.'), { controls: {} })).toBe("'max-new-tokens' must be 8 to 4096.");
  });
});
