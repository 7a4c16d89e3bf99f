import { join } from 'node:path';
import { runFacet } from '../support/runFacet.ts';
import { sharedDataDir } from '../support/tempHome.ts';
import { expect, test } from './serveFixture.ts';

test('the Jobs page shows each job with its kind, start and duration, and clears finished ones from view', async ({ page, appUrl, home }) => {
  // a job started from the CLI in the same workspace
  const imported = await runFacet(['datasets', 'import', join(sharedDataDir, 'ifeval', 'input_data.jsonl'), '--name', 'ifeval'], home);
  expect(imported.code, imported.stderr).toBe(0);
  await page.goto(appUrl);
  await page.getByTestId('nav-Jobs').click();
  const job = page.getByTestId('job').first();
  await expect(job).toHaveAttribute('data-state', 'done');
  await expect(job.getByTestId('job-when')).toHaveText(/^dataset\.import · started .+ · took \d+s$/);
  await page.getByTestId('jobs-clear').click();
  await expect(page.getByTestId('job')).toHaveCount(0);
  await page.getByTestId('jobs-show-all').click();
  await expect(page.getByTestId('job')).toHaveCount(1);
});
