import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runFacet } from '../support/runFacet.ts';
import { expect, test } from './serveFixture.ts';

test('registers a forged GGUF model from the Models page', async ({ page, appUrl, home }) => {
  const modelPath = join(home, 'tiny-qwen2.gguf');
  const forged = await runFacet(['forge', '--family', 'qwen2', '--layers', '2', '--dim', '64', '--seed', '7', '--out', modelPath], home, { timeoutMs: 120_000 });
  expect(forged.code, forged.stderr).toBe(0);
  await page.goto(appUrl);
  await page.getByTestId('nav-Models').click();
  await page.getByTestId('model-path').fill(modelPath);
  await page.getByTestId('model-add').click();
  const row = page.getByTestId('model-row');
  await expect(row).toHaveCount(1, { timeout: 30_000 });
  await expect(row).toContainText('tiny-qwen2');
  await expect(row).toContainText('qwen2');
  await page.getByTestId('model-path').fill(join(home, 'missing.gguf'));
  await page.getByTestId('model-add').click();
  await expect(page.getByTestId('job-error')).toContainText('missing.gguf');
});

test('trains a small SAE from the Models page and lists it', async ({ page, appUrl, home }) => {
  const modelPath = join(home, 'tiny-llama3.gguf');
  const forged = await runFacet(['forge', '--family', 'llama3', '--layers', '2', '--dim', '64', '--seed', '3', '--out', modelPath], home, { timeoutMs: 120_000 });
  expect(forged.code, forged.stderr).toBe(0);
  expect((await runFacet(['models', 'add', modelPath, '--name', 'tiny'], home)).code).toBe(0);
  const samples = fileURLToPath(new URL('../../resources/samples/anchor-instructions.jsonl', import.meta.url));
  expect((await runFacet(['datasets', 'import', samples, '--name', 'prompts'], home)).code).toBe(0);
  await page.goto(appUrl);
  await page.getByTestId('nav-Models').click();
  await expect(page.getByTestId('train-model')).toHaveValue('tiny');
  await expect(page.getByTestId('train-dataset')).toHaveValue('prompts');
  await page.getByTestId('train-layer').fill('0');
  await page.getByTestId('train-features').fill('64');
  await page.getByTestId('train-k').fill('4');
  await page.getByTestId('train-epochs').fill('1');
  await page.getByTestId('train-start').click();
  const row = page.getByTestId('sae-row');
  await expect(row).toHaveCount(1, { timeout: 60_000 });
  await expect(row).toContainText('64 → 64');
  await expect(row).toContainText('topk');
  await page.screenshot({ path: 'test-results/models-page.png', fullPage: true });
});
