import ort from 'onnxruntime-node';
import { FacetError } from '../../shared/FacetError.ts';
import type { ChatTurn } from '../../shared/datasetTypes.ts';
import { readGgufHeader, readTensorAsFloat32, type GgufHeader } from '../gguf/GgufReader.ts';
import { physicalCoreCount } from '../llama/physicalCoreCount.ts';
import type { ProbeContext } from '../llama/ProbeContext.ts';
import type { ProbeModel } from '../llama/ProbeModel.ts';
import { OnnxGraph } from '../sae/OnnxGraph.ts';

/** Architectures whose logits are exactly W_out · RMSNorm(l_out of the last block) (no soft-capping, no logit scale). */
const plainHeadArchitectures = new Set(['llama', 'qwen2', 'qwen3', 'mistral', 'mistral3', 'olmo2', 'granite', 'phi3', 'internlm2', 'deci', 'exaone']);

/**
 * Perplexity of a conversation's content under a model: exp of the mean negative log-likelihood
 * of each token from t0 + 1 on (what the model reads after the chat-template prefix), given the
 * tokens before it. The probe returns residuals, not logits, so the last block's output is
 * captured and the model's own output head (final RMSNorm and `output.weight`, or the tied
 * `token_embd.weight`) is applied here, the log-softmax running in onnxruntime. Reads F32, F16
 * and BF16 heads; other storage types fail with COHERENCE_UNMEASURABLE.
 */
export class PerplexityScorer {
  readonly model: ProbeModel;
  private readonly context: ProbeContext;
  private readonly session: ort.InferenceSession;
  private readonly norm: Float32Array;
  private readonly epsilon: number;
  /** Seconds spent scoring. */
  seconds = 0;

  private constructor(model: ProbeModel, context: ProbeContext, session: ort.InferenceSession, norm: Float32Array, epsilon: number) {
    this.model = model;
    this.context = context;
    this.session = session;
    this.norm = norm;
    this.epsilon = epsilon;
  }

  static async open(model: ProbeModel, options: { threads?: number } = {}): Promise<PerplexityScorer> {
    const { architecture, nEmbd, nVocab } = model.info;
    if (!plainHeadArchitectures.has(architecture)) {
      throw new FacetError('COHERENCE_UNMEASURABLE', `Perplexity cannot be computed for ${model.path}: its architecture '${architecture}' transforms logits in ways Facet does not reproduce (Facet reads the output head of ${[...plainHeadArchitectures].join(', ')}). Use a generator of one of those families.`, { path: model.path, architecture });
    }
    const header = await readGgufHeader(model.path);
    const headName = header.tensors.some((tensor) => tensor.name === 'output.weight') ? 'output.weight' : 'token_embd.weight';
    const head = await readHead(header, headName);
    const norm = await readHead(header, 'output_norm.weight');
    if (head.length !== nVocab * nEmbd || norm.length !== nEmbd) {
      throw new FacetError('COHERENCE_UNMEASURABLE', `${model.path}: ${headName} has ${head.length} values and output_norm ${norm.length}; expected ${nVocab} × ${nEmbd} and ${nEmbd}.`, { path: model.path });
    }
    const epsilonValue = header.metadata.get(`${architecture}.attention.layer_norm_rms_epsilon`);
    const epsilon = epsilonValue !== undefined && typeof epsilonValue.value === 'number' ? epsilonValue.value : 1e-5;
    const graph = new OnnxGraph('facet_token_nll');
    graph.input('h', 'float32', ['rows', nEmbd]);
    graph.input('targets', 'int64', ['rows', 1]);
    graph.externalInitializer('w', [nVocab, nEmbd], 'head.bin');
    const logits = graph.op('Gemm', ['h', 'w'], { transB: 1 });
    const logp = graph.op('LogSoftmax', [logits], { axis: 1 });
    graph.node('GatherElements', [logp, 'targets'], ['logp'], { axis: 1 });
    graph.output('logp', 'logp', 'float32', ['rows', 1]);
    const threads = options.threads ?? physicalCoreCount();
    const session = await ort.InferenceSession.create(graph.toBytes(), {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionProviders: ['cpu'],
      externalData: [{ path: 'head.bin', data: new Uint8Array(head.buffer, head.byteOffset, head.byteLength) }],
    });
    const context = await model.createContext({ contextSize: Math.min(4096, model.info.nCtxTrain > 0 ? model.info.nCtxTrain : 4096), kv: 'f32', threads, sequences: 8 });
    return new PerplexityScorer(model, context, session, norm, epsilon);
  }

