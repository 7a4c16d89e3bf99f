import { FacetError, throwIfAborted } from '../../shared/FacetError.ts';
import type { ChatTurn } from '../../shared/datasetTypes.ts';
import { readGgufHeader, readTensorAsFloat32 } from '../gguf/GgufReader.ts';
import type { ProbeContext } from '../llama/ProbeContext.ts';
import type { ProbeModel } from '../llama/ProbeModel.ts';

/** The model's final RMS norm: `output_norm.weight` and ε, read from the GGUF. */
export async function readFinalNorm(model: ProbeModel): Promise<{ weight: Float32Array; epsilon: number }> {
  const header = await readGgufHeader(model.path);
  const architecture = header.metadata.get('general.architecture');
  const arch = architecture?.type === 'string' ? architecture.value : '';
  const epsilon = header.metadata.get(`${arch}.attention.layer_norm_rms_epsilon`);
  if (epsilon === undefined || typeof epsilon.value !== 'number' || !header.tensors.some((tensor) => tensor.name === 'output_norm.weight')) {
    throw new FacetError('MODEL_ARCH_UNSUPPORTED', `${model.path} ('${arch}') has no final RMS norm (output_norm.weight and ${arch}.attention.layer_norm_rms_epsilon), which the probes read the last hidden state through. Use a LLaMA, Mistral or Qwen model.`, { path: model.path, architecture: arch });
  }
  return { weight: await readTensorAsFloat32(header, 'output_norm.weight'), epsilon: epsilon.value };
}

/**
 * The final hidden state of each conversation's last token, as the model's output head sees it:
 * the residual after the last block, through the final RMS norm (x / √(mean x² + ε) · w). The
 * conversation is rendered with the chat template unless `template` is false, cut to `maxTokens`.
 */
export async function lastTokenStates(
  model: ProbeModel,
  context: ProbeContext,
  conversations: readonly (readonly ChatTurn[])[],
  options: { template: boolean; maxTokens: number; signal?: AbortSignal },
): Promise<Float64Array[]> {
  const norm = await readFinalNorm(model);
  const d = model.info.nEmbd;
  const layer = model.info.nLayer - 1;
  const prepared = conversations.map((turns) => model.prepare({ turns }, { template: options.template, maxTokens: options.maxTokens }).tokens);
  const states: Float64Array[] = new Array(prepared.length);
  await context.captureChunks(prepared, { layers: [layer], ...(options.signal ? { signal: options.signal } : {}) }, (chunk) => {
    const rows = chunk.activations.get(layer)!;
    let offset = 0;
    chunk.lengths.forEach((length, j) => {
      const base = (offset + length - 1) * d;
      let meanSquare = 0;
      for (let k = 0; k < d; k++) meanSquare += rows[base + k]! ** 2 / d;
      const scale = 1 / Math.sqrt(meanSquare + norm.epsilon);
      states[chunk.firstSample + j] = Float64Array.from({ length: d }, (_, k) => rows[base + k]! * scale * norm.weight[k]!);
      offset += length;
    });
  });
  throwIfAborted(options.signal);
  return states;
}
