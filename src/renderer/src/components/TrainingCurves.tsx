import { useEffect, useRef, useState } from 'react';
import { CartesianGrid, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { formatCount, formatDecimal, formatDuration, formatRate } from '../../../shared/formatNumber.ts';
import type { JobSnapshot } from '../../../shared/jobTypes.ts';
import type { JobMetricPoint } from '../../../shared/registryTypes.ts';
import { api } from '../api/connection.ts';
import { chartTheme, seriesColor } from '../charts/chartTheme.ts';

interface CurveSpec {
  key: string;
  title: string;
  axis: string;
  digits: number;
}

const curves: CurveSpec[] = [
  { key: 'normalisedMse', title: 'Normalised MSE ‖x − x̂‖² / ‖x‖² (loss, per batch)', axis: 'normalised MSE', digits: 2 },
  { key: 'l0', title: 'L0: features active per token', axis: 'L0', digits: 1 },
  { key: 'deadFeatures', title: 'Dead features (fired on no recent token)', axis: 'dead features', digits: 0 },
];

/**
 * Live curves of an SAE training job from its metric series (`jobs.metrics`): normalised MSE, L0
 * and dead features against tokens trained, with the latest values, step, epoch, tokens of the
 * total and time left in words. New points are fetched as the job reports progress.
 */
export function TrainingCurves({ job }: { job: JobSnapshot }) {
  const [points, setPoints] = useState<JobMetricPoint[]>([]);
  const lastSeq = useRef(0);
  const busy = useRef(false);

  useEffect(() => {
    lastSeq.current = 0;
    setPoints([]);
  }, [job.id]);

  const again = useRef(false);
  useEffect(() => {
    const fetchMore = (): void => {
      if (busy.current) {
        again.current = true; // one more fetch once this one lands, so the last points are not missed
        return;
      }
      busy.current = true;
      again.current = false;
      api
        .call('jobs.metrics', { id: job.id, afterSeq: lastSeq.current })
        .then((more) => {
          if (more.length === 0) return;
          lastSeq.current = more.at(-1)?.seq ?? lastSeq.current;
          setPoints((old) => [...old, ...more]);
        })
        .catch(() => undefined)
        .finally(() => {
          busy.current = false;
          if (again.current) fetchMore();
        });
    };
    fetchMore();
  }, [job.id, job.done, job.state]);

  const last = points.at(-1)?.values;
  const validation = heldOut(job);
  const data = points.map((point) => ({ tokens: point.done, ...point.values }));
  const active = job.state === 'running' || job.state === 'queued';
  return (
    <div className="training" data-testid="training-curves">
      <dl className="training-figures" data-testid="training-figures">
        <div>
          <dt>tokens</dt>
          <dd>
            {formatCount(job.done)}
            {job.total !== null ? ` of ${formatCount(job.total)}` : ' (total known after the first epoch)'}
          </dd>
        </div>
        {last !== undefined ? (
          <>
            <div>
              <dt>step · epoch</dt>
              <dd>
                {formatCount(last['step'])} · {formatCount((last['epoch'] ?? 0) + 1)} of {formatCount(last['epochs'])}
              </dd>
            </div>
            <div>
              <dt>speed</dt>
              <dd>{formatRate(job.rate ?? last['tokensPerSecond'], 'tokens')}</dd>
            </div>
            {active ? (
              <div>
                <dt>time left</dt>
                <dd>{job.etaSeconds !== null ? formatDuration(job.etaSeconds * 1000) : 'after the first epoch'}</dd>
              </div>
            ) : null}
            <div>
              <dt>normalised MSE</dt>
              <dd data-testid="training-mse">{formatDecimal(last['normalisedMse'], 4)}</dd>
            </div>
            <div>
              <dt>L0</dt>
              <dd>
                {formatDecimal(last['l0'], 1)} <span className="muted">(K {formatCount(last['k'])})</span>
              </dd>
            </div>
            <div>
              <dt>dead features</dt>
              <dd title={`features that fired on none of the last ${formatCount(last['deadWindowTokens'])} tokens`}>
                {formatCount(last['deadFeatures'])} of {formatCount(last['features'])}
              </dd>
            </div>
          </>
        ) : null}
      </dl>
      {validation !== null ? (
        <p className="help" data-testid="training-validation">
          Held out ({formatCount(validation.tokens)} tokens, last epoch): normalised MSE {formatDecimal(validation.normalisedMse, 4)}, fraction of variance unexplained {formatDecimal(validation.fractionOfVarianceUnexplained, 4)}, L0{' '}
          {formatDecimal(validation.l0, 1)}.
        </p>
      ) : null}
      {data.length > 1 ? (
        <div className="charts-row">
          {curves.map((curve, index) => (
            <figure className="chart" key={curve.key} data-testid={`training-chart-${curve.key}`}>
              <figcaption className="chart-title">{curve.title}</figcaption>
              <ResponsiveContainer width="100%" height={170}>
                <LineChart data={data} margin={{ top: 4, right: 10, bottom: 18, left: 4 }}>
                  <CartesianGrid stroke={chartTheme.grid} vertical={false} />
                  <XAxis dataKey="tokens" type="number" domain={[0, 'auto']} allowDecimals={false} tick={chartTheme.tick} tickFormatter={(value: number) => formatCount(value)} label={{ value: 'tokens trained', position: 'insideBottom', offset: -10, ...chartTheme.tick }} />
                  <YAxis tick={chartTheme.tick} width={44} domain={[0, 'auto']} tickFormatter={(value: number) => formatDecimal(value, curve.digits)} />
                  <Tooltip {...chartTheme.tooltip} labelFormatter={(value) => `${formatCount(Number(value))} tokens`} formatter={(value) => formatDecimal(Number(value), curve.digits)} />
                  <Line type="linear" dataKey={curve.key} name={curve.axis} stroke={seriesColor(index)} dot={false} strokeWidth={1.5} isAnimationActive={false} />
                </LineChart>
              </ResponsiveContainer>
            </figure>
          ))}
        </div>
      ) : (
        <p className="help">{active ? 'Curves appear after the first training steps (the model reads the dataset first).' : `No curves: the run took ${formatCount(data.length)} step${data.length === 1 ? '' : 's'} (a smaller batch gives more).`}</p>
      )}
    </div>
  );
}

interface HeldOut {
  tokens: number;
  normalisedMse: number;
  fractionOfVarianceUnexplained: number;
  l0: number;
}

/** The last epoch's validation of a finished training job (its result's `history`), if it had held-out rows. */
function heldOut(job: JobSnapshot): HeldOut | null {
  if (job.state !== 'done' || typeof job.result !== 'object' || job.result === null) return null;
  const history = (job.result as { history?: { validation?: HeldOut | null }[] }).history;
  const validation = Array.isArray(history) ? history.at(-1)?.validation : undefined;
  return validation !== undefined && validation !== null && typeof validation.normalisedMse === 'number' ? validation : null;
}
