import { parseArgs } from 'node:util';
import { FacetError } from '../../shared/FacetError.ts';
import { formatCount, formatDuration } from '../../shared/formatNumber.ts';
import type { JobSnapshot } from '../../shared/jobTypes.ts';
import { jobDurationMs, jobStatus, resumeKind } from '../../shared/jobTypes.ts';
import type { CliContext } from '../CliContext.ts';
import { formatTable } from '../formatTable.ts';
import { openCliEngine } from '../openCliEngine.ts';
import { followJob } from '../runEngineJob.ts';

const help = `Usage:
  facet jobs list [--all]      jobs of this workspace, whichever shell started them, newest first
                               (--all also lists dismissed jobs)
  facet jobs show <id>
  facet jobs cancel <id>       a job of another process is asked to stop: 'cancelling' until it does
  facet jobs resume [<id>]     continue a job interrupted by a crash or kill (all of them without an
                               id) or one failed by repeated crashes, from its checkpoint; run a
                               cancelled or failed job again (same parameters)
  facet jobs dismiss <id>      hide a done, failed or cancelled job from 'jobs list' and the Jobs page
  facet jobs dismiss --finished   dismiss every finished job`;

/** The status column: cancelling, interrupted and crash-failed jobs say what to do; dismissed ones say so. */
function jobStatusText(job: JobSnapshot): string {
  const status = jobStatus(job);
  let text: string = status;
  if (status === 'interrupted') text = `interrupted (${job.state}; resume: facet jobs resume ${job.id})`;
  else if (status === 'cancelling') text = 'cancelling…';
  else if (job.state === 'failed' && job.error?.code === 'JOB_CRASHED') text = `failed (its process died ${String(job.error.details?.crashes ?? 2)} times running it; retry: facet jobs resume ${job.id})`;
  else if (job.state === 'failed' && job.error !== null) text = `failed [${job.error.code}]`;
  return job.dismissedAt !== null ? `${text}, dismissed` : text;
}

function startedText(iso: string): string {
  const date = new Date(iso);
  const pad = (value: number): string => String(value).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

function progressText(job: JobSnapshot): string {
  return `${formatCount(job.done)}${job.total !== null ? `/${formatCount(job.total)}` : ''}`;
}

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  const [sub] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h') {
    ctx.out(help);
    return sub === undefined ? 2 : 0;
  }
  // unknown flags and extra arguments are refused, not ignored
  const { positionals, values } = parseArgs({ args: argv.slice(1), allowPositionals: true, options: { all: { type: 'boolean', default: false }, finished: { type: 'boolean', default: false } } });
  if (values.all && sub !== 'list') throw new FacetError('INVALID_ARGUMENT', `--all belongs to 'facet jobs list'.\n\n${help}`);
  if (values.finished && sub !== 'dismiss') throw new FacetError('INVALID_ARGUMENT', `--finished belongs to 'facet jobs dismiss'.\n\n${help}`);
  const id = positionals[0];
  const idArguments = sub === 'list' ? 0 : 1;
  if (positionals.length > idArguments) throw new FacetError('INVALID_ARGUMENT', `'facet jobs ${sub}' takes ${idArguments === 0 ? 'no arguments' : 'one job id'} (got ${positionals.join(' ')}).\n\n${help}`);
  const engine = openCliEngine(ctx);
  try {
    switch (sub) {
      case 'list': {
        const all = await engine.call('jobs.list', {});
        const jobs = values.all ? all : all.filter((job) => job.dismissedAt === null);
        const hidden = all.length - jobs.length;
        if (ctx.json) ctx.printJson(jobs);
        else if (jobs.length === 0) ctx.out(hidden > 0 ? `No jobs to show (${hidden} dismissed: facet jobs list --all).` : 'No jobs yet.');
        else {
          const now = Date.now();
          ctx.out(formatTable(['id', 'kind', 'status', 'started', 'duration', 'progress', 'title'], jobs.map((j) => [j.id, j.kind, jobStatusText(j), startedText(j.createdAt), formatDuration(jobDurationMs(j, now)), progressText(j), j.title])));
          if (hidden > 0) ctx.out(`(${hidden} dismissed not shown: facet jobs list --all)`);
        }
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
        else if (job.state === 'running' || job.state === 'queued') ctx.out(`Job ${id} is cancelling: it runs in process ${owner} and stops at its next check.`);
        else ctx.out(`Job ${id} is ${job.state}.`);
        return 0;
      }
      case 'dismiss': {
        if ((id === undefined) === !values.finished) throw new FacetError('INVALID_ARGUMENT', `'facet jobs dismiss' takes one job id or --finished.\n\n${help}`);
        const dismissed = await engine.call('jobs.dismiss', id !== undefined ? { id } : {});
        if (ctx.json) ctx.printJson(dismissed);
        else if (id !== undefined) ctx.out(`Dismissed job ${id} (${dismissed[0]?.title ?? ''}); 'facet jobs list --all' still lists it.`);
        else ctx.out(`Dismissed ${dismissed.length} finished job${dismissed.length === 1 ? '' : 's'}.`);
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
          const before = await engine.call('jobs.get', { id: target });
          const how = resumeKind(before);
          const job = await engine.call('jobs.resume', { id: target });
          finals.push(await followJob(engine, ctx, job, `${how === 'restart' ? 'Running again' : 'Resuming'}: ${job.title}`));
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
