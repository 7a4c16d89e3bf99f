import { readGgufHeader, readTensorAsFloat32, type GgufHeader } from '../../src/core/gguf/GgufReader.ts';

/**
 * An independent float64 forward pass for llama- and qwen2-architecture GGUF files with F32/F16
 * weights: the numbers Facet's captures are checked against. Written from the architecture's
 * definition, not from llama.cpp's code:
 *
 *   x_0 = token_embd[token]
 *   per block: h = x + Wo·attn(RoPE(Wq·n1(x) + bq), RoPE(Wk·n1(x) + bk), Wv·n1(x) + bv)
 *              x' = h + Wdown·(silu(Wgate·n2(h)) ⊙ Wup·n2(h))          (= l_out-<block>)
 *   logits = W_out · n_out(x_L)   (W_out = output.weight, else token_embd: tied)
 *
 * n(·) is RMSNorm (x / sqrt(mean(x²) + eps)) times its weight; attention is causal softmax with
 * scale 1/sqrt(head size) and grouped-query heads (query head h reads KV head
 * floor(h / (heads / kvHeads))). RoPE rotates pairs (2i, 2i+1) for `llama` and (i, i + d/2) for
 * `qwen2`, by angle pos · base^(-2i/d).
 */
export class ReferenceModel {
  readonly architecture: 'llama' | 'qwen2';
  readonly nEmbd: number;
  readonly nLayer: number;
  readonly nHead: number;
  readonly nHeadKv: number;
  readonly headDim: number;
  readonly nFf: number;
  readonly nVocab: number;
  readonly epsilon: number;
  readonly ropeBase: number;
  private readonly weights: Map<string, Float32Array>;

  private constructor(header: GgufHeader, weights: Map<string, Float32Array>) {
    const meta = (key: string): number => {
      const value = header.metadata.get(key)?.value;
      if (typeof value !== 'number') throw new Error(`${header.path}: metadata ${key} missing or not a number.`);
      return value;
    };
    const arch = header.metadata.get('general.architecture')?.value;
    if (arch !== 'llama' && arch !== 'qwen2') throw new Error(`Reference forward pass supports llama and qwen2, not ${String(arch)}.`);
    this.architecture = arch;
    this.nEmbd = meta(`${arch}.embedding_length`);
    this.nLayer = meta(`${arch}.block_count`);
    this.nHead = meta(`${arch}.attention.head_count`);
    this.nHeadKv = header.metadata.has(`${arch}.attention.head_count_kv`) ? meta(`${arch}.attention.head_count_kv`) : this.nHead;
    this.headDim = this.nEmbd / this.nHead;
    this.nFf = meta(`${arch}.feed_forward_length`);
    this.epsilon = meta(`${arch}.attention.layer_norm_rms_epsilon`);
    this.ropeBase = header.metadata.has(`${arch}.rope.freq_base`) ? meta(`${arch}.rope.freq_base`) : 10_000;
    const embd = header.tensors.find((t) => t.name === 'token_embd.weight');
    if (embd === undefined) throw new Error(`${header.path}: no token_embd.weight.`);
    this.nVocab = embd.dims[1] ?? 0;
    this.weights = weights;
  }

  static async load(path: string): Promise<ReferenceModel> {
    const header = await readGgufHeader(path);
    const weights = new Map<string, Float32Array>();
    for (const tensor of header.tensors) weights.set(tensor.name, await readTensorAsFloat32(header, tensor.name));
    return new ReferenceModel(header, weights);
  }

  private weight(name: string): Float32Array {
    const w = this.weights.get(name);
    if (w === undefined) throw new Error(`Missing tensor ${name}.`);
    return w;
  }

