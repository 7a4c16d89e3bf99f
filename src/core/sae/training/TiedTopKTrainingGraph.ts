import { OnnxGraph } from '../OnnxGraph.ts';

/** Float type of a training graph: float32 for training, float64 for gradient checks. */
export type TrainingFloat = 'float32' | 'float64';

/**
 * Forward pass and exact gradient of the tied TopK SAE loss as one ONNX graph (onnxruntime-node
 * has no training API, so the backward pass is written out by hand).
 *
 * Parameters: W `[dSae, dIn]` (row f = feature direction f; encoder = Wᵀ, decoder = W, tied),
 * b_enc `[dSae]`, b_dec `[dIn]`. For a micro-batch X `[n, dIn]` and K:
 *
 *   xc   = x − b_dec                         [n, dIn]
 *   pre  = xc·Wᵀ + b_enc                      [n, dSae]
 *   S_j  = indices of the K largest pre_j·     (TopK; the set is constant almost everywhere)
 *   z_jk = relu(pre_{j,S_jk})                  [n, K]   (codes of the selected features)
 *   x̂_j  = Σ_k z_jk W[S_jk] + b_dec           [n, dIn]
 *   L    = c · Σ_j ‖x̂_j − x_j‖² / ‖x_j‖²        c = rowScale = 1 / (rows in the whole step batch),
 *                                              so micro-batch gradients add up to the batch mean.
 * Backward (S fixed, relu'(u) = [u > 0]):
 *   G_j      = ∂L/∂x̂_j = 2c (x̂_j − x_j) / ‖x_j‖²                 [n, dIn]
 *   ∂L/∂z_jk = W[S_jk] · G_j                                        [n, K]
 *   D_jk     = ∂L/∂pre_{j,S_jk} = ∂L/∂z_jk · [pre_{j,S_jk} > 0]   [n, K]  (0 off the TopK set)
 *   ∂L/∂W[f] = Σ_{(j,k): S_jk = f} ( z_jk G_j  +  D_jk xc_j )
 *              └ decoder path (x̂ = zW) ┘ └ encoder path (pre = xc Wᵀ) ┘ — tied: both add to W.
 *   ∂L/∂b_enc[f] = Σ_{(j,k): S_jk = f} D_jk
 *   ∂L/∂b_dec    = Σ_j G_j  −  Σ_j Σ_k D_jk W[S_jk]      (b_dec enters x̂ with +, xc with −)
 *
 * Every gradient is sparse in features: only the selected rows of W get a contribution. The step
 * graph therefore returns per-selection rows `dWRows[j,k,:] = z_jk G_j + D_jk xc_j` `[n, K, dIn]`;
 * the caller scatter-adds them into the dense gradient at `indices`. Cost: one dense product (the
 * encoder, n·dIn·dSae) plus O(n·K·dIn); no dense decoder or backward matmuls.
 *
 * Two graphs, because the encoder's matrix product streams all of W (1 GiB at 4096 × 65,536) per
 * run whatever n is, so it runs once on the whole batch, while the step graph's `[n, K, dIn]`
 * tensors are bounded by running it on micro-batches:
 * - encode: x, W, b_enc, b_dec, k → `indices` int64 `[n, K]`, `values` pre at those indices `[n, K]`.
 * - step: x, W, b_dec, indices, values (+ rowScale) → `rowError` ‖x̂−x‖² `[n]`, `rowNorm` ‖x‖²
 *   `[n]`, `codes` z `[n, K]`, and with the gradient `dPre` D `[n, K]`, `dWRows` `[n, K, dIn]`,
 *   `dBDec` `[dIn]` (its part of ∂L/∂b_dec; the sum over micro-batches is the whole).
 */
export function buildTiedTopKEncodeGraph(options: { dIn: number; dSae: number; float: TrainingFloat }): Uint8Array {
  const { dIn, dSae, float } = options;
  const g = new OnnxGraph('tied_topk_sae_encode');
  const x = g.input('x', float, ['n', dIn]);
  const w = g.input('W', float, [dSae, dIn]);
  const bEnc = g.input('bEnc', float, [dSae]);
  const bDec = g.input('bDec', float, [dIn]);
  const k = g.input('k', 'int64', [1]);
  const pre = g.op('Gemm', [g.op('Sub', [x, bDec]), w, bEnc], { transB: 1 });
  g.node('TopK', [pre, k], ['values', 'indices'], { axis: 1, largest: 1, sorted: 1 });
  g.output('values', 'values', float, ['n', 'K']);
  g.output('indices', 'indices', 'int64', ['n', 'K']);
  return g.toBytes();
}

