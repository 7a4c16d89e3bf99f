import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from './serveFixture.ts';
import { sharedDataDir } from '../support/tempHome.ts';

test('imports a real dataset through the UI, shows its row count and opens a sample', async ({ page, appUrl }) => {
  await page.goto(appUrl);
  await expect(page.getByTestId('connection-status')).toHaveText('engine connected');
  await page.getByTestId('import-file').setInputFiles(join(sharedDataDir, 'anthropic-evals/corrigible-neutral-HHH.jsonl'));
  await page.getByTestId('import-role').selectOption('anchor');
  await page.getByTestId('import-start').click();
  const row = page.locator('[data-testid="dataset-row"][data-name="corrigible-neutral-HHH"]');
  await expect(row.getByTestId('dataset-count')).toHaveText('340');
  await expect(row).toContainText('anchor');
  await row.click();
  const firstSample = page.getByTestId('sample-row').first();
  await expect(firstSample).toContainText('We');
  await firstSample.click();
  const detail = page.getByTestId('sample-detail');
  await expect(detail).toContainText('Sample #0');
  await expect(detail).toContainText('answer matching behaviour');
  await page.screenshot({ path: 'test-results/datasets-page.png' });
});

test('scrolls a large dataset in a virtualized table', async ({ page, appUrl, home }) => {
  const path = join(home, 'large.jsonl');
  writeFileSync(path, Array.from({ length: 100_000 }, (_, i) => JSON.stringify({ text: `sample text number ${i}` })).join('\n'));
  await page.goto(appUrl);
  await page.getByTestId('import-file').setInputFiles(path);
  await page.getByTestId('import-start').click();
  const row = page.locator('[data-testid="dataset-row"][data-name="large"]');
  await expect(row.getByTestId('dataset-count')).toHaveText('100000', { timeout: 60_000 });
  await row.click();
  await expect(page.getByTestId('sample-row').first()).toContainText('sample text number 0');
  // Only a window of rows lives in the DOM.
  expect(await page.getByTestId('sample-row').count()).toBeLessThan(100);
  await page.getByTestId('sample-scroll').evaluate((element) => (element.scrollTop = 32 * 87_000));
  await expect(page.getByTestId('sample-row').filter({ hasText: 'sample text number 87000' })).toHaveCount(1);
});

test('refuses a malformed file with the line number and imports nothing', async ({ page, appUrl, home }) => {
  const path = join(home, 'broken.jsonl');
  writeFileSync(path, '{"text": "fine"}\n{"text": "also fine"}\n{"txt": "wrong field"}\n');
  await page.goto(appUrl);
  await page.getByTestId('import-file').setInputFiles(path);
  await page.getByTestId('import-start').click();
  await expect(page.getByTestId('job-error')).toContainText('broken.jsonl:3');
  await expect(page.getByTestId('dataset-row')).toHaveCount(0);
});

test('cancels a running import job from the Jobs page', async ({ page, appUrl, home }) => {
  const path = join(home, 'slow.jsonl');
  writeFileSync(path, Array.from({ length: 600_000 }, (_, i) => JSON.stringify({ instruction: `instruction ${i}`, input: 'x'.repeat(40), output: `output ${i}` })).join('\n'));
  await page.goto(appUrl);
  await page.getByTestId('import-file').setInputFiles(path);
  await page.getByTestId('import-start').click();
  await page.getByTestId('nav-Jobs').click();
  const job = page.getByTestId('jobs-list').getByTestId('job').first();
  await expect(job).toHaveAttribute('data-state', 'running', { timeout: 30_000 });
  await job.getByTestId('job-cancel').click();
  await expect(job).toHaveAttribute('data-state', 'cancelled');
  await page.getByTestId('nav-Datasets').click();
  await expect(page.getByTestId('dataset-row')).toHaveCount(0);
});

test('explains a page opened with a stale token', async ({ page, appUrl }) => {
  const url = new URL(appUrl);
  url.searchParams.set('token', 'token-from-an-earlier-run');
  await page.goto(url.toString());
  await expect(page.getByTestId('connection-refused')).toContainText('open the URL it printed', { timeout: 20_000 });
  await expect(page.getByTestId('connection-status')).toHaveText('no connection');
});
