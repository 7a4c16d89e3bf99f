import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempHome } from '../support/tempHome.ts';

const root = join(import.meta.dirname, '..', '..');
let home: { path: string; remove(): void };
beforeEach(() => {
  home = tempHome();
});
afterEach(() => home.remove());

/** `npx facet …` from the checkout's root, as the README tells a newcomer to type it. */
function npxFacet(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync('npx', ['facet', ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, FACET_HOME: home.path }, timeout: 120_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Lines npm itself adds are not Facet's; a failing command must add exactly one of its own. */
function facetLines(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line.length > 0 && !line.startsWith('npm '));
}

describe('npx facet', () => {
  // npm exec installs a project whose own package.json has a matching `bin` into its npx cache,
  // where --strict-allow-scripts refuses the project's install script (ESTRICTALLOWSCRIPTS). The
  // command lives in the facet-cli workspace so npx finds node_modules/.bin/facet and runs it here.
  it('runs the checkout in place: --help lists the commands and exits 0', () => {
    const run = npxFacet(['--help']);
    expect(run.stderr).not.toContain('ESTRICTALLOWSCRIPTS');
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^Usage: facet <command>/);
    expect(run.stdout).toContain('demo');
  });

  it('a failing command prints a one-line cause and exits non-zero through npx', () => {
    const missing = npxFacet(['datasets', 'show', 'nothere']);
    expect(missing.status).toBe(1);
    expect(facetLines(missing.stderr)).toEqual(["Error [NOT_FOUND]: No dataset named 'nothere'. See 'facet datasets list'."]);

    const unknown = npxFacet(['nosuch']);
    expect(unknown.status).toBe(2);
    expect(facetLines(unknown.stderr)).toEqual(["Error [INVALID_ARGUMENT]: unknown command 'nosuch'. Run 'facet --help' for the list of commands."]);

    // a workspace that is a file: the same coded line from commands that open the store directly
    for (const command of [['models', 'list'], ['sae', 'list'], ['datasets', 'list']]) {
      const result = spawnSync('npx', ['facet', ...command], { cwd: root, encoding: 'utf8', env: { ...process.env, FACET_HOME: join(root, 'package.json') }, timeout: 120_000 });
      expect(result.status, command.join(' ')).toBe(1);
      expect(facetLines(result.stderr)).toEqual([expect.stringMatching(/^Error \[WORKSPACE_INVALID\]: The workspace .*package\.json/)]);
    }

    const badOption = npxFacet(['datasets', 'import', '--bogus']);
    expect(badOption.status).toBe(2);
    expect(facetLines(badOption.stderr)).toHaveLength(1);
    expect(facetLines(badOption.stderr)[0]).toMatch(/^Error \[INVALID_ARGUMENT\]: .*--bogus/);
  });
});
