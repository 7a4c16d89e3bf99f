import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FacetError } from '../../../shared/FacetError.ts';
import { writeSafetensors, type SafetensorsTensorInput } from '../formats/SafetensorsFile.ts';
import { isSaeArchitectureName } from '../SaeArchitecture.ts';
import type { SaeConfig } from '../SaeConfig.ts';
import { validateSaeWeights, type SaeWeights } from '../SaeWeights.ts';
import type { LoadedSae, SaeLoader } from './SaeLoader.ts';
import { readSafetensorsHeader } from '../formats/SafetensorsFile.ts';
import { hashFiles } from './hashFiles.ts';
import { JsonConfigFile } from './JsonConfigFile.ts';
import { pathKind } from './pathKind.ts';
import { readShapedTensor } from './readShapedTensor.ts';

/**
 * Facet's own layout, for SAEs trained in Facet: `facet_sae.json` (a {@link SaeConfig} without
 * `hash` and `source`) and `sae.safetensors` with float32 W_enc [dIn, dSae], b_enc, b_dec, and
 * W_dec [dSae, dIn] (untied only) and threshold [dSae] (when per feature).
 */
export const FACET_SAE_CONFIG = 'facet_sae.json';
export const FACET_SAE_WEIGHTS = 'sae.safetensors';

/** Writes an SAE in Facet's layout into `folder` (created if needed). */
export async function writeFacetSae(folder: string, config: Omit<SaeConfig, 'hash' | 'source'>, weights: SaeWeights): Promise<void> {
  await mkdir(folder, { recursive: true });
  const { dIn, dSae } = config;
  const tensors: Record<string, SafetensorsTensorInput> = {
    W_enc: { shape: [dIn, dSae], data: weights.wEnc },
    b_enc: { shape: [dSae], data: weights.bEnc },
    b_dec: { shape: [dIn], data: weights.bDec },
  };
  if (weights.wDec !== null) tensors['W_dec'] = { shape: [dSae, dIn], data: weights.wDec };
  if (weights.threshold !== null) tensors['threshold'] = { shape: [dSae], data: weights.threshold };
  await writeSafetensors(join(folder, FACET_SAE_WEIGHTS), tensors, { format: 'facet-sae' });
  const plain = { ...config } as Record<string, unknown>;
  delete plain['hash'];
  delete plain['source'];
  await writeFile(join(folder, FACET_SAE_CONFIG), `${JSON.stringify(plain, null, 2)}\n`);
}

export const facetSaeLoader: SaeLoader = {
  format: 'facet',
  kind: 'folder',
  async detect(path) {
    return (await pathKind(join(path, FACET_SAE_CONFIG))) === 'file' && (await pathKind(join(path, FACET_SAE_WEIGHTS))) === 'file';
  },
  async load(path) {
    const cfgPath = join(path, FACET_SAE_CONFIG);
    const weightsPath = join(path, FACET_SAE_WEIGHTS);
    const raw = await JsonConfigFile.read(cfgPath);
    const architecture = String(raw.fields['architecture']);
    if (!isSaeArchitectureName(architecture)) throw new FacetError('SAE_ARCH_UNKNOWN', `${cfgPath}: architecture '${architecture}' is unknown. Fix the file.`, { file: cfgPath, architecture });
    const partial = raw.fields as unknown as Omit<SaeConfig, 'hash' | 'source'>;
    const dIn = raw.integer('dIn');
    const dSae = raw.integer('dSae');
    const header = await readSafetensorsHeader(weightsPath);
    const wEnc = await readShapedTensor(header, ['W_enc'], [dIn, dSae], true);
    const bEnc = await readShapedTensor(header, ['b_enc'], [dSae], true);
    const bDec = await readShapedTensor(header, ['b_dec'], [dIn], true);
    const wDec = partial.tied ? null : await readShapedTensor(header, ['W_dec'], [dSae, dIn], true);
    const threshold = await readShapedTensor(header, ['threshold'], [dSae], false);
    const weights: SaeWeights = { wEnc: wEnc.data, bEnc: bEnc.data, wDec: wDec?.data ?? null, bDec: bDec.data, threshold: threshold?.data ?? null };
    const config: SaeConfig = {
      ...partial,
      source: { format: 'facet', path, files: [FACET_SAE_CONFIG, FACET_SAE_WEIGHTS], hookName: null, notes: [] },
      hash: await hashFiles([weightsPath]),
    };
    const origins = {
      wEnc: { file: weightsPath, tensor: 'W_enc' },
      bEnc: { file: weightsPath, tensor: 'b_enc' },
      wDec: { file: weightsPath, tensor: 'W_dec' },
      bDec: { file: weightsPath, tensor: 'b_dec' },
      threshold: { file: weightsPath, tensor: 'threshold' },
    };
    validateSaeWeights(config, weights, origins);
    return { config, weights, origins } satisfies LoadedSae;
  },
};
