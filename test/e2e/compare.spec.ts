import { join } from 'node:path';
import { Store } from '../../src/core/store/Store.ts';
import { randomWeights, testConfig } from '../sae/saeFixtures.ts';
import { insertDataset } from '../features/featureFixtures.ts';
import { forgeTestModel } from '../forge/forgeTestModel.ts';
import { registerSae, sharedTexts } from '../compare/compareFixtures.ts';
import { runFacet } from '../support/runFacet.ts';
import { expect, test } from './serveFixture.ts';

test('compares forged LLaMA-3, Qwen2 and Mistral spaces on the Compare page, shows pairs side by side and transfers missing features', async ({ page, appUrl, home }) => {
  test.setTimeout(240_000);
  const families = [
    { family: 'llama3', name: 'llama', dim: 64, seed: 21 },
    { family: 'qwen2', name: 'qwen', dim: 96, seed: 23 },
    { family: 'mistral', name: 'mistral', dim: 64, seed: 22 },
  ] as const;
  const store = Store.open(join(home, 'facet.db'));
  const paths: string[] = [];
  try {
    for (const f of families) {
      paths.push((await forgeTestModel({ family: f.family, layers: 3, dim: f.dim, heads: 4, kvHeads: 2, seed: f.seed, contextLength: 512 })).path);
      const config = testConfig({ architecture: 'topk', dIn: f.dim, dSae: 192, k: 8, tied: true, layer: 1, modelFamily: `forged-${f.family}` });
      await registerSae(store, home, `sae-${f.name}`, { config, weights: { ...randomWeights(config, f.seed), wDec: null } });
    }
    const texts = sharedTexts(40);
    insertDataset(store, 'shared', 'anchor', texts);
    insertDataset(store, 'narrow', 'seed', texts.slice(0, 6));
  } finally {
    store.close();
  }
  for (const [i, f] of families.entries()) expect((await runFacet(['models', 'add', paths[i]!, '--name', f.name], home)).code).toBe(0);
  // a coverage run in space A, for the transfer
  const coverage = await runFacet(['coverage', '--model', 'llama', '--sae', 'sae-llama', '--anchor', 'shared', '--seed', 'narrow', '--threads', '1', '--cpu', '--json'], home, { timeoutMs: 120_000 });
  expect(coverage.code, coverage.stderr).toBe(0);
  const coverageB = await runFacet(['coverage', '--model', 'qwen', '--sae', 'sae-qwen', '--anchor', 'shared', '--seed', 'narrow', '--threads', '1', '--cpu', '--json'], home, { timeoutMs: 120_000 });
  expect(coverageB.code, coverageB.stderr).toBe(0);

  await page.goto(appUrl);
  await page.getByTestId('nav-Compare').click();
  await page.getByTestId('compare-model-A').selectOption('llama');
  await page.getByTestId('compare-sae-A').selectOption('sae-llama');
  await page.getByTestId('compare-model-B').selectOption('qwen');
  await page.getByTestId('compare-sae-B').selectOption('sae-qwen');
  await page.getByTestId('compare-model-C').selectOption('mistral');
  await page.getByTestId('compare-sae-C').selectOption('sae-mistral');
  await page.getByTestId('compare-dataset-shared').check();
  // a min support under 2 is refused in the form, by name and range, not silently raised
  await page.getByTestId('compare-min-support').fill('1');
  await expect(page.getByTestId('compare-min-support-error')).toContainText('Min support: a whole number from 2 to 1,000,000');
  await expect(page.getByTestId('compare-run')).toBeDisabled();
  await page.getByTestId('compare-min-support').fill('3');
  await expect(page.getByTestId('compare-min-support-error')).toHaveCount(0);
  await page.getByTestId('compare-run').click();
  const result = page.getByTestId('compare-result');
  await expect(result).toBeVisible({ timeout: 150_000 });
  // three spaces: A↔B, A↔C and B↔C, all over the same dataset
  await expect(page.getByTestId('compare-same-data-row')).toHaveCount(3, { timeout: 150_000 });
  // rows of different runs tell them apart: run id, date, datasets and min support
  const runCells = await page.getByTestId('compare-same-data-run').allTextContents();
  expect(new Set(runCells).size).toBe(3);
  await expect(page.getByTestId('compare-same-data-row').first()).toContainText('shared (40)');
  // the page shows what the CLI prints for the same (stored) request
  const cli = await runFacet(['compare', '--a', 'llama:sae-llama', '--b', 'qwen:sae-qwen', '--dataset', 'shared', '--min-support', '3', '--json'], home, { timeoutMs: 60_000 });
  expect(cli.code, cli.stderr).toBe(0);
  const stored = JSON.parse(cli.stdout) as { runId: number; mutual: number; svcca: number; pairs: { a: number; b: number; correlation: number }[] };
  await page.getByTestId('compare-run-select').selectOption(String(stored.runId));
  await expect(result.getByTestId('compare-decoder-svcca')).toHaveText(/^-?\d\.\d{3}$/);
  await expect(result.getByTestId('compare-profiles-rsa')).toHaveText(/^-?\d\.\d{3}$/);
  const pairs = page.getByTestId('compare-pair');
  await expect(pairs.first()).toBeVisible();
  expect(await pairs.count()).toBeGreaterThan(5);

  await expect(result.getByTestId('compare-mutual')).toHaveText(String(stored.mutual));
  await expect(result.getByTestId('compare-decoder-svcca')).toHaveText(stored.svcca.toFixed(3));
  const best = [...stored.pairs].sort((x, y) => y.correlation - x.correlation)[0]!;
  await expect(pairs.first().locator('td').first()).toHaveText(String(best.a));

  // the shared map: both spaces' features, two points per pair; a point opens its pair
  const points = page.getByTestId('compare-map-point');
  await expect(points.first()).toBeVisible();
  const pointCount = await points.count();
  expect(pointCount % 2).toBe(0);
  expect(pointCount).toBeGreaterThan(10);
  await page.getByTestId('compare-map').screenshot({ path: 'test-results/compare-map.png' });
  await points.first().click();
  await expect(page.getByTestId('compare-pair-A')).toBeVisible();
  await pairs.first().click();
  await expect(page.getByTestId('compare-pair-A').getByTestId('feature-span').first()).toBeVisible();
  await expect(page.getByTestId('compare-pair-B').getByTestId('feature-span').first()).toBeVisible();
  await page.getByTestId('compare-token-show').click();
  await expect(page.getByTestId('compare-token-A').getByTestId('compare-token').first()).toBeVisible({ timeout: 60_000 });
  expect(await page.getByTestId('compare-token-B').getByTestId('compare-token').count()).toBeGreaterThan(3);

  // FAC of the same seed against the same anchor in each space, as each coverage run measured it
  const fac = (output: string) => `${(((JSON.parse(output) as { fac: number }).fac) * 100).toFixed(1)}%`;
  const facRow = page.getByTestId('compare-fac-row');
  await expect(facRow).toHaveCount(1);
  await expect(facRow.locator('td').nth(2)).toHaveText(fac(coverage.stdout));
  await expect(facRow.locator('td').nth(3)).toHaveText(fac(coverageB.stdout));
  await page.getByTestId('compare-transfer-min').fill('0.3');
  await page.getByTestId('compare-transfer-go').click();
  const ids = page.getByTestId('compare-transfer-ids');
  await expect(ids).toBeVisible();
  const out = join(home, 'transfer.json');
  const transfer = await runFacet(['compare', 'transfer', '--run', String(stored.runId), '--from-coverage', '1', '--min-correlation', '0.3', '--out', out, '--json'], home);
  expect(transfer.code, transfer.stderr).toBe(0);
  expect(JSON.parse(await ids.inputValue())).toEqual((JSON.parse(transfer.stdout) as { features: number[] }).features);
  await page.screenshot({ path: 'test-results/compare-page.png', fullPage: true });
});
