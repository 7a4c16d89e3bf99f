/**
 * SAE training throughput. `bench/saeBench.ts` (npm run bench:sae) calls
 * {@link measureSaeTraining} for the `trainTokPerSec` of its final JSON line; run this file
 * alone (`npx node bench/saeTrainBench.ts [batchTokens]`) for the details: step and graph time,
 * and the Adam update as typed-array code vs an onnxruntime graph.
 *
 * Shape: d_in 4096 → 65,536 features, K 20 (the paper's SAE), batches of 4,096 tokens, one
 * warm-up step then 3 timed steps (median), all cores.
 */
import { measureSaeTraining, type SaeTrainingMeasurement } from '../src/core/sae/training/measureSaeTraining.ts';

export { measureSaeTraining };

export async function saeTrainBench(batchTokens?: number): Promise<SaeTrainingMeasurement> {
  return measureSaeTraining({ ...(batchTokens !== undefined ? { batchTokens } : {}), log: (line) => process.stderr.write(`${line}\n`) });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await saeTrainBench(process.argv[2] ? Number(process.argv[2]) : undefined);
  process.stderr.write(
    `train ${result.dIn}→${result.dSae} K=${result.k} batch ${result.batchTokens}, ${result.threads} threads (${result.device}): ` +
      `${result.trainTokPerSec.toFixed(1)} tok/s, ${result.stepMs.toFixed(0)} ms/step median of [${result.stepTimesMs.join(', ')}] (graphs ${result.graphMs.toFixed(0)} ms); ` +
      `Adam on ${result.adamElements} floats: typed arrays ${result.adamTypedArrayMs.toFixed(1)} ms, ONNX graph ${result.adamOnnxMs.toFixed(1)} ms\n`,
  );
  process.stdout.write(`${JSON.stringify({ bench: 'sae-train', trainTokPerSec: Math.round(result.trainTokPerSec * 10) / 10 })}\n`);
}
