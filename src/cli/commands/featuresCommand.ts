import { parseArgs } from 'node:util';
import { FacetError } from '../../shared/FacetError.ts';
import { jobFeatureIndexer } from '../../core/features/featureIndexJob.ts';
import { getFeatureDetail, listFeatureSpaces, queryFeatureTable } from '../../core/features/FeatureQueries.ts';
import type { FeatureIndexParams } from '../../core/features/indexDataset.ts';
import { resolveIndexDataset } from '../../core/features/resolveFeatureSpace.ts';
import type { CliContext } from '../CliContext.ts';
import { formatTable } from '../formatTable.ts';
import { openCliEngine } from '../openCliEngine.ts';
import { interpretHelp, runExplain, runJudge, runSearch } from './featuresInterpretCommands.ts';
import { integerOption } from '../integerOption.ts';

const help = `Usage:
  facet features list
  facet features index --model M --sae S --dataset D [--layer L] [--encode topk|dense-relu]
                       [--no-template] [--kv f16|f32] [--threads N] [--max-tokens N] [--min-activation X] [--cpu]
  facet features table [--space ID] [--sort count|mean|max|feature] [--asc] [--limit N] [--offset N]
                       [--dataset D] [--active-in A --absent-in B]
  facet features show --feature F [--space ID] [--spans N] [--bins N]
${interpretHelp}

A feature space is one (model, layer, SAE, encode mode, template, max tokens, KV type); 'list'
shows the spaces and the datasets indexed in each. 'table' and 'show' aggregate over every
indexed dataset of a space (--space may be left out when there is only one); 'table --dataset D'
counts and sorts over D only, '--active-in A --absent-in B' keeps the features A activates and B
does not (the Features page's filters; datasets by name or id). Spans are up to 32 tokens ending
with the peak token, shown as …text[peak].`;


