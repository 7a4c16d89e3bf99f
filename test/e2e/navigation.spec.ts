import { runFacet } from '../support/runFacet.ts';
import { expect, test } from './serveFixture.ts';

test('pages and features have URLs that survive a reload and follow Back/Forward; rows work from the keyboard', async ({ page, appUrl, home }) => {
  test.setTimeout(240_000);
  const demo = await runFacet(['demo', '--threads', '1', '--synthesize', '0'], home, { timeoutMs: 300_000 });
  expect(demo.code, demo.stderr).toBe(0);
  const missing: string[] = [];
  page.on('response', (response) => {
    if (response.status() === 404) missing.push(response.url());
  });
  await page.goto(appUrl);
  await page.getByTestId('nav-Features').click();
  await expect(page).toHaveURL(/#\/Features/);
  const rows = page.getByTestId('feature-row');
  const first = (await rows.nth(0).locator('td').first().textContent())!;
  const second = (await rows.nth(1).locator('td').first().textContent())!;
  await rows.nth(0).click();
  await expect(page).toHaveURL(new RegExp(`#/Features\\?space=\\d+&feature=${first}$`));
  await page.reload();
  await expect(page.getByTestId('feature-detail')).toContainText(`Feature ${first}`);
  // keyboard: focus the second row and press Enter
  await rows.nth(1).focus();
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('feature-detail')).toContainText(`Feature ${second}`);
  await page.goBack();
  await expect(page.getByTestId('feature-detail')).toContainText(`Feature ${first}`);
  await page.getByTestId('nav-Coverage').click();
  await expect(page).toHaveURL(/#\/Coverage$/);
  await page.goBack();
  await expect(page).toHaveURL(new RegExp(`feature=${first}$`));
  await expect(page.getByTestId('feature-detail')).toContainText(`Feature ${first}`);
  await page.goForward();
  await expect(page.getByTestId('coverage-model')).toBeVisible();
  // a sort header is reachable by keyboard too
  await page.getByTestId('nav-Features').click();
  await page.getByTestId('sort-feature').focus();
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('sort-feature')).toHaveAttribute('aria-sort', 'ascending');
  expect(missing).toEqual([]);
});
