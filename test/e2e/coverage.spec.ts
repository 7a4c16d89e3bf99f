import { readFile } from 'node:fs/promises';
import { exportCoverageRun } from '../../src/core/coverage/exportCoverageRun.ts';
import { runFacet } from '../support/runFacet.ts';
import { forgeCoverageWorkspace } from '../coverage/forgedCoverageWorkspace.ts';
import { expect, test } from './serveFixture.ts';

test('runs a coverage measurement from the UI and follows a missing feature to the Features page', async ({ page, appUrl, home }) => {
  // the demo trains an SAE and indexes its datasets first: minutes on a busy two-core machine
  test.setTimeout(480_000);
  // The demo registers a forged model, the sample datasets and a trained SAE in this workspace.
  const demo = await runFacet(['demo', '--threads', '1'], home, { timeoutMs: 300_000 });
  expect(demo.code, demo.stderr).toBe(0);
  await page.goto(appUrl);
  await page.getByTestId('nav-Coverage').click();
  await expect(page.getByTestId('coverage-model')).toHaveValue('demo-llama3');
  await expect(page.getByTestId('coverage-sae')).toHaveValue('demo-sae-demo-llama3-L1');
  await page.getByTestId('coverage-anchor').selectOption('demo-anchor');
  await page.getByTestId('coverage-seed').selectOption('demo-seed');
  // Evaluating the anchor itself must cover every missing feature; the page says it is a sanity check.
  await page.getByTestId('coverage-eval').selectOption('demo-anchor');
  await expect(page.getByTestId('coverage-warning')).toContainText('The evaluated set is the anchor itself');
  await page.getByTestId('coverage-thresholds').fill('0, 0.5');
  await page.getByTestId('coverage-run').click();
  const rows = page.getByTestId('coverage-row');
  await expect(rows).toHaveCount(2, { timeout: 60_000 });
  await expect(rows.first().getByTestId('coverage-fac')).toHaveText(/^\d+\.\d%$/);
  await expect(rows.first()).toContainText('(100.0%)');
  await expect(page.getByTestId('coverage-run-warning')).toContainText('The evaluated set is the anchor itself');
  const missing = page.getByTestId('missing-feature').first();
  await expect(missing.getByTestId('feature-span').first()).toBeVisible();
  // spans of missing features come from the anchor set only
  for (const meta of await page.getByTestId('coverage-missing').getByTestId('feature-span').locator('.span-meta').allTextContents()) expect(meta).toContain('demo-anchor');
  await page.setViewportSize({ width: 1440, height: 2600 });
  await expect(page.getByTestId('coverage-scatter').locator('.recharts-scatter-symbol').first()).toBeVisible();
  await page.screenshot({ path: 'test-results/coverage-page.png' });
  await page.setViewportSize({ width: 1300, height: 850 });
  const featureLabel = (await missing.getByTestId('missing-feature-link').textContent()) ?? '';
  await missing.getByTestId('missing-feature-link').click();
  const detail = page.getByTestId('feature-detail');
  await expect(detail).toContainText(featureLabel.replace('feature', 'Feature'));
  await expect(detail.getByTestId('feature-histogram')).toBeVisible();
  await expect(detail.getByTestId('feature-span').first()).toBeVisible();
  // Back returns to the coverage run
  await page.goBack();
  await expect(page.getByTestId('coverage-result')).toBeVisible();
});

