import { runFacet } from '../support/runFacet.ts';
import { expect, test } from './serveFixture.ts';

test('runs a coverage measurement from the UI and follows a missing feature to the Features page', async ({ page, appUrl, home }) => {
  // The demo registers a forged model, the sample datasets and a trained SAE in this workspace.
  const demo = await runFacet(['demo', '--threads', '1'], home, { timeoutMs: 300_000 });
  expect(demo.code, demo.stderr).toBe(0);
  await page.goto(appUrl);
  await page.getByTestId('nav-Coverage').click();
  await expect(page.getByTestId('coverage-model')).toHaveValue('demo-llama3');
  await expect(page.getByTestId('coverage-sae')).toHaveValue('demo-sae-demo-llama3-L1');
  await page.getByTestId('coverage-anchor').selectOption('demo-anchor');
  await page.getByTestId('coverage-seed').selectOption('demo-seed');
  // Evaluating the anchor itself must cover every missing feature.
  await page.getByTestId('coverage-eval').selectOption('demo-anchor');
  await page.getByTestId('coverage-thresholds').fill('0, 0.5');
  await page.getByTestId('coverage-run').click();
  const rows = page.getByTestId('coverage-row');
  await expect(rows).toHaveCount(2, { timeout: 60_000 });
  await expect(rows.first().getByTestId('coverage-fac')).toHaveText(/^\d+\.\d%$/);
  await expect(rows.first()).toContainText('(100.0%)');
  const missing = page.getByTestId('missing-feature').first();
  await expect(missing.getByTestId('feature-span').first()).toBeVisible();
  await page.screenshot({ path: 'test-results/coverage-page.png', fullPage: true });
  const featureLabel = (await missing.locator('button.link').textContent()) ?? '';
  await missing.locator('button.link').click();
  const detail = page.getByTestId('feature-detail');
  await expect(detail).toContainText(featureLabel.replace('feature', 'Feature'));
  await expect(detail.getByTestId('feature-histogram')).toBeVisible();
  await expect(detail.getByTestId('feature-span').first()).toBeVisible();
  // The feature table sorts by any column.
  await page.getByTestId('sort-feature').click();
  await expect(page.getByTestId('sort-feature')).toHaveText('feature ▲');
  await expect
    .poll(async () => {
      const ids = (await page.getByTestId('feature-row').locator('td:first-child').allTextContents()).map(Number);
      return ids.length > 1 && ids.every((id, i) => i === 0 || (ids[i - 1] as number) < id);
    })
    .toBe(true);
  await page.screenshot({ path: 'test-results/features-page.png', fullPage: true });
});
