import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runFacet } from '../support/runFacet.ts';
import { sharedDataDir } from '../support/tempHome.ts';
import { expect, test } from './serveFixture.ts';

/** Two-class sets for the head-only probe (label 1 = questions about rivers, 0 = about bread). */
function labelled(count: number, offset: number): string {
  const topics = [['I baked bread this morning', 'The oven was too hot', 'Flour covered the table'], ['Where does the river meet the sea', 'How deep is the river here', 'Which bridge crosses the river']];
  return Array.from({ length: count }, (_, i) => JSON.stringify({ text: `${topics[i % 2]![(i + offset) % 3]} (${i + offset}).`, label: i % 2 })).join('\n');
}

test('compares seed, guided and plain synthesis on every measure, trains probes, steers and measures drift from the Evaluate page', async ({ page, appUrl, home }) => {
  test.setTimeout(600_000);
  const demo = await runFacet(['demo', '--threads', '1', '--synthesize', '2'], home, { timeoutMs: 300_000 });
  expect(demo.code, demo.stderr).toBe(0);
  const caa = await runFacet(['datasets', 'import', join(sharedDataDir, 'caa', 'sycophancy', 'test_dataset_ab.json'), '--name', 'sycophancy-ab'], home);
  expect(caa.code, caa.stderr).toBe(0);
  for (const [name, body] of [['probe-train', labelled(16, 0)], ['probe-eval', labelled(10, 40)]] as const) {
    writeFileSync(join(home, `${name}.jsonl`), body);
    const imported = await runFacet(['datasets', 'import', join(home, `${name}.jsonl`), '--name', name, '--role', 'eval'], home);
    expect(imported.code, imported.stderr).toBe(0);
  }
  const quantized = await runFacet(['models', 'quantize', 'demo-llama3', '--type', 'q8_0', '--out', join(home, 'demo-q8.gguf'), '--name', 'demo-q8'], home, { timeoutMs: 120_000 });
  expect(quantized.code, quantized.stderr).toBe(0);

  await page.setViewportSize({ width: 1440, height: 900 });
  await page.goto(appUrl);
  await page.getByTestId('nav-Evaluate').click();

  // the same-budget plain baseline of the demo's synthesis run, then all three sets in one report
  const ab = page.getByTestId('ab-panel');
  await ab.getByTestId('ab-plain-start').click();
  await expect(ab.getByTestId('ab-plain-dataset')).toContainText('demo-seed-plain', { timeout: 180_000 });
  await ab.getByTestId('ab-use').click();
  const report = page.getByTestId('report-panel');
  await expect(report.getByTestId('evaluate-anchor')).toHaveValue('demo-anchor');
  await report.getByTestId('report-start').click();
  const view = page.getByTestId('report-view');
  await expect(view.getByTestId('report-row')).toHaveCount(3, { timeout: 180_000 });
  await expect(view.getByTestId('report-row').nth(0)).toContainText('demo-seed');
  await expect(view.getByTestId('report-row').nth(1)).toContainText('demo-synthetic');
  await expect(view.getByTestId('report-row').nth(2)).toContainText('demo-seed-plain');
  await expect(view.getByTestId('report-fac-chart').locator('.recharts-line')).toHaveCount(3);
  await expect(view.getByTestId('report-metric-chart')).toHaveCount(8);
  await expect(view.getByTestId('report-length-chart')).toHaveCount(3);
  await expect(report.getByTestId('report-download')).toBeVisible();
  await expect(page.getByTestId('probe-train')).toHaveValue(/^demo-seed; demo-seed, demo-synthetic; demo-seed, demo-seed-plain/);

  // head-only probe: per-seed table and the PR curve
  const probe = page.getByTestId('probe-panel');
  await probe.getByTestId('probe-train').fill('probe-train');
  await probe.getByTestId('probe-eval').selectOption('probe-eval');
  await probe.getByTestId('probe-start').click();
  await expect(probe.getByTestId('probe-run')).toHaveCount(1, { timeout: 180_000 });
  await expect(probe.getByTestId('probe-run')).toContainText(/\d\.\d{3} ± \d\.\d{3}/);
  await expect(probe.getByTestId('probe-pr-curve').locator('path.recharts-curve')).toHaveCount(1);
  await probe.getByText('Every seed').click();
  await expect(probe.getByTestId('probe-seeds').locator('tbody tr')).toHaveCount(3);

  // steering: a CAA vector, robust accuracy per multiplier, the Steering Control Rate
  const steering = page.getByTestId('steering-panel');
  await steering.getByTestId('steer-dataset').selectOption('sycophancy-ab');
  await steering.getByTestId('steer-layer').fill('1');
  await steering.getByTestId('steer-vector-start').click();
  await expect(steering.getByTestId('steer-vector-result')).toContainText('50 items', { timeout: 120_000 });
  await expect(steering.getByTestId('steer-vector-path')).toHaveValue(/sycophancy-ab-l1\.npy$/);
  await steering.getByTestId('steer-multipliers').fill('-1, 0, 1');
  await steering.getByTestId('steer-eval-start').click();
  await expect(steering.getByTestId('steering-control-rate')).toHaveText(/^[+-]?\d+\.\d points$/, { timeout: 180_000 });
  await expect(steering.getByTestId('steering-curve').locator('path.recharts-curve')).toHaveCount(1);

  // quantization drift: the f16 demo model against its q8_0 variant
  const drift = page.getByTestId('drift-panel');
  await drift.getByTestId('drift-dataset').selectOption('demo-anchor');
  await drift.getByTestId('drift-models').getByText('demo-llama3').click();
  await drift.getByTestId('drift-models').getByText('demo-q8').click();
  await drift.getByTestId('drift-start').click();
  await expect(drift.getByTestId('drift-row')).toHaveCount(2, { timeout: 180_000 });
  await expect(drift.getByTestId('drift-row').nth(1)).toContainText(/q8_0/i);

  // bad input is named by its field, and nothing starts
  await probe.getByTestId('probe-eval').selectOption('');
  await probe.getByTestId('probe-start').click();
  await expect(page.getByTestId('evaluate-error')).toContainText('Eval set');

  await page.screenshot({ path: 'test-results/evaluate-1440.png', fullPage: true });
  await page.setViewportSize({ width: 1024, height: 800 });
  await page.screenshot({ path: 'test-results/evaluate-1024.png', fullPage: true });
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.screenshot({ path: 'test-results/evaluate-1024-dark.png', fullPage: true });

  // the form survives a reload
  await page.reload();
  await expect(page.getByTestId('probe-train')).toHaveValue('probe-train');
});
