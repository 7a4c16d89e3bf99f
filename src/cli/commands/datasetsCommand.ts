import { resolve as resolvePath } from 'node:path';
import { parseArgs } from 'node:util';
import { exportFormats, type ExportFormat } from '../../shared/synthesisTypes.ts';
import { FacetError } from '../../shared/FacetError.ts';
import { datasetFormats, datasetRoles, type DatasetFormat, type DatasetRole, type DatasetSummary } from '../../shared/datasetTypes.ts';
import type { FacetEngine } from '../../engine/FacetEngine.ts';
import type { CliContext } from '../CliContext.ts';
import { formatTable } from '../formatTable.ts';
import { formatCount } from '../../shared/formatNumber.ts';
import { openCliEngine } from '../openCliEngine.ts';
import { followJob } from '../runEngineJob.ts';

const help = `Usage:
  facet datasets import <file> [--name N] [--format auto|${datasetFormats.join('|')}] [--role ${datasetRoles.join('|')}] [--skip-invalid]
  facet datasets list
  facet datasets show <name|id> [--limit N] [--offset N]
  facet datasets remove <name|id>
  facet datasets role <name|id> <seed|anchor|eval>   change what the dataset is for
  facet datasets search <name|id> <text> [--limit N] [--offset N]
                                            samples containing the text (case-insensitive)
  facet datasets export <name|id> --out DIR [--format ${exportFormats.join('|')}] [--parquet]

Files: JSON Lines, JSON arrays, CSV with a header row, plain text lines; any of them gzipped (.gz).
Import is all or nothing: an invalid row stops it (naming file, line and field) unless --skip-invalid.
Limits (environment): FACET_MAX_RECORD_MB (longest record, default 64), FACET_MAX_GZIP_RATIO
(largest .gz expansion, default 200×), FACET_MAX_JSON_DEPTH (deepest JSON nesting, default 256).`;

