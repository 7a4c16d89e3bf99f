import { test as base } from '@playwright/test';
import type { ChildProcess } from 'node:child_process';
import { startFacet, waitForLine } from '../support/runFacet.ts';
import { tempHome } from '../support/tempHome.ts';

/** Each test gets its own `facet serve` with a fresh FACET_HOME; `appUrl` carries the token. */
export const test = base.extend<{ appUrl: string; home: string }>({
  home: async ({}, use) => {
    const home = tempHome('facet-e2e-');
    await use(home.path);
    home.remove();
  },
  appUrl: async ({ home }, use) => {
    const server: ChildProcess = startFacet(['serve', '--port', '0', '--json'], home);
    const { url } = JSON.parse(await waitForLine(server, /"url"/)) as { url: string };
    await use(url);
    server.kill('SIGTERM');
  },
});
export { expect } from '@playwright/test';
