import { runFacet } from '../support/runFacet.ts';
import { expect, test } from './serveFixture.ts';

test('explains and judges features from the Features page, then filters by verdict', async ({ page, appUrl, home }) => {
  test.setTimeout(300_000);
  // The demo registers a forged model, the sample datasets and a trained SAE, and indexes anchor and seed.
  const demo = await runFacet(['demo', '--threads', '1'], home, { timeoutMs: 300_000 });
  expect(demo.code, demo.stderr).toBe(0);
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.goto(appUrl);
  await page.getByTestId('nav-Features').click();
  const panel = page.getByTestId('interpret-panel');
  await expect(panel).toBeVisible();

  // An endpoint says plainly that texts leave the machine.
  await panel.getByTestId('interpret-use-endpoint').check();
  await expect(panel.getByTestId('endpoint-notice')).toContainText('Texts leave this machine');
  await panel.getByTestId('interpret-use-endpoint').uncheck();
  await expect(panel.getByTestId('endpoint-notice')).toHaveCount(0);

  await panel.getByTestId('interpret-limit').fill('2');
  await panel.getByTestId('interpret-candidates').fill('2');
  await panel.getByTestId('explain-start').click();
  await expect(panel.getByTestId('job').first()).toBeVisible();
  // The two most frequent features get an explanation (or a recorded "cannot tell").
  const firstCells = page.getByTestId('feature-explanation');
  await expect.poll(async () => (await firstCells.nth(0).textContent()) !== '—' && (await firstCells.nth(1).textContent()) !== '—', { timeout: 180_000 }).toBe(true);
  await expect(panel.getByTestId('interpret-error')).toHaveCount(0);

  await panel.getByTestId('judge-task').fill('toxicity');
  await panel.getByTestId('judge-start').click();
  await expect(page.getByTestId('verdict-task')).toHaveValue('toxicity', { timeout: 180_000 });
  const verdicts = page.getByTestId('feature-verdict');
  await expect.poll(async () => ['Yes', 'Probably', 'Maybe', 'No'].includes(((await verdicts.nth(0).textContent()) ?? '').trim()), { timeout: 180_000 }).toBe(true);

  // The detail shows the explanation with its score and the verdict with its analysis.
  await page.getByTestId('feature-row').first().click();
  const detail = page.getByTestId('feature-interpretation');
  await expect(detail).toContainText('detection');
  await expect(detail.getByTestId('feature-verdicts')).toContainText('toxicity');
  await page.screenshot({ path: 'test-results/features-explained-1440.png', fullPage: true });
  await page.setViewportSize({ width: 1024, height: 800 });
  await page.screenshot({ path: 'test-results/features-explained-1024.png', fullPage: true });

  // "Not judged yet" leaves out the judged features.
  const judged = (await verdicts.first().textContent())?.trim();
  expect(judged).toBeTruthy();
  const firstFeature = await page.getByTestId('feature-row').first().locator('td').first().textContent();
  await page.getByTestId('verdict-filter').selectOption('unjudged');
  await expect(page.getByTestId('feature-row').first().locator('td').first()).not.toHaveText(firstFeature ?? '');
  await expect(page.getByTestId('feature-verdict').first()).toHaveText('—');

  // Coverage over F = the features judged relevant to the task.
  await page.getByTestId('nav-Coverage').click();
  await page.getByTestId('coverage-anchor').selectOption('demo-anchor');
  await page.getByTestId('coverage-seed').selectOption('demo-seed');
  await page.getByTestId('coverage-task').fill('toxicity');
  await page.getByTestId('coverage-run').click();
  await expect(page.getByTestId('coverage-result')).toContainText('judged relevant to toxicity', { timeout: 120_000 });
});
