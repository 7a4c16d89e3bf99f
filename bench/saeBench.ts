/**
 * `npm run bench:sae`: SAE encode throughput at the paper's shape (d_in 4096 → 65,536, K 20,
 * batch 256) as a share of a plain ONNX MatMul of the same shape in the same run, plus SAE
 * training tokens/s when the training module provides its measurement. Prints one JSON line:
 * {"bench":"sae","encodeRowsPerSec":…,"matmulShare":…,"trainTokPerSec":…}
 */
import { measureSaeEncode } from '../src/core/sae/measureSaeEncode.ts';

/** The training measurement, if that module exists yet; null otherwise. */
async function measureTraining(): Promise<number | null> {
  const path = '../src/core/sae/training/measureSaeTraining.ts';
  let module: { measureSaeTraining?: () => Promise<{ trainTokPerSec: number }> };
  try {
    module = (await import(path)) as typeof module;
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND') return null;
    throw error;
  }
  if (typeof module.measureSaeTraining !== 'function') return null;
  return (await module.measureSaeTraining()).trainTokPerSec;
}

const encode = await measureSaeEncode();
process.stderr.write(
  `encode ${encode.dIn}→${encode.dSae} K=${encode.k} batch ${encode.batchSize}, ${encode.threads} threads (${encode.provider}): ` +
    `${encode.encodeRowsPerSec.toFixed(1)} rows/s; plain MatMul ${encode.matmulRowsPerSec.toFixed(1)} rows/s; share ${encode.matmulShare.toFixed(3)}\n`,
);
const trainedTokPerSec = await measureTraining();
const trainTokPerSec = trainedTokPerSec === null ? null : Math.round(trainedTokPerSec * 10) / 10;
process.stdout.write(
  `${JSON.stringify({ bench: 'sae', encodeRowsPerSec: Math.round(encode.encodeRowsPerSec * 10) / 10, matmulShare: Math.round(encode.matmulShare * 1000) / 1000, trainTokPerSec })}\n`,
);
