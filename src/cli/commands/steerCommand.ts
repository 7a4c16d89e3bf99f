import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { FacetError } from '../../shared/FacetError.ts';
import type { steerEval, steerVector } from '../../core/evaluate/steering.ts';
import type { CliContext } from '../CliContext.ts';
import { formatTable } from '../formatTable.ts';
import { openCliEngine } from '../openCliEngine.ts';
import { followJob } from '../runEngineJob.ts';
import { integerOption } from '../integerOption.ts';

const help = `Usage:
  facet steer vector --model M --dataset CAA_ITEMS --layer L --out vector.npy [--control-vector cv.gguf] [--limit N] [--cpu]
  facet steer eval --model M --vector vector.npy --dataset CAA_TEST [--multipliers -1,-0.5,0,0.5,1] [--limit N] [--cpu]

vector: a CAA steering vector at l_out-L (llama.cpp 0-based block, ≥ 1): the mean over A/B items of
the residual at the answer letter after "(" when the answer shows the behaviour minus when it does
not. Written as float32 .npy with its layer in vector.npy.json; --control-vector also writes a
llama.cpp control vector (GGUF, tensor direction.L).
eval: for each multiplier m, m·vector is added at that layer and every item is answered in both
option orders by which of "A" and "B" is likelier after "("; robust accuracy = items whose
behaviour letter wins in both orders. Steering Control Rate = robust accuracy(+1) − robust
accuracy(−1) (not SAEBench's "SCR", spurious correlation removal).`;

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  const [sub, ...given] = argv;
  // Multipliers start with a minus sign, which option parsing would read as a flag: glue them on.
  const rest = given.flatMap((arg, i) => (arg === '--multipliers' && /^-?\d/.test(given[i + 1] ?? '') ? [] : given[i - 1] === '--multipliers' && /^-?\d/.test(arg) ? [`--multipliers=${arg}`] : [arg]));
  const { values } = parseArgs({
    args: rest,
    options: {
      model: { type: 'string' },
      dataset: { type: 'string' },
      layer: { type: 'string' },
      out: { type: 'string' },
      'control-vector': { type: 'string' },
      vector: { type: 'string' },
      multipliers: { type: 'string', default: '-1,-0.5,0,0.5,1' },
      limit: { type: 'string' },
      threads: { type: 'string' },
      cpu: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help || sub === undefined || sub === '--help' || sub === '-h') {
    ctx.out(help);
    return sub === undefined ? 1 : 0;
  }
  if (values.model === undefined || values.dataset === undefined) throw new FacetError('INVALID_ARGUMENT', `--model and --dataset are required. See 'facet steer --help'.`);
  const common = { model: values.model, dataset: values.dataset, cpu: values.cpu, ...(values.limit !== undefined ? { limit: integerOption(values.limit, 'limit', 1)! } : {}), ...(values.threads !== undefined ? { threads: integerOption(values.threads, 'threads', 1)! } : {}) };
  const engine = openCliEngine(ctx);
  try {
    if (sub === 'vector') {
      if (values.layer === undefined || values.out === undefined) throw new FacetError('INVALID_ARGUMENT', '--layer and --out are required for steer vector.');
      if (values.layer === '0') throw new FacetError('LAYER_OUT_OF_RANGE', '--layer 0 cannot be steered: llama.cpp adds vectors to the output of blocks 1 and up (0-based).');
      if (!values.out.endsWith('.npy')) throw new FacetError('INVALID_ARGUMENT', `--out must end in .npy (got '${values.out}').`);
      const job = await engine.call('evaluate.steerVector', { ...common, layer: integerOption(values.layer, 'layer', 1)!, out: resolve(values.out), ...(values['control-vector'] !== undefined ? { controlVector: resolve(values['control-vector']) } : {}) });
      const result = (await followJob(engine, ctx, job, 'Building the steering vector')).result as Awaited<ReturnType<typeof steerVector>>;
      if (ctx.json) ctx.printJson(result);
      else ctx.out(`Steering vector from ${result.items} items at l_out-${result.layer} (norm ${result.norm.toFixed(4)}) written to ${result.out}${result.controlVector ? ` and ${result.controlVector} (llama.cpp control vector)` : ''}.`);
      return 0;
    }
    if (sub === 'eval') {
      if (values.vector === undefined) throw new FacetError('INVALID_ARGUMENT', '--vector is required for steer eval.');
      const multipliers = values.multipliers.split(',').map((part) => Number(part.trim()));
      if (multipliers.length === 0 || multipliers.some((value) => !Number.isFinite(value))) throw new FacetError('INVALID_ARGUMENT', `--multipliers must be comma-separated numbers (got '${values.multipliers}').`);
      const job = await engine.call('evaluate.steerEval', { ...common, vector: resolve(values.vector), multipliers });
      const result = (await followJob(engine, ctx, job, 'Evaluating steering')).result as Awaited<ReturnType<typeof steerEval>>;
      if (ctx.json) {
        ctx.printJson(result);
        return 0;
      }
      ctx.out(`${result.items} items of ${result.dataset}, vector at l_out-${result.layer}:`);
      ctx.out(formatTable(['multiplier', 'robust accuracy', 'accuracy (each order)'], result.multipliers.map((entry) => [entry.multiplier, entry.robustAccuracy.toFixed(4), entry.accuracy.toFixed(4)])));
      ctx.out(`Steering Control Rate (robust accuracy at +1 minus at −1): ${result.steeringControlRate === null ? 'needs multipliers 1 and -1' : result.steeringControlRate.toFixed(4)}`);
      return 0;
    }
    throw new FacetError('INVALID_ARGUMENT', `Unknown subcommand 'steer ${sub}': use vector or eval.`);
  } finally {
    await engine.close();
  }
}