  /**
   * Runs the tokens (positions 0…T-1, one sequence) through the model.
   * @returns residuals: block → `[T, nEmbd]` row-major (l_out-<block>); logits: `[T, nVocab]`
   * row-major when `logits` is true, `[1, nVocab]` (the last position) when it is `'last'`.
   */
  forward(tokens: readonly number[], options: { layers?: readonly number[]; logits?: boolean | 'last' } = {}): { residuals: Map<number, Float64Array>; logits?: Float64Array } {
    const T = tokens.length;
    const d = this.nEmbd;
    const wanted = new Set(options.layers ?? []);
    for (const layer of wanted) if (!Number.isInteger(layer) || layer < 0 || layer >= this.nLayer) throw new Error(`Layer ${layer} out of range 0..${this.nLayer - 1}.`);
    const lastNeeded = options.logits ? this.nLayer - 1 : Math.max(-1, ...wanted);

    const x = new Float64Array(T * d);
    const embd = this.weight('token_embd.weight');
    tokens.forEach((token, t) => {
      if (!Number.isInteger(token) || token < 0 || token >= this.nVocab) throw new Error(`Token ${token} out of range.`);
      for (let i = 0; i < d; i++) x[t * d + i] = embd[token * d + i]!;
    });

    const residuals = new Map<number, Float64Array>();
    for (let layer = 0; layer <= lastNeeded; layer++) {
      const p = `blk.${layer}.`;
      const attnIn = this.rmsNorm(x, T, this.weight(`${p}attn_norm.weight`));
      const q = linear(attnIn, T, d, this.weight(`${p}attn_q.weight`), this.nHead * this.headDim, this.weights.get(`${p}attn_q.bias`));
      const k = linear(attnIn, T, d, this.weight(`${p}attn_k.weight`), this.nHeadKv * this.headDim, this.weights.get(`${p}attn_k.bias`));
      const v = linear(attnIn, T, d, this.weight(`${p}attn_v.weight`), this.nHeadKv * this.headDim, this.weights.get(`${p}attn_v.bias`));
      this.rope(q, T, this.nHead);
      this.rope(k, T, this.nHeadKv);
      const attn = this.attention(q, k, v, T);
      const attnOut = linear(attn, T, this.nHead * this.headDim, this.weight(`${p}attn_output.weight`), d, this.weights.get(`${p}attn_output.bias`));
      for (let i = 0; i < x.length; i++) x[i]! += attnOut[i]!;

      const ffnIn = this.rmsNorm(x, T, this.weight(`${p}ffn_norm.weight`));
      const gate = linear(ffnIn, T, d, this.weight(`${p}ffn_gate.weight`), this.nFf);
      const up = linear(ffnIn, T, d, this.weight(`${p}ffn_up.weight`), this.nFf);
      for (let i = 0; i < gate.length; i++) {
        const g = gate[i]!;
        gate[i] = (g / (1 + Math.exp(-g))) * up[i]!;
      }
      const down = linear(gate, T, this.nFf, this.weight(`${p}ffn_down.weight`), d);
      for (let i = 0; i < x.length; i++) x[i]! += down[i]!;
      if (wanted.has(layer)) residuals.set(layer, Float64Array.from(x));
    }

    if (!options.logits) return { residuals };
    const rows = options.logits === 'last' ? 1 : T;
    const normed = this.rmsNorm(x.subarray((T - rows) * d), rows, this.weight('output_norm.weight'));
    const out = this.weights.get('output.weight') ?? embd;
    return { residuals, logits: linear(normed, rows, d, out, this.nVocab, this.weights.get('output.bias')) };
  }

  private rmsNorm(x: Float64Array, T: number, weight: Float32Array): Float64Array {
    const d = this.nEmbd;
    const out = new Float64Array(T * d);
    for (let t = 0; t < T; t++) {
      let sum = 0;
      for (let i = 0; i < d; i++) sum += x[t * d + i]! ** 2;
      const scale = 1 / Math.sqrt(sum / d + this.epsilon);
      for (let i = 0; i < d; i++) out[t * d + i] = x[t * d + i]! * scale * weight[i]!;
    }
    return out;
  }

  /** In place on `[T, heads * headDim]`; position of row t is t. */
  private rope(values: Float64Array, T: number, heads: number): void {
    const hd = this.headDim;
    const half = hd / 2;
    const neox = this.architecture === 'qwen2';
    for (let t = 0; t < T; t++) {
      for (let h = 0; h < heads; h++) {
        const base = (t * heads + h) * hd;
        for (let i = 0; i < half; i++) {
          const angle = t * this.ropeBase ** ((-2 * i) / hd);
          const cos = Math.cos(angle);
          const sin = Math.sin(angle);
          const a = neox ? base + i : base + 2 * i;
          const b = neox ? base + i + half : base + 2 * i + 1;
          const x0 = values[a]!;
          const x1 = values[b]!;
          values[a] = x0 * cos - x1 * sin;
          values[b] = x0 * sin + x1 * cos;
        }
      }
    }
  }