  /** Perplexity of each conversation (null when it has no content token to predict). */
  async perplexities(conversations: readonly (readonly ChatTurn[])[], signal?: AbortSignal): Promise<(number | null)[]> {
    const started = performance.now();
    try {
      const prepared = conversations.map((turns) => this.model.prepare({ turns }, { template: this.model.chatTemplate !== null, maxTokens: this.context.contextSize }));
      const runnable = prepared.filter((sample) => sample.tokens.length > 0);
      if (runnable.length === 0) return prepared.map(() => null);
      const layer = this.model.info.nLayer - 1;
      const captured = await this.context.capture(runnable.map((sample) => sample.tokens), { layers: [layer], ...(signal ? { signal } : {}) });
      const residuals = captured.activations.get(layer)!;
      const d = this.model.info.nEmbd;
      const out: (number | null)[] = [];
      let next = 0;
      for (const sample of prepared) {
        if (sample.tokens.length === 0) {
          out.push(null);
          continue;
        }
        const base = captured.offsets[next++]!;
        // position p predicts token p + 1; content tokens t0 + 1 … T − 1 (t0 itself follows the template)
        const first = Math.max(sample.t0, 1) - 1;
        const rows = sample.tokens.length - 1 - first;
        if (rows <= 0) {
          out.push(null);
          continue;
        }
        const h = new Float32Array(rows * d);
        for (let r = 0; r < rows; r++) {
          const x = residuals.subarray((base + first + r) * d, (base + first + r + 1) * d);
          let sumSquares = 0;
          for (let i = 0; i < d; i++) sumSquares += x[i]! * x[i]!;
          const scale = 1 / Math.sqrt(sumSquares / d + this.epsilon);
          for (let i = 0; i < d; i++) h[r * d + i] = x[i]! * scale * this.norm[i]!;
        }
        const targets = new BigInt64Array(rows);
        for (let r = 0; r < rows; r++) targets[r] = BigInt(sample.tokens[first + r + 1]!);
        const hTensor = new ort.Tensor('float32', h, [rows, d]);
        const tTensor = new ort.Tensor('int64', targets, [rows, 1]);
        const result = await this.session.run({ h: hTensor, targets: tTensor });
        const logp = result['logp']!.data as Float32Array;
        let nll = 0;
        for (let r = 0; r < rows; r++) nll -= logp[r]!;
        for (const value of Object.values(result)) value.dispose();
        out.push(Math.exp(nll / rows));
      }
      return out;
    } finally {
      this.seconds += (performance.now() - started) / 1000;
    }
  }

  async dispose(): Promise<void> {
    this.context.dispose();
    await this.session.release();
  }
}

async function readHead(header: GgufHeader, name: string): Promise<Float32Array> {
  try {
    return await readTensorAsFloat32(header, name);
  } catch (error) {
    if (error instanceof FacetError && error.code === 'MODEL_ARCH_UNSUPPORTED') {
      throw new FacetError('COHERENCE_UNMEASURABLE', `Perplexity needs the output head of ${header.path} as floats, but ${error.message} Use an F16/BF16/F32 GGUF of the generator, or pass --no-coherence to skip the coherence check (recorded with every sample).`, { path: header.path, tensor: name }, { cause: error });
    }
    throw error;
  }
}
