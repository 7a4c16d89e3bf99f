import { parseArgs } from 'node:util';
import { FacetError } from '../../shared/FacetError.ts';
import type { JobSnapshot } from '../../shared/jobTypes.ts';
import type { CliContext } from '../CliContext.ts';
import { formatTable } from '../formatTable.ts';
import { openCliEngine } from '../openCliEngine.ts';
import { followJob } from '../runEngineJob.ts';

const help = `Usage:
  facet jobs list
  facet jobs show <id>
  facet jobs cancel <id>
  facet jobs resume [<id>]     resume jobs interrupted by a crash or kill (all of them without an id)`;

/** The state column: interrupted jobs and jobs failed by repeated crashes say what to do. */
function jobStateText(job: JobSnapshot): string {
  if (job.interrupted) return `${job.state} (interrupted: facet jobs resume)`;
  if (job.state === 'failed' && job.error?.code === 'JOB_CRASHED') {
    return `failed (its process died ${String(job.error.details?.crashes ?? 2)} times running it; retry: facet jobs resume ${job.id})`;
  }
  return job.state;
}

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  const [sub] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h') {
    ctx.out(help);
    return sub === undefined ? 2 : 0;
  }
  // unknown flags and extra arguments are refused, not ignored
  const { positionals } = parseArgs({ args: argv.slice(1), allowPositionals: true, options: {} });
  const id = positionals[0];
  const idArguments = sub === 'list' ? 0 : 1;
  if (positionals.length > idArguments) throw new FacetError('INVALID_ARGUMENT', `'facet jobs ${sub}' takes ${idArguments === 0 ? 'no arguments' : 'one job id'} (got ${positionals.join(' ')}).\n\n${help}`);
  const engine = openCliEngine(ctx);
  try {
    switch (sub) {
      case 'list': {
        const jobs = await engine.call('jobs.list', {});
        if (ctx.json) ctx.printJson(jobs);
        else if (jobs.length === 0) ctx.out('No jobs yet.');
        else ctx.out(formatTable(['id', 'kind', 'state', 'progress', 'title'], jobs.map((j) => [j.id, j.kind, jobStateText(j), `${j.done}${j.total !== null ? `/${j.total}` : ''}`, j.title])));
        return 0;
      }
      case 'show': {
        if (id === undefined) throw new FacetError('INVALID_ARGUMENT', help);
        const job = await engine.call('jobs.get', { id });
        if (ctx.json) ctx.printJson(job);
        else ctx.out(JSON.stringify(job, null, 2));
        return 0;
      }
      case 'cancel': {
        if (id === undefined) throw new FacetError('INVALID_ARGUMENT', help);
        const owner = engine.jobs.ownerElsewhere(id);
        let job = await engine.call('jobs.cancel', { id });
        if (owner !== null) {
          // The owning process polls the request; wait a little for it to stop.
          for (let waited = 0; waited < 10_000 && (job.state === 'running' || job.state === 'queued'); waited += 250) {
            await new Promise((resolve) => setTimeout(resolve, 250));
            job = await engine.call('jobs.get', { id });
          }
        }
        if (ctx.json) ctx.printJson(job);
        else if (job.state === 'running' || job.state === 'queued') ctx.out(`Cancellation requested; job ${id} runs in process ${owner} and stops at its next check.`);
        else ctx.out(`Job ${id} is ${job.state}.`);
        return 0;
      }
      case 'resume': {
        const targets = id !== undefined ? [id] : engine.jobs.interrupted().map((job) => job.id);
        if (targets.length === 0) {
          if (ctx.json) ctx.printJson([]);
          else ctx.out('No interrupted jobs.');
          return 0;
        }
        const finals = [];
        for (const target of targets) {
          const job = await engine.call('jobs.resume', { id: target });
          finals.push(await followJob(engine, ctx, job, `Resuming ${job.title}`));
        }
        if (ctx.json) ctx.printJson(finals);
        else for (const job of finals) ctx.out(`${job.title}: ${job.state}`);
        return 0;
      }
      default:
        throw new FacetError('INVALID_ARGUMENT', `Unknown subcommand 'jobs ${sub}'.\n\n${help}`);
    }
  } finally {
    await engine.close();
  }
}
