import { basename } from 'node:path';
import { FacetError } from '../../../shared/FacetError.ts';
import { TorchCheckpoint, isTorchTensorRef, type TorchTensorRef } from '../formats/TorchCheckpoint.ts';
import { SAE_FORMAT_LAYOUTS } from '../SaeConfig.ts';

/**
 * Which SAE a `torch.save` file holds, decided by its full key set and tensor shapes, never by
 * the file extension alone: the paper's checkpoint and Qwen-Scope's `layer<n>.sae.pt` are both
 * `.pt` dicts of `W_enc`, `b_enc`, `b_dec`, and a dict of any other project (a Gemma Scope SAE
 * re-saved with torch.save, say) must not be read as either.
 */
export type TorchSaeLayout = 'paper-pth' | 'qwen-scope';

export interface TorchStateDict {
  /** The dict of tensors (the paper's `weight` entry when the file wraps it). */
  state: Map<string, TorchTensorRef>;
  /** The paper's `config` entry, when present. */
  config: Map<unknown, unknown> | null;
  /** Keys that are not tensors (their Python type), for error messages. */
  others: Map<string, string>;
}

/** Reads the dict out of an open checkpoint: a bare state dict or the paper's {weight, config}. */
export function torchStateDict(checkpoint: TorchCheckpoint): TorchStateDict {
  const root = checkpoint.root;
  if (!(root instanceof Map)) {
    throw new FacetError('SAE_FORMAT_UNKNOWN', `${checkpoint.path} holds a ${Array.isArray(root) ? 'list' : typeof root}, not a dict of tensors. ${knownLayouts()}`, { file: checkpoint.path });
  }
  const wrapped = root.get('weight') instanceof Map;
  const source = wrapped ? (root.get('weight') as Map<unknown, unknown>) : root;
  const state = new Map<string, TorchTensorRef>();
  const others = new Map<string, string>();
  for (const [key, value] of source) {
    if (isTorchTensorRef(value)) state.set(String(key), value);
    else others.set(String(key), value === null ? 'None' : value instanceof Map ? 'dict' : Array.isArray(value) ? 'list' : typeof value);
  }
  const config = wrapped && root.get('config') instanceof Map ? (root.get('config') as Map<unknown, unknown>) : null;
  return { state, config, others };
}

/** `W_enc [16, 32], b_enc [32], step (number)`: what a dict holds, for error messages. */
export function describeStateDict(dict: TorchStateDict): string {
  const tensors = [...dict.state].map(([key, tensor]) => `${key} [${tensor.shape.join(', ')}]`);
  const rest = [...dict.others].map(([key, type]) => `${key} (${type})`);
  return [...tensors, ...rest].join(', ') || 'nothing';
}

function knownLayouts(): string {
  return `Facet reads ${Object.values(SAE_FORMAT_LAYOUTS).join('; ')}.`;
}

function shapeIs(tensor: TorchTensorRef | undefined, shape: number[]): boolean {
  return tensor !== undefined && tensor.shape.length === shape.length && tensor.shape.every((d, i) => d === shape[i]);
}

/** The layout a dict has, or null. */
export function classifyStateDict(dict: TorchStateDict, fileName: string): TorchSaeLayout | null {
  if (dict.others.size > 0) return null;
  const keys = [...dict.state.keys()].sort().join(',');
  const wEnc = dict.state.get('W_enc');
  if (wEnc === undefined || wEnc.shape.length !== 2) return null;
  // The paper's TopKSAE.state_dict(): W_enc [d_inp, d_hide], b_enc, b_dec and an optional mask.
  if (keys === 'W_enc,b_dec,b_enc' || keys === 'W_enc,b_dec,b_enc,mask') {
    const [dIn, dSae] = wEnc.shape as [number, number];
    if (shapeIs(dict.state.get('b_enc'), [dSae]) && shapeIs(dict.state.get('b_dec'), [dIn]) && (!dict.state.has('mask') || shapeIs(dict.state.get('mask'), [dSae]))) return 'paper-pth';
    return null;
  }
  // Qwen-Scope model card: W_enc [d_sae, d_model], W_dec [d_model, d_sae], b_enc [d_sae], b_dec [d_model].
  if (keys === 'W_dec,W_enc,b_dec,b_enc' && dict.config === null) {
    const [dSae, dIn] = wEnc.shape as [number, number];
    const fits = shapeIs(dict.state.get('W_dec'), [dIn, dSae]) && shapeIs(dict.state.get('b_enc'), [dSae]) && shapeIs(dict.state.get('b_dec'), [dIn]);
    // A square dictionary reads the same in either orientation: then only the file name tells.
    if (fits && (dSae !== dIn || /^layer\d+\.sae\.pt$/i.test(fileName))) return 'qwen-scope';
  }
  return null;
}

/** Opens a `.pt`/`.pth`, classifies it and closes it; null for a layout Facet does not read. */
export async function detectTorchSaeLayout(path: string): Promise<TorchSaeLayout | null> {
  let checkpoint: TorchCheckpoint;
  try {
    checkpoint = await TorchCheckpoint.open(path);
  } catch {
    return null;
  }
  try {
    return classifyStateDict(torchStateDict(checkpoint), basename(path));
  } catch {
    return null;
  } finally {
    await checkpoint.close();
  }
}

/**
 * `SAE_FORMAT_UNKNOWN` for a `.pt`/`.pth` whose dict is no layout Facet reads, listing the keys and
 * shapes found and the layouts Facet reads. Errors opening the file (not a ZIP, damaged pickle)
 * pass through as they are.
 */
export async function unknownTorchSaeError(path: string): Promise<FacetError> {
  const checkpoint = await TorchCheckpoint.open(path);
  try {
    const dict = torchStateDict(checkpoint);
    return new FacetError(
      'SAE_FORMAT_UNKNOWN',
      `${path} is a torch.save dict that Facet cannot identify as an SAE it reads: it holds ${describeStateDict(dict)}. ${knownLayouts()} Convert it to one of these (for example SAELens's cfg.json + sae_weights.safetensors), keeping every tensor.`,
      { file: path, keys: [...dict.state.keys(), ...dict.others.keys()] },
    );
  } finally {
    await checkpoint.close();
  }
}
