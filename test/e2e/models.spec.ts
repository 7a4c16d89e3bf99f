import { join } from 'node:path';
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
