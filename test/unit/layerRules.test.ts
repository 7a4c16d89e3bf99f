import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const eslint = new ESLint({ cwd: process.cwd() });

async function ruleIds(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).map((message) => message.ruleId ?? message.message);
}

describe('ESLint layer rules', () => {
  it('refuses core importing engine', async () => {
    expect(await ruleIds('src/core/layerProbe.ts', "import { FacetEngine } from '../engine/FacetEngine.ts';\nexport const x = FacetEngine;\n")).toContain('import-x/no-restricted-paths');
  });
  it('refuses renderer importing core', async () => {
    expect(await ruleIds('src/renderer/src/layerProbe.ts', "import { Store } from '../../core/store/Store.ts';\nexport const x = Store;\n")).toContain('import-x/no-restricted-paths');
  });
  it('refuses shared importing core', async () => {
    expect(await ruleIds('src/shared/layerProbe.ts', "import { Store } from '../core/store/Store.ts';\nexport const x = Store;\n")).toContain('import-x/no-restricted-paths');
  });
  it('refuses electron outside main and preload', async () => {
    expect(await ruleIds('src/core/layerProbe.ts', "import { app } from 'electron';\nexport const x = app;\n")).toContain('no-restricted-imports');
    expect(await ruleIds('src/engine/layerProbe.ts', "import { app } from 'electron';\nexport const x = app;\n")).toContain('no-restricted-imports');
  });
  it('refuses Node built-ins in the renderer and shared code, with or without the node: prefix', async () => {
    expect(await ruleIds('src/renderer/src/layerProbe.ts', "import { readFile } from 'node:fs';\nexport const x = readFile;\n")).toContain('no-restricted-imports');
    expect(await ruleIds('src/renderer/src/layerProbe.ts', "import { readFile } from 'fs';\nexport const x = readFile;\n")).toContain('no-restricted-imports');
    expect(await ruleIds('src/shared/layerProbe.ts', "import { join } from 'path';\nexport const x = join;\n")).toContain('no-restricted-imports');
  });
  it('refuses electron subpaths outside main and preload', async () => {
    expect(await ruleIds('src/renderer/src/layerProbe.ts', "import { app } from 'electron/main';\nexport const x = app;\n")).toContain('no-restricted-imports');
    expect(await ruleIds('src/core/layerProbe.ts', "import { app } from 'electron/main';\nexport const x = app;\n")).toContain('no-restricted-imports');
  });
  it('allows imports that point down', async () => {
    expect(await ruleIds('src/core/layerProbe.ts', "import { FacetError } from '../shared/FacetError.ts';\nexport const x = FacetError;\n")).toEqual([]);
    expect(await ruleIds('src/cli/layerProbe.ts', "import { FacetEngine } from '../engine/FacetEngine.ts';\nexport const x = FacetEngine;\n")).toEqual([]);
    expect(await ruleIds('src/main/layerProbe.ts', "import { app } from 'electron';\nexport const x = app;\n")).toEqual([]);
  });
});
