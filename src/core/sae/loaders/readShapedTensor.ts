import { FacetError } from '../../../shared/FacetError.ts';
import { readSafetensorsTensor, type SafetensorsHeader } from '../formats/SafetensorsFile.ts';

/**
 * Reads the first of `names` present in a safetensors file as float32, after checking its shape:
 * `SAE_FILE_INVALID` when none is present (if required), `SAE_SHAPE_MISMATCH` naming file, tensor
 * and both shapes when it differs.
 */
export async function readShapedTensor(header: SafetensorsHeader, names: string[], shape: number[], required: true): Promise<{ name: string; data: Float32Array }>;
export async function readShapedTensor(header: SafetensorsHeader, names: string[], shape: number[], required: false): Promise<{ name: string; data: Float32Array } | null>;
export async function readShapedTensor(header: SafetensorsHeader, names: string[], shape: number[], required: boolean): Promise<{ name: string; data: Float32Array } | null> {
  const name = names.find((candidate) => header.tensors.has(candidate));
  if (name === undefined) {
    if (!required) return null;
    throw new FacetError('SAE_FILE_INVALID', `${header.path} has no tensor ${names.map((n) => `'${n}'`).join(' or ')} (it has ${[...header.tensors.keys()].join(', ') || 'none'}). Check that this is the SAE's weight file.`, { file: header.path, tensor: names[0] });
  }
  const info = header.tensors.get(name);
  if (info === undefined || info.shape.length !== shape.length || info.shape.some((d, i) => d !== shape[i])) {
    throw new FacetError(
      'SAE_SHAPE_MISMATCH',
      `${header.path}: tensor '${name}' has shape [${info?.shape.join(', ')}] but the config needs [${shape.join(', ')}]. Check that the config file (d_in, d_sae) belongs to these weights.`,
      { file: header.path, tensor: name, shape: info?.shape, expected: shape },
    );
  }
  return { name, data: await readSafetensorsTensor(header, name) };
}