test('coverage runs: help, δ selector, charts, export, compare, delete, warnings, URL and form that survive reload and Back', async ({ page, appUrl, home }) => {
  // Real runs computed by the engine's code over feature indexes written straight into the store.
  const { store, record } = forgeCoverageWorkspace(home);
  const first = record({ seed: 'seed', eval: 'evalset', thresholds: [0, 0.75, 1.5] });
  const second = record({ seed: 'seed2', thresholds: [0, 0.75] });
  const csv = exportCoverageRun(store, first.runId, 'csv').content;
  store.close();

  await page.setViewportSize({ width: 1440, height: 900 });
  await page.goto(`${appUrl}#/Coverage?run=${first.runId}`);
  const result = page.getByTestId('coverage-result');
  await expect(result.locator('h2')).toHaveText('seed against anchor');
  await expect(page.getByTestId('coverage-row')).toHaveCount(3);
  await expect(page.getByTestId('coverage-row').first().getByTestId('coverage-fac')).toHaveText('50.0%');

  // help: every term is defined in the page, and headers carry the definitions as tooltips
  await page.getByTestId('coverage-terms').locator('summary').click();
  for (const term of ['δ', 'g', 'F', '|F(P)|', 'FAC', 'FAC freq', 'FAC magnitude', 'l_out-L']) await expect(page.getByTestId('coverage-terms').locator('dt', { hasText: term }).first()).toBeVisible();
  await expect(page.getByTestId('coverage-terms')).toContainText('“layer 16” is l_out-15');
  await expect(page.getByTestId('coverage-table').locator('th', { hasText: 'FAC freq' })).toHaveAttribute('title', /share of anchor samples/);
  await expect(page.getByTestId('coverage-run-meta').locator('[title*="counted from 0"]')).toHaveText('l_out-1');

  // charts
  await expect(page.getByTestId('coverage-fac-chart').locator('.recharts-line')).toHaveCount(4);
  await expect(page.getByTestId('coverage-scatter')).toContainText('(7 features)');
  await expect(page.getByTestId('coverage-scatter').locator('.recharts-scatter-symbol')).toHaveCount(7);

  // δ selector: every threshold of the run; the missing list follows it (anchor spans only)
  await expect(page.getByTestId('coverage-delta').locator('option')).toHaveText(['0 (3 missing)', '0.75 (3 missing)', '1.5 (2 missing)']);
  await expect(page.getByTestId('missing-feature').getByTestId('missing-feature-link')).toHaveText(['feature 4', 'feature 5', 'feature 3']);
  // missing features are real links to the Features page (Ctrl-click, middle-click and copy work)
  await expect(page.getByTestId('missing-feature-link').first()).toHaveAttribute('href', /^#\/Features\?space=\d+&feature=4$/);
  // FAC against δ: a tick per measured δ, no fractional ticks between them
  await expect(page.getByTestId('coverage-fac-chart').locator('.recharts-xAxis-tick-labels .recharts-cartesian-axis-tick-value')).toHaveText(['0', '0.75', '1.5']);
  await page.getByTestId('coverage-delta').selectOption('0.75');
  await expect(page).toHaveURL(/delta=0\.75/);
  await expect(page.getByTestId('missing-feature').getByTestId('missing-feature-link')).toHaveText(['feature 0', 'feature 4', 'feature 2']);
  await expect(page.getByTestId('coverage-scatter')).toContainText('at δ = 0.75');
  for (const meta of await page.getByTestId('coverage-missing').locator('.span-meta').allTextContents()) expect(meta).toContain('anchor');
  // the page scrolls inside its main pane, so a tall viewport shows all of it
  await page.setViewportSize({ width: 1440, height: 2700 });
  await page.screenshot({ path: 'test-results/coverage-1440.png' });
  await page.setViewportSize({ width: 1440, height: 900 });

  // a link naming no run shows the newest and says so in the URL without a new Back entry;
  // a δ that run lacks is said beside the δ picker
  const entries = await page.evaluate(() => history.length);
  await page.goto(`${appUrl}#/Coverage?delta=1.5`);
  await expect(page).toHaveURL(new RegExp(`#/Coverage\\?delta=1\\.5&run=${second.runId}$`));
  await expect(page.getByTestId('coverage-delta-note')).toHaveText(`run ${second.runId} has no δ = 1.5; showing δ = 0`);
  expect(await page.evaluate(() => history.length)).toBe(entries + 1);
  await page.goBack();
  await expect(page.getByTestId('coverage-delta')).toHaveValue('0.75');
  await expect(page.getByTestId('coverage-delta-note')).toHaveCount(0);

  // URL survives reload and Back
  await page.reload();
  await expect(page.getByTestId('coverage-delta')).toHaveValue('0.75');
  await expect(page.getByTestId('missing-feature').first().getByTestId('missing-feature-link')).toHaveText('feature 0');
  await page.goBack();
  await expect(page.getByTestId('coverage-delta')).toHaveValue('0');
  await page.goForward();
  await expect(page.getByTestId('coverage-delta')).toHaveValue('0.75');

  // export: the CSV download is the engine's export
  const [csvDownload] = await Promise.all([page.waitForEvent('download'), page.getByTestId('coverage-export-csv').click()]);
  expect(csvDownload.suggestedFilename()).toBe(`coverage-run-${first.runId}.csv`);
  expect(await readFile((await csvDownload.path())!, 'utf8')).toBe(csv);
  const [jsonDownload] = await Promise.all([page.waitForEvent('download'), page.getByTestId('coverage-export-json').click()]);
  expect((JSON.parse(await readFile((await jsonDownload.path())!, 'utf8')) as { id: number }).id).toBe(first.runId);

  // compare: FAC per δ side by side, features newly covered and lost
  await page.getByTestId('coverage-compare-run').selectOption(String(second.runId));
  await expect(page).toHaveURL(new RegExp(`compare=${second.runId}`));
  await expect(page.getByTestId('coverage-compare-row')).toHaveCount(3);
  await expect(page.getByTestId('coverage-compare-row').nth(2)).toContainText('not measured');
  await expect(page.getByTestId('coverage-newly-covered-count').first()).toHaveText('3');
  await expect(page.getByTestId('coverage-newly-covered').first()).toHaveText('3, 4, 5');
  await expect(page.getByTestId('coverage-lost').first()).toHaveText('0, 1, 2');

  // 1024 px and the dark theme, looked at by a person
  await page.setViewportSize({ width: 1024, height: 3000 });
  await page.screenshot({ path: 'test-results/coverage-1024.png' });
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.screenshot({ path: 'test-results/coverage-dark.png' });
  await page.emulateMedia({ colorScheme: 'light' });
  await page.setViewportSize({ width: 1024, height: 800 });

  // the form: anchor = seed is refused before running, roles that do not fit are warned about
  await page.getByTestId('coverage-anchor').selectOption('anchor');
  await page.getByTestId('coverage-seed').selectOption('anchor');
  await expect(page.getByTestId('coverage-check-error')).toContainText("The anchor and the seed are the same dataset ('anchor')");
  await expect(page.getByTestId('coverage-run')).toBeDisabled();
  await page.getByTestId('coverage-seed').selectOption('evalset');
  await expect(page.getByTestId('coverage-check-error')).toHaveCount(0);
  await expect(page.getByTestId('coverage-warning')).toHaveText("'evalset' is registered as an eval set but is used as the seed (the set whose coverage is measured).");

  // the form persists across pages and reloads
  await page.getByTestId('coverage-thresholds').fill('0.5, 3');
  await page.getByTestId('nav-Datasets').click();
  await page.getByTestId('nav-Coverage').click();
  await expect(page.getByTestId('coverage-thresholds')).toHaveValue('0.5, 3');
  await expect(page.getByTestId('coverage-seed')).toHaveValue('evalset');
  await page.reload();
  await expect(page.getByTestId('coverage-thresholds')).toHaveValue('0.5, 3');

  // delete, after a confirmation; the page falls back to the newest remaining run
  await page.goto(`${appUrl}#/Coverage?run=${second.runId}`);
  await expect(result.locator('h2')).toHaveText('seed2 against anchor');
  await page.getByTestId('coverage-delete').click();
  await expect(page.getByTestId('coverage-delete-confirm')).toContainText(`Delete run ${second.runId}?`);
  await page.getByTestId('coverage-delete-yes').click();
  await expect(result.locator('h2')).toHaveText('seed against anchor');
  await expect(page.getByTestId('coverage-run-select').locator('option')).toHaveCount(1);
  // a URL naming the deleted run says so
  await page.goto(`${appUrl}#/Coverage?run=${second.runId}`);
  await expect(page.getByTestId('coverage-run-error')).toContainText(`No coverage run ${second.runId}`);
});
