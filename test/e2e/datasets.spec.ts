import { readFileSync, writeFileSync } from 'node:fs';
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
  // the open dataset and sample are in the URL: a reload shows the same
  await expect(page).toHaveURL(/#\/Datasets\?dataset=\d+&sample=0/);
  await page.reload();
  await expect(page.getByTestId('sample-detail')).toContainText('Sample #0');
  await expect(page.locator('[data-testid="dataset-row"][aria-selected="true"]')).toHaveAttribute('data-name', 'corrigible-neutral-HHH');
});

test('changes a role, searches samples, and keeps dataset, query and sample in the URL', async ({ page, appUrl }) => {
  const file = join(sharedDataDir, 'anthropic-evals/corrigible-neutral-HHH.jsonl');
  // expected from the file itself: distinct questions or answers that contain 'goal' in any case
  const records = readFileSync(file, 'utf8').split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as Record<string, string>);
  const distinct = new Map(records.map((record) => [JSON.stringify([record['question'], record['answer_matching_behavior'], record['answer_not_matching_behavior']]), record]));
  const expected = [...distinct.values()].filter((record) => Object.values(record).some((value) => value.toLowerCase().includes('goal'))).length;
  expect(expected).toBeGreaterThan(50);
  await page.goto(appUrl);
  await page.getByTestId('import-file').setInputFiles(file);
  await page.getByTestId('import-start').click();
  const row = page.locator('[data-testid="dataset-row"][data-name="corrigible-neutral-HHH"]');
  await expect(row.getByTestId('dataset-count')).toHaveText('340');
  await expect(row.getByTestId('dataset-role')).toHaveValue('seed');
  await row.getByTestId('dataset-role').selectOption('anchor');
  await page.reload();
  await expect(page.locator('[data-testid="dataset-row"][data-name="corrigible-neutral-HHH"]').getByTestId('dataset-role')).toHaveValue('anchor');

  await page.locator('[data-testid="dataset-row"][data-name="corrigible-neutral-HHH"]').click();
  await page.getByTestId('sample-search').fill('GOAL');
  await page.getByTestId('sample-search').press('Enter');
  await expect(page.getByTestId('sample-results-count')).toHaveText(`${expected} of 340 samples contain 'GOAL'; 1–50 shown.`);
  await expect(page.getByTestId('search-row')).toHaveCount(50);
  await expect(page.getByTestId('search-row').first().locator('mark').first()).toHaveText(/goal/i);
  await page.getByTestId('search-next').click();
  await expect(page.getByTestId('sample-results-count')).toContainText('51–');
  await page.getByTestId('search-row').first().click();
  await expect(page.getByTestId('sample-detail')).toContainText(/goal/i);
  await expect(page).toHaveURL(/q=GOAL/);
  await expect(page).toHaveURL(/sample=\d+/);
  await page.reload();
  await expect(page.getByTestId('sample-search')).toHaveValue('GOAL');
  await expect(page.getByTestId('sample-detail')).toContainText(/goal/i);
  await page.setViewportSize({ width: 1440, height: 1000 });
  await page.screenshot({ path: 'test-results/datasets-page-1440.png', fullPage: true });
  await page.setViewportSize({ width: 1024, height: 1000 });
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.screenshot({ path: 'test-results/datasets-page-1024-dark.png', fullPage: true });
  // Back returns to the unfiltered list
  await page.getByTestId('sample-search-clear').click();
  await expect(page.getByTestId('sample-row').first()).toBeVisible();
  await page.goBack();
  await expect(page.getByTestId('sample-search')).toHaveValue('GOAL');
});