function resolveDataset(engine: FacetEngine, ref: string | undefined): Promise<DatasetSummary> {
  if (ref === undefined) throw new FacetError('INVALID_ARGUMENT', `Name the dataset.\n\n${help}`);
  return engine.call('datasets.list', {}).then((all) => {
    const found = all.find((dataset) => dataset.name === ref) ?? (/^\d+$/.test(ref) ? all.find((dataset) => dataset.id === Number(ref)) : undefined);
    if (found === undefined) throw new FacetError('NOT_FOUND', `No dataset named '${ref}'. See 'facet datasets list'.`, { ref });
    return found;
  });
}

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h') {
    ctx.out(help);
    return sub === undefined ? 2 : 0;
  }
  const engine = openCliEngine(ctx);
  try {
    switch (sub) {
      case 'import': {
        const { values, positionals } = parseArgs({
          args: rest,
          allowPositionals: true,
          options: { name: { type: 'string' }, format: { type: 'string', default: 'auto' }, role: { type: 'string', default: 'seed' }, 'skip-invalid': { type: 'boolean', default: false } },
        });
        const file = positionals[0];
        if (file === undefined) throw new FacetError('INVALID_ARGUMENT', `Name the file to import.\n\n${help}`);
        if (positionals.length > 1) throw new FacetError('INVALID_ARGUMENT', `Import one file at a time (got ${positionals.length}: ${positionals.join(', ')}).`);
        if (values.format !== 'auto' && !datasetFormats.includes(values.format as DatasetFormat)) {
          throw new FacetError('INVALID_ARGUMENT', `Unknown --format '${values.format}'. Use auto, ${datasetFormats.join(', ')}.`);
        }
        if (!datasetRoles.includes(values.role as DatasetRole)) throw new FacetError('INVALID_ARGUMENT', `Unknown --role '${values.role}'. Use ${datasetRoles.join(', ')}.`);
        const job = await engine.call('datasets.import', {
          path: file,
          ...(values.name !== undefined ? { name: values.name } : {}),
          format: values.format as DatasetFormat | 'auto',
          role: values.role as DatasetRole,
          skipInvalid: values['skip-invalid'],
        });
        const final = await followJob(engine, ctx, job, `Importing ${file}`);
        const dataset = final.result as DatasetSummary;
        if (!ctx.json) for (const warning of dataset.warnings ?? []) ctx.err(`Warning: ${warning}`);
        if (ctx.json) ctx.printJson(dataset);
        else {
          ctx.out(`Imported '${dataset.name}' (${dataset.format}, role ${dataset.role}): ${formatCount(dataset.sampleCount)} samples, ${formatCount(dataset.duplicateCount)} duplicates skipped${dataset.invalidCount > 0 ? `, ${formatCount(dataset.invalidCount)} invalid rows skipped` : ''}.`);
        }
        return 0;
      }
      case 'list': {
        parseArgs({ args: rest, allowPositionals: false, options: {} }); // unknown flags are refused, not ignored
        const all = await engine.call('datasets.list', {});
        if (ctx.json) ctx.printJson(all);
        else if (all.length === 0) ctx.out("No datasets yet. Import one with 'facet datasets import <file>'.");
        else ctx.out(formatTable(['id', 'name', 'role', 'format', 'samples', 'duplicates', 'state'], all.map((d) => [d.id, d.name, d.role, d.format, formatCount(d.sampleCount), formatCount(d.duplicateCount), d.state])));
        return 0;
      }
      case 'show': {
        const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { limit: { type: 'string', default: '5' }, offset: { type: 'string', default: '0' } } });
        if (positionals.length > 1) throw new FacetError('INVALID_ARGUMENT', `Name one dataset (got ${positionals.length}).\n\n${help}`);
        const dataset = await resolveDataset(engine, positionals[0]);
        const page = await engine.call('datasets.samples', { id: dataset.id, offset: Number(values.offset), limit: Math.max(1, Math.min(1000, Number(values.limit))) });
        if (ctx.json) ctx.printJson({ dataset, samples: page.samples });
        else {
          ctx.out(`${dataset.name}: ${formatCount(dataset.sampleCount)} samples, format ${dataset.format}, role ${dataset.role}, from ${dataset.sourcePath}`);
          for (const sample of page.samples) {
            ctx.out(`\n#${sample.ordinal} (line ${sample.sourceLine})${sample.label !== undefined ? ` label=${sample.label}` : ''}`);
            for (const turn of sample.turns) ctx.out(`  ${turn.role}: ${turn.content.length > 200 ? `${turn.content.slice(0, 200)}…` : turn.content}`);
            if (sample.pair?.kind === 'ab') ctx.out(`  matching: ${sample.pair.matching}  not matching: ${sample.pair.notMatching}`);
            if (sample.pair?.kind === 'preference') {
              ctx.out(`  chosen: ${sample.pair.chosen.map((t) => t.content).join(' / ').slice(0, 200)}`);
              ctx.out(`  rejected: ${sample.pair.rejected.map((t) => t.content).join(' / ').slice(0, 200)}`);
            }
          }
        }
        return 0;
      }
      case 'export': {
        const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { out: { type: 'string' }, format: { type: 'string', default: 'auto' }, parquet: { type: 'boolean', default: false } } });
        if (positionals.length > 1) throw new FacetError('INVALID_ARGUMENT', `Name one dataset to export (got ${positionals.length}).\n\n${help}`);
        if (values.out === undefined) throw new FacetError('INVALID_ARGUMENT', `--out DIR is required: the folder that receives train.jsonl and README.md.\n\n${help}`);
        if (!(exportFormats as readonly string[]).includes(values.format)) throw new FacetError('INVALID_ARGUMENT', `Unknown --format '${values.format}'. Use ${exportFormats.join(', ')}.`);
        const dataset = await resolveDataset(engine, positionals[0]);
        const result = await engine.call('datasets.export', { id: dataset.id, format: values.format as ExportFormat, out: resolvePath(values.out), parquet: values.parquet });
        if (ctx.json) ctx.printJson(result);
        else ctx.out(`Exported '${result.dataset}' (${result.samples} samples, ${result.format}) to ${result.files.data}${result.files.parquet ? ` and ${result.files.parquet}` : ''}, card ${result.files.card}.`);
        return 0;
      }
      case 'role': {
        const { positionals } = parseArgs({ args: rest, allowPositionals: true, options: {} });
        if (positionals.length !== 2) throw new FacetError('INVALID_ARGUMENT', `Name the dataset and its new role (got ${positionals.length} arguments).\n\n${help}`);
        const role = positionals[1] as string;
        if (!datasetRoles.includes(role as DatasetRole)) throw new FacetError('INVALID_ARGUMENT', `Unknown role '${role}'. Use ${datasetRoles.filter((r) => r !== 'synthetic').join(', ')}.`);
        const dataset = await resolveDataset(engine, positionals[0]);
        const changed = await engine.call('datasets.setRole', { id: dataset.id, role: role as DatasetRole });
        if (ctx.json) ctx.printJson(changed);
        else ctx.out(dataset.role === changed.role && dataset.role !== role ? `'${changed.name}' stays ${changed.role}.` : `'${changed.name}' is now ${changed.role === 'anchor' || changed.role === 'eval' ? `an ${changed.role}` : `a ${changed.role}`} set (was ${dataset.role}).`);
        return 0;
      }
      case 'search': {
        const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { limit: { type: 'string', default: '20' }, offset: { type: 'string', default: '0' } } });
        if (positionals.length !== 2) throw new FacetError('INVALID_ARGUMENT', `Name the dataset and the text to find (quote it if it has spaces).\n\n${help}`);
        const limit = Number(values.limit);
        const offset = Number(values.offset);
        if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new FacetError('INVALID_ARGUMENT', `--limit must be a whole number from 1 to 1000 (got '${values.limit}').`);
        if (!Number.isInteger(offset) || offset < 0) throw new FacetError('INVALID_ARGUMENT', `--offset must be a whole number ≥ 0 (got '${values.offset}').`);
        const dataset = await resolveDataset(engine, positionals[0]);
        const found = await engine.call('datasets.search', { id: dataset.id, query: positionals[1] as string, offset, limit });
        if (ctx.json) ctx.printJson({ dataset: dataset.name, ...found });
        else {
          ctx.out(`${formatCount(found.total)} of ${formatCount(dataset.sampleCount)} samples of '${dataset.name}' contain '${positionals[1]}'${found.total > found.samples.length ? ` (showing ${formatCount(offset + 1)}–${formatCount(offset + found.samples.length)})` : ''}.`);
          for (const sample of found.samples) {
            const text = sample.turns.map((turn) => turn.content).join(' / ').replace(/\s+/g, ' ');
            ctx.out(`  #${sample.ordinal} (line ${sample.sourceLine}): ${text.length > 160 ? `${text.slice(0, 160)}…` : text}`);
          }
        }
        return 0;
      }
      case 'remove': {
        const { positionals } = parseArgs({ args: rest, allowPositionals: true, options: {} });
        if (positionals.length > 1) throw new FacetError('INVALID_ARGUMENT', `Name one dataset to remove (got ${positionals.length}).\n\n${help}`);
        const dataset = await resolveDataset(engine, positionals[0]);
        await engine.call('datasets.remove', { id: dataset.id });
        if (ctx.json) ctx.printJson({ removed: dataset.name });
        else ctx.out(`Removed '${dataset.name}'.`);
        return 0;
      }
      default:
        throw new FacetError('INVALID_ARGUMENT', `Unknown subcommand 'datasets ${sub}'.\n\n${help}`);
    }
  } finally {
    await engine.close();
  }
}
