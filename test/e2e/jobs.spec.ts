import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runFacet, startFacet } from '../support/runFacet.ts';
import { stopOutsideTransaction } from '../support/stopOutsideTransaction.ts';
import { sharedDataDir } from '../support/tempHome.ts';
import { expect, test } from './serveFixture.ts';

const shots = process.env['FACET_SCREENSHOTS'];


test('a finished CLI job shows kind, start and duration, links to its result, and is dismissed for good', async ({ page, appUrl, home }) => {
  // a job started from the CLI in the same workspace
  const imported = await runFacet(['datasets', 'import', join(sharedDataDir, 'ifeval', 'input_data.jsonl'), '--name', 'ifeval'], home);
  expect(imported.code, imported.stderr).toBe(0);
  await page.goto(appUrl);
  await page.getByTestId('nav-Jobs').click();
  const job = page.getByTestId('job').first();
  await expect(job).toHaveAttribute('data-state', 'done');
  await expect(job.getByTestId('job-when')).toHaveText(/^dataset\.import · started .+ · took [\d.,]+ (ms|s)$/);
  await expect(job.getByTestId('job-done')).toHaveText('541 / 541 records');
  // the result link is a real URL and opens the dataset
  const link = job.getByTestId('job-result');
  await expect(link).toHaveText('Open dataset ifeval');
  await expect(link).toHaveAttribute('href', /^#\/Datasets\?dataset=\d+$/);
  await link.click();
  await expect(page).toHaveURL(/#\/Datasets\?dataset=\d+$/);
  await page.goBack();
  await expect(page).toHaveURL(/#\/Jobs/);
  // dismissed in one shell, dismissed in all: it stays hidden after a reload and in `facet jobs list`
  await page.getByTestId('job').first().getByTestId('job-dismiss').click();
  await expect(page.getByTestId('job')).toHaveCount(0);
  await page.reload();
  await expect(page.getByTestId('jobs-show-all')).toHaveText('Show dismissed (1)');
  await expect(page.getByTestId('job')).toHaveCount(0);
  expect((await runFacet(['jobs', 'list'], home)).stdout).toMatch(/No jobs to show \(1 dismissed/);
  await page.getByTestId('jobs-show-all').click();
  await expect(page.getByTestId('job')).toHaveCount(1);
  await expect(page.getByTestId('job-state')).toHaveText('done · dismissed');
  await expect(page.getByTestId('job-dismiss')).toHaveCount(0);
  // a job has its own URL: it opens the page at that job, highlighted, even when dismissed
  const id = await page.getByTestId('job').first().getAttribute('data-job-id');
  await page.goto(`${appUrl}#/Jobs?job=${id}`);
  await expect(page.locator(`[data-job-id="${id}"]`)).toHaveClass(/job-selected/);
});

test('a CLI job appears live, shows cancelling until it stops, resumes in serve; a failed job retries once its file is fixed', async ({ page, appUrl, home }) => {
  await page.goto(appUrl);
  await page.getByTestId('nav-Jobs').click();
  await expect(page.getByText('No jobs to show.')).toBeVisible();

  // 1. started from the CLI while the page is open: it appears live and runs
  const big = join(home, 'big.jsonl');
  writeFileSync(big, Array.from({ length: 200_000 }, (_, i) => JSON.stringify({ prompt: `Record ${i}: ${'lorem ipsum '.repeat(1 + (i % 4))}`, response: `answer ${i}` })).join('\n'));
  const cli = startFacet(['datasets', 'import', big, '--name', 'big'], home);
  const exited = new Promise<number | null>((resolve) => cli.once('close', resolve));
  const job = page.getByTestId('job').first();
  await expect(job).toHaveAttribute('data-status', 'running', { timeout: 20_000 });
  await expect(job.getByTestId('job-when')).toHaveText(/^dataset\.import · started .+ · running for /);
  // 2. the CLI process holds still (stopped), so its cancel stays a request: "cancelling…", Cancel disabled
  await stopOutsideTransaction(cli.pid!, home);
  await job.getByTestId('job-cancel').click();
  await expect(job).toHaveAttribute('data-status', 'cancelling');
  await expect(job.getByTestId('job-state')).toHaveText('cancelling…');
  await expect(job.getByTestId('job-cancel')).toBeDisabled();
  await expect(job.getByTestId('job-cancel')).toHaveText('Cancelling…');
  if (shots !== undefined) await page.screenshot({ path: join(shots, 'jobs-cancelling.png'), fullPage: true });
  process.kill(cli.pid!, 'SIGCONT');
  expect(await exited).toBe(130);
  await expect(job).toHaveAttribute('data-status', 'cancelled');
  await expect(job.getByTestId('job-cancel')).toHaveCount(0);
  // 3. resumed from the page: serve runs it again with the same parameters, to done, with a result link
  await job.getByTestId('job-resume').click();
  await expect(job).toHaveAttribute('data-status', 'done', { timeout: 60_000 });
  await expect(job.getByTestId('job-done')).toHaveText('200,000 / 200,000 records');
  await expect(job.getByTestId('job-result')).toHaveText('Open dataset big');

  // 4. a job that failed on a bad line: Retry once the file is fixed
  const bad = join(home, 'notes.jsonl');
  writeFileSync(bad, ['{"prompt":"a","response":"b"}', '{"bogus":1}', '{"prompt":"c","response":"d"}'].join('\n'));
  const failedRun = await runFacet(['datasets', 'import', bad, '--name', 'notes'], home);
  expect(failedRun.code).toBe(1);
  const failed = page.locator('[data-testid="job"][data-state="failed"]');
  await expect(failed.getByTestId('job-error')).toContainText('DATASET_LINE_INVALID');
  // told in the GUI's words: the CLI's flag advice is left out (Retry and Dismiss are the buttons)
  await expect(failed.getByTestId('job-error')).not.toContainText('--skip-invalid');
  await expect(failed.getByTestId('job-resume')).toHaveText('Retry');
  await expect(failed.getByTestId('job-dismiss')).toBeVisible();
  for (const width of [1440, 1024]) {
    await page.setViewportSize({ width, height: 800 });
    if (shots !== undefined) await page.screenshot({ path: join(shots, `jobs-${width}.png`), fullPage: true });
  }
  if (shots !== undefined) {
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.screenshot({ path: join(shots, 'jobs-1024-dark.png'), fullPage: true });
    await page.emulateMedia({ colorScheme: 'light' });
  }
  writeFileSync(bad, ['{"prompt":"a","response":"b"}', '{"prompt":"c","response":"d"}'].join('\n'));
  const retried = page.locator(`[data-job-id="${await failed.getAttribute('data-job-id')}"]`);
  await failed.getByTestId('job-resume').click();
  await expect(retried).toHaveAttribute('data-status', 'done');
  await expect(retried.getByTestId('job-error')).toHaveCount(0);
  await expect(retried.getByTestId('job-result')).toHaveText('Open dataset notes');
  // 5. dismissing the finished ones leaves nothing pinned
  await page.getByTestId('jobs-clear').click();
  await expect(page.getByTestId('job')).toHaveCount(0);
});
