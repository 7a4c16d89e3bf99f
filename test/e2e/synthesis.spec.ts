import { existsSync, readFileSync } from 'node:fs';
import { runFacet } from '../support/runFacet.ts';
import { expect, test } from './serveFixture.ts';

test('runs a synthesis from a coverage run, follows its candidates, edits and drops a sample, and exports it with its card', async ({ page, appUrl, home }) => {
  test.setTimeout(600_000);
  // The demo registers a forged model, the sample datasets and a trained SAE, and measures coverage.
  const demo = await runFacet(['demo', '--threads', '1', '--synthesize', '0'], home, { timeoutMs: 300_000 });
  expect(demo.code, demo.stderr).toBe(0);
  await page.goto(appUrl);
  await page.getByTestId('nav-Synthesis').click();
  await expect(page.getByTestId('synthesis-start')).toBeVisible();
  await expect(page.getByTestId('synthesis-coverage')).toContainText('demo-seed vs demo-anchor');
  await page.getByTestId('synthesis-task').selectOption('instruction-following');
  await page.getByTestId('synthesis-limit').fill('2');
  await page.getByTestId('synthesis-contrast').fill('2');
  await page.getByTestId('synthesis-max-tokens').fill('64');
  await page.getByTestId('synthesis-start-button').click();

  // Candidates stream in with their outcome; FAC before and after appears at each δ of the coverage run.
  const run = page.getByTestId('synthesis-run');
  await expect(run.getByTestId('synthesis-candidate').first()).toBeVisible({ timeout: 240_000 });
  await expect(run.getByTestId('synthesis-coverage-row')).toHaveCount(3, { timeout: 240_000 });
  await expect(run.getByTestId('synthesis-fac').first()).toHaveText(/^\d+\.\d% → \d+\.\d%$/);
  const accepted = run.locator('[data-testid="synthesis-candidate"][data-outcome="accepted"]');
  const acceptedCount = await accepted.count();
  expect(acceptedCount).toBeGreaterThan(0);
  await page.screenshot({ path: 'test-results/synthesis-page.png', fullPage: true });

  // Edit: the edited text is measured again, then saved or refused with the reason.
  await accepted.first().click();
  const detail = run.getByTestId('synthesis-candidate-detail');
  await detail.getByTestId('synthesis-edit').click();
  const text = await detail.getByTestId('synthesis-edit-text').inputValue();
  await detail.getByTestId('synthesis-edit-text').fill(`${text} Answer briefly.`);
  await detail.getByTestId('synthesis-save').click();
  await expect(detail.getByTestId('synthesis-edit-message')).toHaveText(/Measured again: activation \d+\.\d{3}\. Saved\.|not above δ/, { timeout: 60_000 });

  // Drop: the sample leaves the dataset and its candidate shows as removed.
  await detail.getByTestId('synthesis-drop').click();
  await expect(run.locator('[data-testid="synthesis-candidate"][data-outcome="removed"]')).toHaveCount(1, { timeout: 30_000 });

  // Export with the dataset card.
  await run.getByTestId('synthesis-export-button').click();
  const result = run.getByTestId('synthesis-export-result');
  await expect(result).toContainText(`${acceptedCount - 1} samples (alpaca)`);
  const paths = /→ (\S+train\.jsonl) · card (\S+README\.md)/.exec((await result.textContent()) ?? '');
  expect(paths).not.toBeNull();
  expect(existsSync(paths![1]!)).toBe(true);
  const lines = readFileSync(paths![1]!, 'utf8').split('\n').filter((line) => line !== '');
  expect(lines).toHaveLength(acceptedCount - 1);
  for (const line of lines) expect(Object.keys(JSON.parse(line) as object)).toEqual(['instruction', 'input', 'output']);
  expect(readFileSync(paths![2]!, 'utf8')).toMatch(/^---\npretty_name: "demo-seed-synthetic-instruction-following"/);
  await page.screenshot({ path: 'test-results/synthesis-page-after.png', fullPage: true });
});
