import { join } from 'node:path';
import { runFacet } from '../support/runFacet.ts';
import { sharedDataDir } from '../support/tempHome.ts';
import { expect, test } from './serveFixture.ts';

test('makes a diversity report and evaluates steering from the Evaluate page', async ({ page, appUrl, home }) => {
  test.setTimeout(300_000);
  const demo = await runFacet(['demo', '--threads', '1', '--synthesize', '0'], home, { timeoutMs: 300_000 });
  expect(demo.code, demo.stderr).toBe(0);
  const caa = await runFacet(['datasets', 'import', join(sharedDataDir, 'caa', 'sycophancy', 'test_dataset_ab.json'), '--name', 'sycophancy-ab'], home);
  expect(caa.code, caa.stderr).toBe(0);
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.goto(appUrl);
  await page.getByTestId('nav-Evaluate').click();

  const report = page.getByTestId('report-panel');
  await report.getByText('demo-anchor').click();
  await report.getByText('demo-seed').click();
  await report.getByTestId('report-start').click();
  const view = page.getByTestId('report-view');
  await expect(view).toContainText('demo-seed', { timeout: 120_000 });
  await expect(view.locator('svg').first()).toBeVisible();
  await expect(view).toContainText('FAC against δ');
  await expect(report.getByTestId('report-download')).toBeVisible();

  const steering = page.getByTestId('steering-panel');
  await steering.getByTestId('steer-dataset').selectOption('sycophancy-ab');
  await steering.getByTestId('steer-layer').fill('1');
  await steering.getByTestId('steer-vector-start').click();
  await expect(steering.getByTestId('steer-vector-result')).toContainText('50 items', { timeout: 120_000 });
  await expect(steering.getByTestId('steer-vector-path')).toHaveValue(/sycophancy-ab-l1\.npy$/);
  await steering.getByTestId('steer-multipliers').fill('-1, 0, 1');
  await steering.getByTestId('steer-eval-start').click();
  await expect(steering.getByTestId('steering-control-rate')).toHaveText(/^-?\d\.\d{3}$/, { timeout: 180_000 });
  await expect(steering.getByTestId('steering-curve')).toBeVisible();
  await expect(page.getByTestId('evaluate-error')).toHaveCount(0);
  await page.screenshot({ path: 'test-results/evaluate-1440.png', fullPage: true });
  await page.setViewportSize({ width: 1024, height: 800 });
  await page.screenshot({ path: 'test-results/evaluate-1024.png', fullPage: true });
});
