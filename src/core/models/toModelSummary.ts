import type { ModelSummary } from '../../shared/registryTypes.ts';
import type { ModelRecord } from './ModelRecord.ts';

export function toModelSummary(model: ModelRecord): ModelSummary {
  return {
    id: model.id,
    name: model.name,
    path: model.path,
    architecture: model.architecture,
    blockCount: model.blockCount,
    embeddingLength: model.embeddingLength,
    contextLength: model.contextLength,
    quantization: model.quantization,
    tokenizerModel: model.tokenizerModel,
    sizeBytes: model.sizeBytes,
    contentHash: model.contentHash,
    addedAt: model.addedAt,
  };
}
