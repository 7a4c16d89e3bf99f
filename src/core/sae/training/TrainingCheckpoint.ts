import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FacetError } from '../../../shared/FacetError.ts';
import type { TiedTopKParameters } from './TiedTopKParameters.ts';

/** Everything but the arrays; stored as `state.json`. */
export interface TrainingCheckpointState {
  version: 1;
  /** The options that fix the math; a resume with different ones is refused. */
  fingerprint: Record<string, number | string | boolean>;
  dIn: number;
  dSae: number;
  /** Optimiser steps done. */
  step: number;
  /** 0-based epoch in progress. */
  epoch: number;
  /** Chunks of the current epoch already read from the source. */
  cursor: number;
  randomState: number;
  /** b_dec has been set to the data mean. */
  decoderBiasInitialised: boolean;
  /** Training rows seen in total and in the current epoch. */
  tokens: number;
  epochTokens: number;
  /** Sum of the normalised errors of the current epoch's training rows. */
  epochNormalisedErrorSum: number;
  /** Tokens per epoch, once one epoch has finished (progress totals). */
  tokensPerEpoch: number | null;
  /** Summaries of finished epochs (JSON values). */
  history: unknown[];
}

export interface TrainingCheckpoint {
  state: TrainingCheckpointState;
  parameters: TiedTopKParameters;
  adamFirstMoment: TiedTopKParameters;
  adamSecondMoment: TiedTopKParameters;
  /** Shuffle-buffer rows `[rows, dIn]`. */
  buffer: Float32Array;
  /** Held-out validation rows `[rows, dIn]`. */
  validation: Float32Array;
  /** Per-feature count of training rows where the feature fired, this epoch `[dSae]`. */
  featureFires: Float64Array;
}

const ARRAYS = ['weight', 'encoderBias', 'decoderBias'] as const;

/**
 * Writes a checkpoint folder `<dir>/checkpoint` atomically: everything goes to
 * `checkpoint.partial`, then replaces the previous one by rename, so a kill at any moment leaves
 * a complete checkpoint (the new or the old).
 */
export async function saveTrainingCheckpoint(dir: string, checkpoint: TrainingCheckpoint): Promise<void> {
  const partial = join(dir, 'checkpoint.partial');
  const current = join(dir, 'checkpoint');
  const previous = join(dir, 'checkpoint.old');
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { recursive: true });
  for (const name of ARRAYS) {
    await writeArray(join(partial, `${name}.f32`), checkpoint.parameters[name]);
    await writeArray(join(partial, `adam-m-${name}.f32`), checkpoint.adamFirstMoment[name]);
    await writeArray(join(partial, `adam-v-${name}.f32`), checkpoint.adamSecondMoment[name]);
  }
  await writeArray(join(partial, 'buffer.f32'), checkpoint.buffer);
  await writeArray(join(partial, 'validation.f32'), checkpoint.validation);
  await writeArray(join(partial, 'feature-fires.f64'), checkpoint.featureFires);
  await writeFile(join(partial, 'state.json'), `${JSON.stringify(checkpoint.state, null, 1)}\n`);
  await rm(previous, { recursive: true, force: true });
  if (await exists(current)) await rename(current, previous);
  await rename(partial, current);
  await rm(previous, { recursive: true, force: true });
}

/** Reads `<dir>/checkpoint` (or the previous one if a save was cut between renames); undefined if none. */
export async function loadTrainingCheckpoint(dir: string): Promise<TrainingCheckpoint | undefined> {
  let folder = join(dir, 'checkpoint');
  if (!(await exists(join(folder, 'state.json')))) {
    folder = join(dir, 'checkpoint.old');
    if (!(await exists(join(folder, 'state.json')))) return undefined;
  }
  let state: TrainingCheckpointState;
  try {
    state = JSON.parse(await readFile(join(folder, 'state.json'), 'utf8')) as TrainingCheckpointState;
  } catch (error) {
    throw new FacetError('SAE_FILE_INVALID', `Training checkpoint ${join(folder, 'state.json')} is not valid JSON; delete the folder ${dir} to start training afresh.`, { path: folder }, { cause: error });
  }
  if (state.version !== 1) throw new FacetError('SAE_FILE_INVALID', `Training checkpoint ${folder} has version ${String(state.version)}, expected 1; delete it to start afresh.`, { path: folder });
  const { dIn, dSae } = state;
  const read = async (name: string, length: number) => readFloat32(join(folder, name), length);
  const triple = async (prefix: string): Promise<TiedTopKParameters> => ({
    dIn,
    dSae,
    weight: await read(`${prefix}weight.f32`, dIn * dSae),
    encoderBias: await read(`${prefix}encoderBias.f32`, dSae),
    decoderBias: await read(`${prefix}decoderBias.f32`, dIn),
  });
  const parameters = await triple('');
  const adamFirstMoment = await triple('adam-m-');
  const adamSecondMoment = await triple('adam-v-');
  const buffer = await read('buffer.f32', -1);
  const validation = await read('validation.f32', -1);
  const firesBytes = await readFile(join(folder, 'feature-fires.f64'));
  if (firesBytes.byteLength !== dSae * 8) throw truncated(join(folder, 'feature-fires.f64'), dSae * 8, firesBytes.byteLength);
  const featureFires = new Float64Array(dSae);
  new Uint8Array(featureFires.buffer).set(firesBytes);
  return { state, parameters, adamFirstMoment, adamSecondMoment, buffer, validation, featureFires };
}

async function writeArray(path: string, array: Float32Array | Float64Array): Promise<void> {
  const handle = await open(path, 'w');
  try {
    const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
    let offset = 0;
    while (offset < bytes.byteLength) {
      const { bytesWritten } = await handle.write(bytes, offset, Math.min(bytes.byteLength - offset, 1 << 30));
      offset += bytesWritten;
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Reads a raw little-endian float32 file; `length` −1 accepts any whole number of floats. */
async function readFloat32(path: string, length: number): Promise<Float32Array> {
  const size = (await stat(path)).size;
  if ((length >= 0 && size !== length * 4) || size % 4 !== 0) throw truncated(path, length * 4, size);
  const array = new Float32Array(size / 4);
  const bytes = new Uint8Array(array.buffer);
  const handle = await open(path, 'r');
  try {
    let offset = 0;
    while (offset < size) {
      const { bytesRead } = await handle.read(bytes, offset, Math.min(size - offset, 1 << 30), offset);
      if (bytesRead === 0) throw truncated(path, size, offset);
      offset += bytesRead;
    }
  } finally {
    await handle.close();
  }
  return array;
}

function truncated(path: string, expected: number, actual: number): FacetError {
  return new FacetError('SAE_FILE_INVALID', `Training checkpoint file ${path} has ${actual} bytes, expected ${expected}; the checkpoint is damaged. Delete its folder to start training afresh.`, { path, expected, actual });
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