  /** Causal attention; q `[T, nHead*hd]`, k and v `[T, nHeadKv*hd]` → `[T, nHead*hd]`. */
  private attention(q: Float64Array, k: Float64Array, v: Float64Array, T: number): Float64Array {
    const hd = this.headDim;
    const group = this.nHead / this.nHeadKv;
    const scale = 1 / Math.sqrt(hd);
    const out = new Float64Array(T * this.nHead * hd);
    const scores = new Float64Array(T);
    for (let h = 0; h < this.nHead; h++) {
      const kvh = Math.floor(h / group);
      for (let t = 0; t < T; t++) {
        const qOff = (t * this.nHead + h) * hd;
        let max = -Infinity;
        for (let s = 0; s <= t; s++) {
          const kOff = (s * this.nHeadKv + kvh) * hd;
          let dot = 0;
          for (let i = 0; i < hd; i++) dot += q[qOff + i]! * k[kOff + i]!;
          scores[s] = dot * scale;
          if (scores[s]! > max) max = scores[s]!;
        }
        let total = 0;
        for (let s = 0; s <= t; s++) {
          scores[s] = Math.exp(scores[s]! - max);
          total += scores[s]!;
        }
        for (let s = 0; s <= t; s++) {
          const w = scores[s]! / total;
          const vOff = (s * this.nHeadKv + kvh) * hd;
          for (let i = 0; i < hd; i++) out[qOff + i]! += w * v[vOff + i]!;
        }
      }
    }
    return out;
  }
}

/** y = W·x (+ b) per row; x `[T, nIn]`, W stored `[nOut, nIn]` row-major (GGUF dims [nIn, nOut]). */
function linear(x: Float64Array, T: number, nIn: number, w: Float32Array, nOut: number, bias?: Float32Array): Float64Array {
  if (w.length !== nIn * nOut) throw new Error(`Weight has ${w.length} values, expected ${nIn}×${nOut}.`);
  const y = new Float64Array(T * nOut);
  for (let t = 0; t < T; t++) {
    const xOff = t * nIn;
    for (let o = 0; o < nOut; o++) {
      const wOff = o * nIn;
      let sum = bias === undefined ? 0 : bias[o]!;
      for (let i = 0; i < nIn; i++) sum += w[wOff + i]! * x[xOff + i]!;
      y[t * nOut + o] = sum;
    }
  }
  return y;
}

const cache = new Map<string, Promise<ReferenceModel>>();

function loadCached(path: string): Promise<ReferenceModel> {
  let model = cache.get(path);
  if (model === undefined) {
    model = ReferenceModel.load(path);
    cache.set(path, model);
  }
  return model;
}

/** Residual stream after each requested block (`l_out-L`, 0-based): block → `[T, nEmbd]` row-major. */
export async function referenceResiduals(modelPath: string, tokens: readonly number[], layers: readonly number[]): Promise<Map<number, Float64Array>> {
  return (await loadCached(modelPath)).forward(tokens, { layers }).residuals;
}

/** Logits for every position (`[T, nVocab]` row-major), or for the last one only (`[nVocab]`). */
export async function referenceLogits(modelPath: string, tokens: readonly number[], positions: 'all' | 'last' = 'all'): Promise<Float64Array> {
  const { logits } = (await loadCached(modelPath)).forward(tokens, { logits: positions === 'all' ? true : 'last' });
  return logits!;
}

/** ‖a − b‖₂ / ‖b‖₂ (b is the reference). */
export function relativeL2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`Length mismatch: ${a.length} vs ${b.length}.`);
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < a.length; i++) {
    diff += (a[i]! - b[i]!) ** 2;
    norm += b[i]! ** 2;
  }
  return Math.sqrt(diff / norm);
}