test('scrolls a large dataset in a virtualized table', async ({ page, appUrl, home }) => {
  const path = join(home, 'large.jsonl');
  writeFileSync(path, Array.from({ length: 100_000 }, (_, i) => JSON.stringify({ text: `sample text number ${i}` })).join('\n'));
  await page.goto(appUrl);
  await page.getByTestId('import-file').setInputFiles(path);
  await page.getByTestId('import-start').click();
  const row = page.locator('[data-testid="dataset-row"][data-name="large"]');
  await expect(row.getByTestId('dataset-count')).toHaveText('100,000', { timeout: 60_000 });
  await row.click();
  await expect(page.getByTestId('sample-row').first()).toContainText('sample text number 0');
  // Only a window of rows lives in the DOM.
  expect(await page.getByTestId('sample-row').count()).toBeLessThan(100);
  await page.getByTestId('sample-scroll').evaluate((element) => (element.scrollTop = 32 * 87_000));
  await expect(page.getByTestId('sample-row').filter({ hasText: 'sample text number 87000' })).toHaveCount(1);
});

test('refuses a malformed file in the form\'s words with the user\'s file name, and imports nothing', async ({ page, appUrl, home }) => {
  const path = join(home, 'my broken file.jsonl');
  writeFileSync(path, '{"text": "fine"}\n{"text": "also fine"}\n{"txt": "wrong field"}\n');
  await page.goto(appUrl);
  await page.getByTestId('import-file').setInputFiles(path);
  await page.getByTestId('import-start').click();
  const error = page.getByTestId('job-error');
  // the name the user chose (not the upload's copy on the server), the line, and the checkbox to tick
  await expect(error).toContainText('my broken file.jsonl:3');
  await expect(error).toContainText("tick 'Skip invalid rows'");
  await expect(error).not.toContainText('--skip-invalid');
  await expect(error).not.toContainText('uploads');
  await expect(page.getByTestId('job-failed')).toContainText("Import my broken file.jsonl as 'my broken file'");
  await expect(page.getByTestId('dataset-row')).toHaveCount(0);
  await page.setViewportSize({ width: 1024, height: 700 });
  await page.screenshot({ path: 'test-results/datasets-import-error-1024.png' });
  // the failure stays until dismissed
  await page.getByTestId('job-dismiss').click();
  await expect(page.getByTestId('job-failed')).toHaveCount(0);

  await page.getByTestId('import-file').setInputFiles(path);
  await page.getByTestId('import-skip-invalid').check();
  await page.getByTestId('import-start').click();
  const row = page.locator('[data-testid="dataset-row"][data-name="my broken file"]');
  await expect(row.getByTestId('dataset-count')).toHaveText('2');
  // the same name again: the form names its own field
  await page.getByTestId('import-file').setInputFiles(path);
  await page.getByTestId('import-start').click();
  await expect(page.getByTestId('import-error')).toContainText("Type another name in 'Name'");
  await expect(page.getByTestId('import-error')).not.toContainText('--name');
});

test('a photo is refused at once as not text, and an empty file names the Choose File button', async ({ page, appUrl, home }) => {
  const photo = join(home, 'my photo.png');
  writeFileSync(photo, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52]));
  await page.goto(appUrl);
  // Import without a file is disabled and says what is missing
  await expect(page.getByTestId('import-start')).toBeDisabled();
  await expect(page.getByTestId('import-start')).toHaveAttribute('title', "Choose a file first with 'Choose File'");
  await page.getByTestId('import-file').setInputFiles(photo);
  await page.getByTestId('import-start').click();
  const formError = page.getByTestId('import-error');
  await expect(formError).toContainText('my photo.png is not a text dataset (it looks binary): choose a JSONL, JSON, CSV or text file.');
  await expect(formError).not.toContainText('valid JSON');
  await expect(formError).not.toContainText('Skip invalid rows');
  const empty = join(home, 'nothing.jsonl');
  writeFileSync(empty, '\n\n');
  await page.getByTestId('import-file').setInputFiles(empty);
  await page.getByTestId('import-start').click();
  const jobError = page.getByTestId('job-error');
  await expect(jobError).toContainText('nothing.jsonl holds no valid samples');
  await expect(jobError).toContainText("'Choose File'");
  await expect(jobError).not.toContainText("'File'");
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
