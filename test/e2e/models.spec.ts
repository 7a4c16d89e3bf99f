import { cpSync, createReadStream, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runFacet } from '../support/runFacet.ts';
import { expect, test } from './serveFixture.ts';

test('registers a model through path completion, shows the estimate before loading, keeps it in the URL', async ({ page, appUrl, home }) => {
  const modelPath = join(home, 'tiny-qwen2.gguf');
  const forged = await runFacet(['forge', '--family', 'qwen2', '--layers', '2', '--dim', '64', '--seed', '7', '--out', modelPath], home, { timeoutMs: 120_000 });
  expect(forged.code, forged.stderr).toBe(0);
  await page.goto(appUrl);
  await page.getByTestId('nav-Models').click();
  // type the folder and the start of the name: the completion offers the .gguf (and folders), not other files
  const field = page.getByTestId('model-path');
  await field.fill(`${home}${sep}tiny`);
  const option = page.getByTestId('path-option');
  await expect(option).toHaveCount(1);
  await expect(option).toContainText('tiny-qwen2.gguf');
  await field.press('Enter');
  await expect(field).toHaveValue(modelPath);
  await page.getByTestId('model-add').click();
  const row = page.getByTestId('model-row');
  await expect(row).toHaveCount(1, { timeout: 30_000 });
  await expect(row).toContainText('tiny-qwen2');
  await expect(row).toContainText('qwen2');

  // a wrong path is refused at once, in the form's words, naming the file
  await field.fill(join(home, 'missing.gguf'));
  await page.getByTestId('model-add').click();
  const error = page.getByTestId('model-add-error');
  await expect(error).toContainText('missing.gguf');
  await expect(error).toContainText("'GGUF file'");
  await expect(error).not.toContainText('facet models');

  // the open model is in the URL: the estimate survives a reload
  await row.click();
  await expect(page).toHaveURL(/#\/Models\?model=tiny-qwen2/);
  const estimate = page.getByTestId('model-estimate');
  await expect(estimate.getByTestId('estimate-parameters')).toHaveText(/^\d{1,3}(,\d{3})+$/);
  await expect(estimate.getByTestId('estimate-fits')).toContainText('Fits in free RAM');
  await page.getByTestId('estimate-context').fill('256');
  // 2 (K, V) · 2 blocks · 256 positions · KV heads · head size · 2 bytes: the forge's qwen2 at dim 64 has 2 KV heads of 16
  await expect(estimate.getByTestId('estimate-kv')).toContainText('64 KiB at 256 tokens');
  await page.reload();
  await expect(page.getByTestId('model-estimate')).toContainText('tiny-qwen2');
  await expect(page.getByTestId('model-row')).toHaveAttribute('aria-selected', 'true');

  // Download with no address says what is missing
  await page.getByTestId('model-uri').fill('');
  await expect(page.getByTestId('model-download')).toBeDisabled();
  await expect(page.getByTestId('model-download')).toHaveAttribute('title', /Type an address in 'Or download'/);

  // a quantized copy from the form: a job, then a registered model beside the source file
  const quantize = page.getByTestId('quantize-panel');
  await expect(quantize.getByTestId('quantize-model')).toHaveValue('tiny-qwen2');
  await quantize.getByTestId('quantize-type').selectOption('q8_0');
  await expect(quantize.getByTestId('quantize-name')).toHaveAttribute('placeholder', 'tiny-qwen2-q8_0');
  await quantize.getByRole('button', { name: 'Quantize' }).click();
  const quantizedRow = page.locator('[data-testid="model-row"]', { hasText: 'tiny-qwen2-q8_0' });
  await expect(quantizedRow).toHaveCount(1, { timeout: 60_000 });
  await expect(quantizedRow).toContainText(/q8_0/i);
  expect(statSync(join(home, 'tiny-qwen2-q8_0.gguf')).size).toBeGreaterThan(0);
  // the same name again: the file exists, refused at once in the form's words
  await quantize.getByTestId('quantize-start').click();
  await expect(quantize.getByTestId('quantize-error')).toContainText('already exists');
  await expect(quantize.getByTestId('quantize-error')).not.toContainText('--out');
  await page.setViewportSize({ width: 1024, height: 1000 });
  await quantize.scrollIntoViewIfNeeded();
  await page.screenshot({ path: 'test-results/models-quantize-1024.png' });
});

test('refuses a layer past the depth before a job starts, trains with live curves, imports and removes SAEs', async ({ page, appUrl, home }) => {
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
  // defaults sized to the model: 16 × d_model 64 → 1,024 features (not 65,536); layers 0 to 1
  await expect(page.getByTestId('train-features')).toHaveAttribute('placeholder', '1,024');
  await expect(page.getByTestId('train-defaults')).toContainText('Layer: 0 to 1');

  await page.getByTestId('train-layer').fill('5');
  await page.getByTestId('train-features').fill('64');
  await page.getByTestId('train-k').fill('4');
  await page.getByTestId('train-epochs').fill('1');
  await page.getByTestId('train-start').click();
  // the form checks its ranges in plain words before the engine is asked
  await expect(page.getByTestId('train-error')).toHaveText('Layer: 0 to 1 for tiny; not 5.');
  await expect(page.getByTestId('train-layer')).toHaveAttribute('aria-invalid', 'true');
  await page.getByTestId('train-layer').fill('-1');
  await page.getByTestId('train-start').click();
  await expect(page.getByTestId('train-error')).toHaveText('Layer: 0 to 1 for tiny; not -1.');
  await page.getByTestId('train-layer').fill('0');
  await page.getByTestId('train-k').fill('5000');
  await page.getByTestId('train-start').click();
  await expect(page.getByTestId('train-error')).toHaveText('K: 1 to 64 (at most the number of features); not 5,000.');
  await expect(page.getByTestId('train-k')).toHaveAttribute('aria-invalid', 'true');
  await page.getByTestId('train-k').fill('4');
  await page.getByTestId('train-batch').fill('');
  await page.getByTestId('train-start').click();
  await expect(page.getByTestId('train-error')).toContainText('Batch: a number of tokens, at least 16');
  await page.getByTestId('train-batch').fill('32');
  await page.getByTestId('train-epochs').fill('0');
  await page.getByTestId('train-start').click();
  await expect(page.getByTestId('train-error')).toHaveText('Epochs: 1 to 100 passes over the dataset; not 0.');
  await page.getByTestId('train-epochs').fill('1');
  await expect(page.getByTestId('job')).toHaveCount(0);

  await page.getByTestId('train-layer').fill('0');
  await page.getByTestId('train-batch').fill('32');
  await page.getByTestId('train-start').click();
  await expect(page.getByTestId('train-error')).toHaveCount(0);
  const curves = page.getByTestId('training-curves').first();
  await expect(curves.getByTestId('training-chart-normalisedMse')).toBeVisible({ timeout: 60_000 });
  await expect(curves.getByTestId('training-chart-l0')).toBeVisible();
  await expect(curves.getByTestId('training-chart-deadFeatures')).toBeVisible();
  await expect(curves.getByTestId('training-figures')).toContainText('of 64');
  await expect(curves.locator('.recharts-line-curve').first()).toBeVisible();
  await expect(curves.getByTestId('training-validation')).toContainText(/Held out \([\d,]+ tokens, last epoch\): normalised MSE \d\.\d{4}/, { timeout: 60_000 });
  const row = page.getByTestId('sae-row');
  await expect(row).toHaveCount(1, { timeout: 60_000 });
  await expect(row).toContainText('64 → 64');
  await expect(row).toContainText('topk');
  const trained = (await row.locator('td').first().textContent()) ?? '';
  // the same settings again would register the same name: refused before a job starts, naming the field
  await page.getByTestId('train-start').click();
  await expect(page.getByTestId('train-error')).toContainText(`An SAE named '${trained}' is already registered.`);
  await expect(page.getByTestId('train-error')).toContainText("'SAE name'");
  await expect(page.getByTestId('train-error')).not.toContainText('--name');
  await expect(page.getByTestId('train-name')).toHaveAttribute('aria-invalid', 'true');

  // import: the stored copy of the trained SAE, copied elsewhere; the same weights are refused under another name first
  const stored = join(home, 'saes', readdirSync(join(home, 'saes'))[0] as string);
  const copy = join(home, 'my-sae');
  cpSync(stored, copy, { recursive: true });
  const saePath = page.getByTestId('sae-path');
  await saePath.fill(`${home}${sep}my`);
  await expect(page.getByTestId('path-option')).toContainText('my-sae');
  await saePath.press('Enter');
  await expect(saePath).toHaveValue(`${copy}${sep}`);
  await page.getByTestId('sae-import').click();
  await expect(page.getByTestId('sae-import-error')).toContainText(`already registered as '${trained}'`);
  // a file that is no SAE: named as given, in one short line
  const photo = join(home, 'my photo.png');
  writeFileSync(photo, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  await saePath.fill(photo);
  await page.getByTestId('sae-import').click();
  await expect(page.getByTestId('sae-import-error')).toContainText('my photo.png is a file that is not an SAE');
  expect(((await page.getByTestId('sae-import-error').textContent()) ?? '').length).toBeLessThan(400);
  await saePath.fill(`${copy}${sep}`);
  await page.once('dialog', (dialog) => void dialog.accept());
  await row.getByTestId('sae-remove').click();
  await expect(page.getByTestId('sae-row')).toHaveCount(0);
  await page.getByTestId('sae-import').click();
  await expect(page.getByTestId('sae-row')).toHaveCount(1, { timeout: 30_000 });
  await expect(page.getByTestId('sae-row')).toContainText('my-sae');
  await expect(page).toHaveURL(/sae=my-sae/);
  await expect(page.getByTestId('sae-row')).toHaveAttribute('aria-selected', 'true');
  // the page scrolls inside its content pane: one screenshot at the top, one at the training curves
  await page.getByTestId('nav-Models').click();
  await page.getByTestId('model-row').click();
  await expect(page.getByTestId('estimate-fits')).toBeVisible({ timeout: 20_000 });
  await page.setViewportSize({ width: 1440, height: 1100 });
  await page.screenshot({ path: 'test-results/models-page-1440.png' });
  await page.getByTestId('training-curves').first().scrollIntoViewIfNeeded();
  await page.screenshot({ path: 'test-results/models-page-1440-training.png' });
  await page.setViewportSize({ width: 1024, height: 1100 });
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.screenshot({ path: 'test-results/models-page-1024-dark.png' });
});

test('downloads a model from an HTTP server with byte progress', async ({ page, appUrl, home }) => {
  const modelPath = join(home, 'to-serve.gguf');
  expect((await runFacet(['forge', '--family', 'qwen2', '--layers', '2', '--dim', '64', '--seed', '9', '--out', modelPath], home, { timeoutMs: 120_000 })).code).toBe(0);
  const size = statSync(modelPath).size;
  // a real local HTTP server, slowed to ~16 MiB/s so the progress is seen
  const server = createServer((request, response) => {
    if (request.url !== '/models/served.gguf') return void response.writeHead(404).end();
    response.writeHead(200, { 'content-length': String(size), 'content-type': 'application/octet-stream' });
    if (request.method === 'HEAD') return void response.end();
    const stream = createReadStream(modelPath, { highWaterMark: 256 * 1024 });
    stream.on('data', () => {
      stream.pause();
      setTimeout(() => stream.resume(), 15);
    });
    stream.pipe(response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    await page.goto(appUrl);
    await page.getByTestId('nav-Models').click();
    await page.getByTestId('model-uri').fill(`http://127.0.0.1:${(server.address() as AddressInfo).port}/models/served.gguf`);
    await page.getByTestId('model-download-name').fill('served');
    await page.getByTestId('model-download').click();
    const job = page.getByTestId('job').filter({ hasText: 'Download model' });
    await expect(job.getByTestId('job-done')).toContainText(/[\d,]+ \/ [\d,]+ bytes/, { timeout: 30_000 });
    await expect(page.getByTestId('model-row')).toContainText('served', { timeout: 60_000 });
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
