import * as ort from 'onnxruntime-node';
import { OnnxGraph } from '../OnnxGraph.ts';
import type { AdamHyperparameters } from './adamUpdate.ts';

/**
 * The Adam update of {@link adamUpdate} as an onnxruntime graph (inputs θ, g, m, v and the
 * step's scalars; outputs θ', m', v' copied back into the caller's arrays). Kept to measure
 * against the typed-array update (see bench/saeTrainBench.ts); training uses whichever is faster.
 */
export class AdamGraphSession {
  private session: ort.InferenceSession | undefined;

  private constructor(session: ort.InferenceSession) {
    this.session = session;
  }

  static async create(options: { threads?: number } = {}): Promise<AdamGraphSession> {
    const g = new OnnxGraph('adam_update');
    const theta = g.input('theta', 'float32', ['n']);
    const grad = g.input('grad', 'float32', ['n']);
    const m = g.input('m', 'float32', ['n']);
    const v = g.input('v', 'float32', ['n']);
    // [β1, 1−β1, β2, 1−β2, α_t, ε̂] as one input so the graph needs no rebuild per step.
    const scalars = g.input('scalars', 'float32', [6]);
    const pick = (i: number) => g.op('Gather', [scalars, g.constant('int64', [i], [])], { axis: 0 });
    const mNew = g.op('Add', [g.op('Mul', [pick(0), m]), g.op('Mul', [pick(1), grad])], {}, 'mOut');
    const vNew = g.op('Add', [g.op('Mul', [pick(2), v]), g.op('Mul', [pick(3), g.op('Mul', [grad, grad])])], {}, 'vOut');
    const update = g.op('Div', [g.op('Mul', [pick(4), mNew]), g.op('Add', [g.op('Sqrt', [vNew]), pick(5)])]);
    g.op('Sub', [theta, update], {}, 'thetaOut');
    g.output('thetaOut', 'thetaOut', 'float32', ['n']);
    g.output('mOut', 'mOut', 'float32', ['n']);
    g.output('vOut', 'vOut', 'float32', ['n']);
    const session = await ort.InferenceSession.create(g.toBytes(), {
      executionProviders: ['cpu'],
      logSeverityLevel: 3,
      ...(options.threads !== undefined ? { intraOpNumThreads: options.threads, interOpNumThreads: 1 } : {}),
    });
    return new AdamGraphSession(session);
  }

  async update(parameter: Float32Array, gradient: Float32Array, m: Float32Array, v: Float32Array, step: number, hyper: AdamHyperparameters): Promise<void> {
    if (!this.session) throw new Error('AdamGraphSession used after dispose()');
    const correction2 = Math.sqrt(1 - hyper.beta2 ** step);
    const scalars = Float32Array.of(hyper.beta1, 1 - hyper.beta1, hyper.beta2, 1 - hyper.beta2, (hyper.learningRate * correction2) / (1 - hyper.beta1 ** step), hyper.epsilon * correction2);
    const n = parameter.length;
    const out = await this.session.run({
      theta: new ort.Tensor('float32', parameter, [n]),
      grad: new ort.Tensor('float32', gradient, [n]),
      m: new ort.Tensor('float32', m, [n]),
      v: new ort.Tensor('float32', v, [n]),
      scalars: new ort.Tensor('float32', scalars, [6]),
    });
    parameter.set(out.thetaOut!.data as Float32Array);
    m.set(out.mOut!.data as Float32Array);
    v.set(out.vOut!.data as Float32Array);
    for (const value of Object.values(out)) value.dispose();
  }

  async dispose(): Promise<void> {
    await this.session?.release();
    this.session = undefined;
  }
}
