import { join, sep } from 'node:path';
import { FacetError } from '../../../shared/FacetError.ts';
import { npyBytesToFloat32, npyItemSize, parseNpyHeader } from '../../arrays/NpyFile.ts';
import { ZipArchive } from '../formats/ZipArchive.ts';
import { MAX_SAE_LAYER, type SaeConfig } from '../SaeConfig.ts';
import { validateSaeWeights, type SaeWeights } from '../SaeWeights.ts';
import { hashFiles } from './hashFiles.ts';
import { pathKind } from './pathKind.ts';
import type { LoadedSae, SaeLoader } from './SaeLoader.ts';

const WEIGHTS = 'params.npz';
const NAMES = ['W_enc', 'W_dec', 'b_enc', 'b_dec', 'threshold'] as const;

/** `gemma-scope-2b-pt-res`: the release names the model size, pt/it, and the site (res, att, mlp, transcoders). */
const RELEASE = /^gemma-scope-(2b|9b|27b)-(pt|it)-([a-z_]+?)(?:-canonical)?$/i;

/**
 * Gemma Scope (google/gemma-scope-*): `layer_<n>/width_<w>/average_l0_<l0>/params.npz`, a NumPy
 * archive of `W_enc` [d_model, d_sae], `W_dec` [d_sae, d_model], `b_enc`, `b_dec` and a
 * per-feature `threshold`. JumpReLU as in the Gemma Scope tutorial: pre = x·W_enc + b_enc (no
 * b_dec subtracted), kept where pre > threshold. Residual (`-res`) SAEs read the output of block
 * n: llama.cpp l_out-n. Attention (`-att`), MLP and transcoder releases are refused.
 */
export const gemmaScopeLoader: SaeLoader = {
  format: 'gemma-scope',
  kind: 'folder',
  async detect(path) {
    return (await pathKind(join(path, WEIGHTS))) === 'file';
  },
  async load(path) {
    const weightsPath = join(path, WEIGHTS);
    const parts = path.split(sep);
    const release = parts.map((part) => RELEASE.exec(part)).find((match) => match !== null) ?? null;
    const site = release?.[3]?.toLowerCase() ?? null;
    if (site !== null && site !== 'res') {
      const reads = site === 'att' ? 'attention outputs (hook_z)' : site === 'mlp' ? 'MLP outputs (hook_mlp_out)' : site === 'transcoders' ? 'MLP inputs and writes MLP outputs (a transcoder)' : `the '${site}' site`;
      throw new FacetError('SAE_ARCH_UNKNOWN', `${weightsPath}: this ${release?.[0] ?? ''} SAE reads ${reads}, not a residual-stream output. Facet captures only residual-stream outputs (llama.cpp l_out); use the gemma-scope-*-res release.`, { file: weightsPath, hook: site });
    }
    const layerPart = parts.map((part) => /^layer_(\d+)$/.exec(part)).find((match) => match !== null) ?? null;
    const notes: string[] = [];
    let layer: number | null = null;
    if (layerPart !== null && Number(layerPart[1]) <= MAX_SAE_LAYER) {
      layer = Number(layerPart[1]);
      notes.push(`Gemma Scope layer_${layer} reads the residual stream after block ${layer}: llama.cpp l_out-${layer}.`);
    } else {
      notes.push('The path carries no layer_<n> folder; give --layer.');
    }
    if (release === null) notes.push('The path names no gemma-scope-*-res release: assumed a residual-stream SAE, model unknown (give --model).');

    const archive = await ZipArchive.open(weightsPath, 'Give the params.npz of a Gemma Scope release (numpy.savez writes a ZIP archive).');
    const arrays = new Map<string, { shape: number[]; data: Float32Array }>();
    try {
      for (const name of NAMES) {
        const entry = `${name}.npy`;
        if (!archive.entries.has(entry)) {
          throw new FacetError('SAE_FILE_INVALID', `${weightsPath} has no array ${name} (it has ${[...archive.entries.keys()].join(', ')}). A Gemma Scope params.npz holds ${NAMES.join(', ')}.`, { file: weightsPath, tensor: name });
        }
        const bytes = await archive.read(entry);
        const header = parseNpyHeader(bytes, `${weightsPath}:${entry}`);
        const count = header.shape.reduce((a, b) => a * b, 1);
        const body = bytes.subarray(header.dataOffset);
        if (body.length < count * npyItemSize(header.dtype)) throw new FacetError('SAE_FILE_INVALID', `${weightsPath}: array ${name} is shorter than its shape [${header.shape.join(', ')}]. Download the file again.`, { file: weightsPath, tensor: name });
        arrays.set(name, { shape: header.shape, data: npyBytesToFloat32(body.subarray(0, count * npyItemSize(header.dtype)), header.dtype) });
      }
    } finally {
      await archive.close();
    }
    const wEnc = arrays.get('W_enc') as { shape: number[]; data: Float32Array };
    if (wEnc.shape.length !== 2) throw new FacetError('SAE_SHAPE_MISMATCH', `${weightsPath}: W_enc has shape [${wEnc.shape.join(', ')}], not [d_model, d_sae].`, { file: weightsPath, tensor: 'W_enc' });
    const [dIn, dSae] = wEnc.shape as [number, number];
    const l0 = parts.map((part) => /^average_l0_(\d+)$/.exec(part)).find((match) => match !== null);
    if (l0 !== undefined && l0 !== null) notes.push(`average_l0_${l0[1] as string}: the release's measured L0 (JumpReLU has no fixed K).`);
    const weights: SaeWeights = {
      wEnc: wEnc.data,
      bEnc: (arrays.get('b_enc') as { data: Float32Array }).data,
      wDec: (arrays.get('W_dec') as { data: Float32Array }).data,
      bDec: (arrays.get('b_dec') as { data: Float32Array }).data,
      threshold: (arrays.get('threshold') as { data: Float32Array }).data,
    };
    const config: SaeConfig = {
      architecture: 'jumprelu',
      dIn,
      dSae,
      k: null,
      normalisation: { kind: 'none' },
      tied: false,
      // Gemma Scope's JumpReLU encodes x itself, b_dec only added back in decoding.
      applyBDecToInput: false,
      threshold: null,
      modelFamily: release === null ? null : `google/gemma-2-${(release[1] as string).toLowerCase()}${(release[2] as string).toLowerCase() === 'it' ? '-it' : ''}`,
      layer,
      source: { format: 'gemma-scope', path, files: [WEIGHTS], hookName: layerPart !== null ? `layer_${layerPart[1] as string}` : null, notes, activationUnits: 'model units (Gemma Scope encodes the raw residual)' },
      hash: await hashFiles([weightsPath]),
    };
    const origins = Object.fromEntries((['wEnc', 'bEnc', 'wDec', 'bDec', 'threshold'] as const).map((key, i) => [key, { file: weightsPath, tensor: ['W_enc', 'b_enc', 'W_dec', 'b_dec', 'threshold'][i] as string }]));
    validateSaeWeights(config, weights, origins);
    return { config, weights, origins } satisfies LoadedSae;
  },
};
