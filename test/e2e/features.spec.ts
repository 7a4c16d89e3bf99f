import { runFacet } from '../support/runFacet.ts';
import { expect, test } from './serveFixture.ts';

/** Where the screenshots go (FACET_SHOTS_DIR keeps them from runs that clear test-results). */
const shots = process.env['FACET_SHOTS_DIR'] ?? 'test-results';

test('features by dataset: per-dataset columns, anchor-not-seed filter, go to id, spans with context linking to their sample, URL through reload and Back', async ({ page, appUrl, home }) => {
  test.setTimeout(150_000);
  // The demo registers a forged model, the sample datasets and a trained SAE, and indexes anchor and seed (no synthesis: not needed here).
  const demo = await runFacet(['demo', '--threads', '1', '--synthesize', '0'], home, { timeoutMs: 120_000 });
  expect(demo.code, demo.stderr).toBe(0);
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.goto(appUrl);
  await page.getByTestId('nav-Features').click();

  // one column per indexed dataset, with its role
  const columns = page.getByTestId('dataset-column');
  await expect(columns.filter({ hasText: 'demo-anchor' })).toContainText('anchor');
  await expect(columns.filter({ hasText: 'demo-seed' })).toContainText('seed');
  const names = await columns.evaluateAll((cells) => cells.map((cell) => cell.firstChild?.textContent ?? ''));
  const anchorColumn = names.indexOf('demo-anchor');
  const seedColumn = names.indexOf('demo-seed');
  expect(anchorColumn).toBeGreaterThanOrEqual(0);

  // active in the anchor, absent in the seed: every row has anchor samples and no seed sample
  await page.getByTestId('active-in').selectOption({ label: 'demo-anchor (anchor)' });
  await page.getByTestId('absent-in').selectOption({ label: 'demo-seed (seed)' });
  await expect(page).toHaveURL(/activeIn=\d+&absentIn=\d+|absentIn=\d+.*activeIn=\d+/);
  const rows = page.getByTestId('feature-row');
  await expect(page.locator('.pager')).toContainText('active in demo-anchor (anchor) and absent in demo-seed (seed)');
  const rowCount = await rows.count();
  expect(rowCount).toBeGreaterThan(0);
  for (let r = 0; r < Math.min(rowCount, 10); r++) {
    const cells = rows.nth(r).getByTestId('dataset-cell');
    await expect(cells.nth(seedColumn).locator('.dataset-count')).toHaveText('—');
    await expect(cells.nth(anchorColumn).locator('.dataset-count')).not.toHaveText('—');
  }

  // go to a feature by id
  const id = (await rows.nth(1).locator('td').first().textContent())!.trim();
  await page.getByTestId('goto-feature').fill(id);
  await page.getByTestId('goto-feature-go').click();
  const detail = page.getByTestId('feature-detail');
  await expect(detail.getByRole('heading', { name: `Feature ${id}` })).toBeVisible();
  await expect(page).toHaveURL(new RegExp(`feature=${id}`));
  await expect(detail.getByTestId('feature-datasets')).toContainText('demo-seed');
  await expect(detail.getByTestId('feature-histogram').locator('.recharts-cartesian-axis')).toHaveCount(2);
  await expect(detail.getByTestId('feature-histogram')).toContainText('samples');

  // spans: context on both sides with per-token shading, the peak marked, a link to the sample
  const span = detail.getByTestId('feature-span').first();
  await expect(span.getByTestId('span-context')).toBeVisible({ timeout: 30_000 });
  await expect(span.locator('.peak')).toHaveCount(1);
  expect(await span.locator('.span-token.active, .template-chip.active').count()).toBeGreaterThanOrEqual(1);
  await expect(detail.getByTestId('feature-span').locator('.span-text').first()).not.toContainText('<|');
  const spanCount = await detail.getByTestId('feature-span').count();
  const texts = await detail.getByTestId('span-context').allTextContents();
  expect(new Set(texts).size).toBe(spanCount); // deduplicated
  await page.screenshot({ path: `${shots}/features-by-dataset-1440.png`, fullPage: true });
  await detail.getByRole('heading', { name: /Top spans/ }).scrollIntoViewIfNeeded();
  await page.screenshot({ path: `${shots}/features-by-dataset-spans-1440.png`, fullPage: true });
  await page.setViewportSize({ width: 1024, height: 800 });
  await expect(span.getByTestId('span-context')).toBeVisible();
  // 'Explain and judge features' is open while nothing is explained; collapsed (and remembered so),
  // the filters' compact grid lets the table start high enough to be seen at 1024 px
  await expect(page.getByTestId('interpret-panel')).toBeVisible();
  await page.getByTestId('interpret-toggle').click();
  await expect(page.getByTestId('interpret-panel')).toBeHidden();
  await page.evaluate(() => document.querySelector('main.content')?.scrollTo(0, 0));
  await page.screenshot({ path: `${shots}/features-top-1024.png` });
  const tableTop = await page.getByTestId('features-table').evaluate((table) => table.getBoundingClientRect().top + (document.querySelector('main.content')?.scrollTop ?? 0));
  expect(tableTop).toBeLessThan(450);
  // nothing runs past the detail panel at 1024 px
  const overflow = await detail.evaluate((panel) => panel.scrollWidth - panel.clientWidth);
  expect(overflow).toBeLessThanOrEqual(1);
  await detail.getByRole('heading', { name: /Top spans/ }).scrollIntoViewIfNeeded();
  await page.screenshot({ path: `${shots}/features-by-dataset-1024.png`, fullPage: true });

  // invalid ids name the field
  await page.getByTestId('goto-feature').fill('999999');
  await page.getByTestId('goto-feature-go').click();
  await expect(page.locator('.error')).toContainText("'Go to feature' takes a feature id from 0 to");

  const link = span.getByTestId('span-sample-link');
  const linkText = (await link.textContent())!;
  const ordinal = linkText.split('#')[1]!.trim();
  await link.click();
  await expect(page).toHaveURL(new RegExp(`#/Datasets\\?dataset=\\d+&sample=${ordinal}`));
  await expect(page.getByTestId('sample-detail')).toContainText(`Sample #${ordinal}`);

  // Back returns to the feature with its filters; a reload keeps them
  await page.goBack();
  await expect(page.getByTestId('feature-detail').getByRole('heading', { name: `Feature ${id}` })).toBeVisible();
  await expect(page.getByTestId('active-in')).toHaveValue(/\d+/);
  await page.reload();
  await expect(page.getByTestId('feature-detail').getByRole('heading', { name: `Feature ${id}` })).toBeVisible();
  await expect(page.getByTestId('interpret-panel')).toBeHidden();
  await expect(page.getByTestId('absent-in')).not.toHaveValue('');
  await expect(page.locator('.pager')).toContainText('absent in demo-seed');

  // counts over one dataset: clicking its column scopes the table, Back undoes it
  await page.getByTestId('dataset-column').filter({ hasText: 'demo-seed' }).click();
  await expect(page.getByTestId('dataset-scope')).not.toHaveValue('');
  await expect(page.locator('.pager')).toContainText('samples of demo-seed');
  await page.goBack();
  await expect(page.getByTestId('dataset-scope')).toHaveValue('');

  // the per-dataset columns scroll inside the table's card, not past it
  const tableCard = page.getByTestId('features-table').locator('xpath=ancestor::section[1]');
  expect(await tableCard.evaluate((card) => card.scrollWidth - card.clientWidth)).toBeLessThanOrEqual(1);

  // an explanation search that finds nothing says so (nothing is explained in this workspace)
  await page.getByTestId('explanation-search').fill('zzz');
  await page.getByTestId('explanation-search-go').click();
  await expect(page.getByTestId('features-search-empty')).toContainText("No feature's explanation matches 'zzz'");
  await expect(page.getByTestId('feature-row')).toHaveCount(0);

  // the dark theme
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.setViewportSize({ width: 1440, height: 900 });
  await expect(span.getByTestId('span-context')).toBeVisible({ timeout: 30_000 });
  await page.screenshot({ path: `${shots}/features-by-dataset-dark-1440.png`, fullPage: true });

  // a URL naming a dataset the space has no index of says which control to change
  const stale = new URL(page.url());
  stale.hash = '#/Features?dataset=9999';
  await page.goto(stale.toString());
  await page.reload();
  await expect(page.locator('.error')).toContainText("'Counts over' names dataset 9999");
});