export async function run(argv: string[], ctx: CliContext): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'explain') return runExplain(rest, ctx);
  if (sub === 'judge') return runJudge(rest, ctx);
  if (sub === 'search') return runSearch(rest, ctx);
  const { values } = parseArgs({
    args: rest,
    options: {
      model: { type: 'string' },
      sae: { type: 'string' },
      dataset: { type: 'string' },
      layer: { type: 'string' },
      encode: { type: 'string' },
      'no-template': { type: 'boolean', default: false },
      kv: { type: 'string' },
      threads: { type: 'string' },
      'max-tokens': { type: 'string' },
      'min-activation': { type: 'string' },
      cpu: { type: 'boolean', default: false },
      space: { type: 'string' },
      sort: { type: 'string', default: 'count' },
      asc: { type: 'boolean', default: false },
      limit: { type: 'string', default: '20' },
      offset: { type: 'string', default: '0' },
      feature: { type: 'string' },
      spans: { type: 'string', default: '5' },
      bins: { type: 'string', default: '10' },
      'active-in': { type: 'string' },
      'absent-in': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help || sub === undefined || sub === 'help' || sub === '--help' || sub === '-h') {
    ctx.out(help);
    return sub === undefined ? 1 : 0;
  }
  const store = ctx.openStore();
  const pickSpace = (): number => {
    const explicit = integerOption(values.space, 'space', 1);
    if (explicit !== undefined) return explicit;
    const spaces = listFeatureSpaces(store);
    if (spaces.length === 1) return spaces[0]!.id;
    throw new FacetError('INVALID_ARGUMENT', spaces.length === 0 ? "No dataset is indexed yet. Run 'facet features index' or 'facet coverage' first." : `There are ${spaces.length} feature spaces; pick one with --space (see 'facet features list').`);
  };

  switch (sub) {
    case 'list': {
      const spaces = listFeatureSpaces(store);
      if (ctx.json) {
        ctx.printJson(spaces);
        return 0;
      }
      if (spaces.length === 0) {
        ctx.out("No feature index yet. Run 'facet features index' or 'facet coverage'.");
        return 0;
      }
      ctx.out(
        formatTable(
          ['space', 'model', 'SAE', 'layer', 'encode', 'template', 'kv', 'features', 'datasets (samples, state)'],
          spaces.map((space) => [space.id, space.modelName, space.saeName ?? `#${space.saeId}`, `l_out-${space.layer}`, space.encodeMode, space.template ? 'yes' : 'no', space.kv, space.dSae, space.indexes.map((index) => `${index.datasetName} (${index.sampleCount}${index.state === 'ready' ? '' : `, ${index.indexedCount} indexed`})`).join(', ')]),
        ),
      );
      return 0;
    }
    case 'index': {
      for (const name of ['model', 'sae', 'dataset'] as const) if (values[name] === undefined) throw new FacetError('INVALID_ARGUMENT', `--${name} is required.\n\n${help}`);
      if (values.encode !== undefined && values.encode !== 'topk' && values.encode !== 'dense-relu') throw new FacetError('INVALID_ARGUMENT', `--encode must be topk or dense-relu (got '${values.encode}').`);
      if (values.kv !== undefined && values.kv !== 'f16' && values.kv !== 'f32') throw new FacetError('INVALID_ARGUMENT', `--kv must be f16 or f32 (got '${values.kv}').`);
      const params: FeatureIndexParams = { model: values.model!, sae: values.sae!, dataset: values.dataset!, template: !values['no-template'] };
      const layer = integerOption(values.layer, 'layer');
      const threads = integerOption(values.threads, 'threads', 1);
      const maxTokens = integerOption(values['max-tokens'], 'max-tokens', 2);
      if (layer !== undefined) params.layer = layer;
      if (values.encode !== undefined) params.encode = values.encode as 'topk' | 'dense-relu';
      if (values.kv !== undefined) params.kv = values.kv as 'f16' | 'f32';
      if (threads !== undefined) params.threads = threads;
      if (maxTokens !== undefined) params.maxTokens = maxTokens;
      if (values.cpu) params.cpu = true;
      if (values['min-activation'] !== undefined) {
        if (!/^\d+(\.\d+)?$/.test(values['min-activation'])) throw new FacetError('INVALID_ARGUMENT', `--min-activation must be a number ≥ 0 (got '${values['min-activation']}').`);
        params.minActivation = Number(values['min-activation']);
      }
      const engine = openCliEngine(ctx);
      try {
        ctx.progress.start(`Indexing ${params.dataset}`);
        const summary = await jobFeatureIndexer(engine.jobs)(params, { signal: ctx.signal, onProgress: (progress) => ctx.progress.update(progress.done, progress.total) });
        ctx.progress.finish();
        if (ctx.json) ctx.printJson(summary);
        else ctx.out(summary.alreadyIndexed ? `${summary.dataset} is already indexed in feature space ${summary.spaceId} (${summary.samples} samples, ${summary.entries} stored activations).` : `Indexed ${summary.samples} samples of ${summary.dataset} (${summary.tokens} tokens, ${summary.entries} stored activations) in ${summary.seconds.toFixed(1)} s, ${summary.samplesPerSecond.toFixed(1)} samples/s; feature space ${summary.spaceId}.`);
        return 0;
      } finally {
        await engine.close();
      }
    }
    case 'table': {
      const sort = values.sort as 'count' | 'mean' | 'max' | 'feature';
      if (!['count', 'mean', 'max', 'feature'].includes(sort)) throw new FacetError('INVALID_ARGUMENT', `--sort must be count, mean, max or feature (got '${values.sort}').`);
      const datasetId = (reference: string | undefined): number | undefined => (reference === undefined ? undefined : resolveIndexDataset(store, reference).id);
      const scope = { dataset: datasetId(values.dataset), activeIn: datasetId(values['active-in']), absentIn: datasetId(values['absent-in']) };
      const page = queryFeatureTable(store, {
        spaceId: pickSpace(),
        sort,
        ...(values.asc ? { descending: false } : {}),
        limit: integerOption(values.limit, 'limit', 1)!,
        offset: integerOption(values.offset, 'offset')!,
        ...Object.fromEntries(Object.entries(scope).filter(([, value]) => value !== undefined)),
      });
      if (ctx.json) {
        ctx.printJson(page);
        return 0;
      }
      ctx.out(`${page.total} active features over ${page.samples} indexed samples (rows ${page.offset + 1}–${page.offset + page.rows.length}):`);
      ctx.out(formatTable(['feature', 'samples', 'mean', 'max'], page.rows.map((row) => [row.feature, row.count, row.mean.toFixed(4), row.max.toFixed(4)])));
      return 0;
    }
    case 'show': {
      const feature = integerOption(values.feature, 'feature');
      if (feature === undefined) throw new FacetError('INVALID_ARGUMENT', `--feature is required.\n\n${help}`);
      const detail = getFeatureDetail(store, pickSpace(), feature, { bins: integerOption(values.bins, 'bins', 1)!, spans: integerOption(values.spans, 'spans', 1)! });
      if (ctx.json) {
        ctx.printJson(detail);
        return 0;
      }
      ctx.out(`Feature ${detail.feature}: active in ${detail.count} of ${detail.samples} samples, mean ${detail.mean.toFixed(4)}, max ${detail.max.toFixed(4)}`);
      const widest = Math.max(1, ...detail.histogram.counts);
      ctx.out('\nHistogram of g (samples per bin):');
      detail.histogram.counts.forEach((count, b) => ctx.out(`  (${detail.histogram.edges[b]!.toFixed(3)}, ${detail.histogram.edges[b + 1]!.toFixed(3)}]  ${'#'.repeat(Math.round((count / widest) * 40)).padEnd(40)} ${count}`));
      ctx.out('\nTop spans:');
      ctx.out(formatTable(['g', 'dataset', 'sample', 'span (…text[peak])'], detail.spans.map((span) => [span.value.toFixed(4), span.dataset ?? `#${span.datasetId}`, span.ordinal, `${span.prefixText}[${span.peakText}]`.replace(/\s+/g, ' ')])));
      return 0;
    }
    default:
      throw new FacetError('INVALID_ARGUMENT', `Unknown subcommand 'features ${sub}'.\n\n${help}`);
  }
}
