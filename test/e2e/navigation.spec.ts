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
  await expect(page).toHaveURL(/#\/Coverage(\?run=\d+)?$/);
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
  // Back returns to where the page was scrolled; another page starts at its top
  const pane = page.locator('main.content');
  await pane.evaluate((element) => {
    element.scrollTop = 1200;
  });
  await page.waitForTimeout(400); // the position is saved a moment after scrolling stops
  const saved = await pane.evaluate((element) => element.scrollTop);
  expect(saved).toBeGreaterThan(600);
  await page.getByTestId('nav-Jobs').click();
  await expect.poll(() => pane.evaluate((element) => element.scrollTop)).toBe(0);
  await expect(pane).toBeFocused();
  await page.goBack();
  await expect.poll(() => pane.evaluate((element) => element.scrollTop)).toBeGreaterThan(saved - 5);
  expect(missing).toEqual([]);
});

test('an address without the access token says so instead of retrying forever', async ({ page, appUrl }) => {
  const url = new URL(appUrl);
  url.search = '';
  await page.goto(`${url.toString()}#/Coverage`);
  await expect(page.getByTestId('connection-no-token')).toContainText('no access token');
  await expect(page.getByTestId('connection-status')).toHaveText('no connection');
});

test('the command palette opens pages by name or purpose and features by id; Alt+number opens pages; Escape gives focus back', async ({ page, appUrl }) => {
  await page.goto(appUrl);
  await expect(page.getByTestId('connection-status')).toHaveText('engine connected');
  await page.getByTestId('nav-Datasets').focus();
  await page.keyboard.press('Control+k');
  const palette = page.getByTestId('command-palette');
  await expect(palette).toBeVisible();
  await expect(page.getByTestId('command-input')).toBeFocused();
  // by purpose: "missing" finds Coverage
  await page.keyboard.type('missing');
  await expect(palette.getByTestId('command-option').first()).toContainText('Go to Coverage');
  await page.keyboard.press('Enter');
  await expect(palette).toHaveCount(0);
  await expect(page).toHaveURL(/#\/Coverage$/);
  await expect(page).toHaveTitle('Coverage · Facet');
  // arrows move the choice
  await page.keyboard.press('Control+k');
  await page.keyboard.type('go to');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(/#\/Features$/);
  // a feature by its id
  await page.keyboard.press('Control+k');
  await page.keyboard.type('42');
  await expect(palette.getByTestId('command-option').first()).toHaveText(/Open feature 42/);
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(/#\/Features\?feature=42$/);
  // Alt+number, and Escape returns focus to where it was
  await page.keyboard.press('Alt+8');
  await expect(page).toHaveURL(/#\/Jobs$/);
  await page.getByTestId('nav-Models').focus();
  await page.keyboard.press('/');
  await expect(palette).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(palette).toHaveCount(0);
  await expect(page.getByTestId('nav-Models')).toBeFocused();
  await page.goBack();
  await expect(page).toHaveURL(/#\/Features\?feature=42$/);
});
