import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { paperCheckpointLoader } from '../../src/core/sae/loaders/paperCheckpointLoader.ts';
import { CheckpointableRandom } from '../../src/core/sae/training/CheckpointableRandom.ts';
import { tiedTopKToSae } from '../../src/core/sae/training/tiedTopKToSae.ts';
import { initialParameters } from '../../src/core/sae/training/trainTiedTopKSae.ts';
import { writePaperCheckpoint } from '../../src/core/sae/training/writePaperCheckpoint.ts';
import { tempHome } from '../support/tempHome.ts';

/**
 * Reads the checkpoint with Python's own zipfile and pickle (torch is not needed: the torch
 * globals are stubbed), as an independent check that the file is a standard torch.save archive.
 */
const pythonReader = `
import sys, zipfile, pickle, json, collections
from array import array
path = sys.argv[1]
z = zipfile.ZipFile(path)
names = z.namelist()
prefix = names[0].split('/')[0]
class FloatStorage: pass
def rebuild(storage, offset, size, stride, requires_grad, hooks):
    return {'data': storage[offset:offset + (size[0] * (size[1] if len(size) > 1 else 1))], 'size': list(size), 'stride': list(stride)}
class Reader(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) == ('torch._utils', '_rebuild_tensor_v2'): return rebuild
        if (module, name) == ('torch', 'FloatStorage'): return FloatStorage
        if (module, name) == ('collections', 'OrderedDict'): return collections.OrderedDict
        raise pickle.UnpicklingError(module + '.' + name)
    def persistent_load(self, pid):
        kind, cls, key, location, numel = pid
        assert kind == 'storage' and cls is FloatStorage and location == 'cpu'
        values = array('f'); values.frombytes(z.read(prefix + '/data/' + key))
        assert len(values) == numel
        return values
root = Reader(z.open(prefix + '/data.pkl')).load()
import struct
raw = open(path, 'rb')
aligned = []
for info in z.infolist():
    raw.seek(info.header_offset)
    name_length, extra_length = struct.unpack('<HH', raw.read(30)[26:30])
    aligned.append((info.header_offset + 30 + name_length + extra_length) % 64 == 0)
print(json.dumps({
  'names': names,
  'aligned': all(aligned),
  'stored': all(i.compress_type == zipfile.ZIP_STORED for i in z.infolist()),
  'testzip': z.testzip(),
  'config': root['config'],
  'keys': list(root['weight'].keys()),
  'tensors': {k: {'size': v['size'], 'stride': v['stride'], 'head': list(v['data'][:3]), 'sum': sum(v['data'])} for k, v in root['weight'].items()},
  'version': z.read(prefix + '/version').decode(),
  'byteorder': z.read(prefix + '/byteorder').decode(),
}))
`;

describe("writing the paper's .pth checkpoint", () => {
  const home = tempHome('facet-sae-pth-');
  afterAll(() => home.remove());

  it('round-trips through the paper-checkpoint loader and reads as a standard torch.save archive in Python', async () => {
    const dIn = 24;
    const dSae = 40;
    const parameters = initialParameters(dIn, dSae, new CheckpointableRandom(4));
    parameters.encoderBias.forEach((_, i) => (parameters.encoderBias[i] = (i % 7) / 10 - 0.3));
    parameters.decoderBias.forEach((_, i) => (parameters.decoderBias[i] = Math.sin(i)));
    const { weights } = tiedTopKToSae(parameters, 6, { modelFamily: 'test', layer: 11 });
    const path = join(home.path, 'TopK6_l12_h40_facet.pth');
    await writePaperCheckpoint(path, weights, { dIn, dSae, k: 6 });

    const loaded = await paperCheckpointLoader.load(path);
    expect(loaded.config).toMatchObject({ architecture: 'topk', tied: true, k: 6, dIn, dSae, layer: 11, applyBDecToInput: true });
    expect(loaded.weights.wEnc).toEqual(weights.wEnc);
    expect(loaded.weights.bEnc).toEqual(weights.bEnc);
    expect(loaded.weights.bDec).toEqual(weights.bDec);
    // W_enc[i, f] = W[f, i]: the encoder is the transpose of the trained decoder rows.
    expect(loaded.weights.wEnc[3 * dSae + 5]).toBe(parameters.weight[5 * dIn + 3]);

    const report = JSON.parse(execFileSync('python3', ['-c', pythonReader, path], { encoding: 'utf8' }));
    expect(report.stored).toBe(true);
    expect(report.aligned).toBe(true); // data at 64-byte offsets, as torch.save writes them
    expect(report.testzip).toBeNull(); // every CRC checks out
    expect(report.names).toEqual(['TopK6_l12_h40_facet/data.pkl', 'TopK6_l12_h40_facet/byteorder', 'TopK6_l12_h40_facet/data/0', 'TopK6_l12_h40_facet/data/1', 'TopK6_l12_h40_facet/data/2', 'TopK6_l12_h40_facet/data/3', 'TopK6_l12_h40_facet/version']);
    expect(report.config).toEqual({ d_inp: dIn, d_hide: dSae, topK: 6 });
    expect(report.keys).toEqual(['W_enc', 'b_enc', 'b_dec', 'mask']);
    expect(report.tensors.W_enc.size).toEqual([dIn, dSae]);
    expect(report.tensors.W_enc.stride).toEqual([dSae, 1]);
    expect(report.tensors.W_enc.head).toEqual(Array.from(weights.wEnc.subarray(0, 3)));
    const sum = (values: Float32Array) => values.reduce((a, b) => a + b, 0);
    expect(report.tensors.W_enc.sum).toBeCloseTo(sum(weights.wEnc), 4);
    expect(report.tensors.b_dec.sum).toBeCloseTo(sum(weights.bDec), 4);
    expect(report.tensors.mask.sum).toBe(dSae);
    expect(report.version).toBe('3\n');
    expect(report.byteorder).toBe('little');
  });
});