export function buildTiedTopKStepGraph(options: { dIn: number; dSae: number; float: TrainingFloat; withGradient: boolean }): Uint8Array {
  const { dIn, dSae, float } = options;
  const g = new OnnxGraph(options.withGradient ? 'tied_topk_sae_train_step' : 'tied_topk_sae_reconstruct');
  const x = g.input('x', float, ['n', dIn]);
  const w = g.input('W', float, [dSae, dIn]);
  const bDec = g.input('bDec', float, [dIn]);
  const indices = g.input('indices', 'int64', ['n', 'K']);
  const values = g.input('values', float, ['n', 'K']);
  const axis1 = g.constant('int64', [1]);

  const codes = g.op('Relu', [values], {}, 'codes');
  // Selected decoder rows: [n, K, dIn].
  const rows = g.op('Gather', [w, indices], { axis: 0 });
  // x̂ = z·rows per row: [n,1,K] × [n,K,dIn] → [n,1,dIn].
  const recon = g.op('Add', [g.op('Squeeze', [g.op('MatMul', [g.op('Unsqueeze', [codes, axis1]), rows]), axis1]), bDec]);
  const residual = g.op('Sub', [recon, x]);
  const rowError = g.op('ReduceSum', [g.op('Mul', [residual, residual]), axis1], { keepdims: 0 }, 'rowError');
  const rowNorm = g.op('ReduceSum', [g.op('Mul', [x, x]), axis1], { keepdims: 0 }, 'rowNorm');
  g.output(rowError, rowError, float, ['n']);
  g.output(rowNorm, rowNorm, float, ['n']);
  g.output(codes, codes, float, ['n', 'K']);
  if (options.withGradient) {
    const rowScale = g.input('rowScale', float, [1]);
    const xc = g.op('Sub', [x, bDec]);
    const axis0 = g.constant('int64', [0]);
    const axis2 = g.constant('int64', [2]);
    const axes01 = g.constant('int64', [0, 1]);
    const zero = g.constant(float, [0], []);
    const two = g.constant(float, [2], []);
    // Guard against an all-zero row (‖x‖² = 0): its error is then measured against 1e-30.
    const tiny = g.constant(float, [1e-30], []);
    // G = 2c (x̂ − x) / ‖x‖²  [n, dIn]
    const safeNorm = g.op('Max', [rowNorm, tiny]);
    const perRow = g.op('Div', [g.op('Mul', [two, rowScale]), safeNorm]);
    const gradRecon = g.op('Mul', [residual, g.op('Unsqueeze', [perRow, axis1])]);
    // ∂L/∂z = rows · G: [n,K,dIn] × [n,dIn,1] → [n,K,1] → [n,K]
    const dCodes = g.op('Squeeze', [g.op('MatMul', [rows, g.op('Unsqueeze', [gradRecon, axis2])]), axis2]);
    const dPre = g.op('Where', [g.op('Greater', [values, zero]), dCodes, zero], {}, 'dPre');
    // dWRows = [z D] [n,K,2] × [G; xc] [n,2,dIn]
    const left = g.op('Concat', [g.op('Unsqueeze', [codes, axis2]), g.op('Unsqueeze', [dPre, axis2])], { axis: 2 });
    const right = g.op('Concat', [g.op('Unsqueeze', [gradRecon, axis1]), g.op('Unsqueeze', [xc, axis1])], { axis: 1 });
    g.op('MatMul', [left, right], {}, 'dWRows');
    // ∂L/∂b_dec = Σ_j G_j − Σ_j D_j·rows_j   ([n,1,K] × [n,K,dIn] → [n,1,dIn])
    const encoderPath = g.op('ReduceSum', [g.op('MatMul', [g.op('Unsqueeze', [dPre, axis1]), rows]), axes01], { keepdims: 0 });
    g.op('Sub', [g.op('ReduceSum', [gradRecon, axis0], { keepdims: 0 }), encoderPath], {}, 'dBDec');
    g.output(dPre, dPre, float, ['n', 'K']);
    g.output('dWRows', 'dWRows', float, ['n', 'K', dIn]);
    g.output('dBDec', 'dBDec', float, [dIn]);
  }
  return g.toBytes();
}
