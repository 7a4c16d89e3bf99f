import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { bundleCommit, llamaSourceBundlePath } from '../../src/core/forge/BundledVocab.ts';

const execFileAsync = promisify(execFile);

/**
 * A real model's Jinja chat template from the llama.cpp source bundled with node-llama-cpp
 * (`models/templates/<name>.jinja`), cached under `<os tmpdir>/facet-templates/<commit>/`.
 */
export async function bundledChatTemplate(name: string): Promise<string> {
  const bundle = llamaSourceBundlePath();
  const folder = join(tmpdir(), 'facet-templates', await bundleCommit(bundle));
  const target = join(folder, `${name}.jinja`);
  if (!(await stat(target).catch(() => undefined))?.isFile()) {
    await mkdir(folder, { recursive: true });
    const clone = await mkdtemp(join(folder, '.clone-'));
    try {
      await execFileAsync('git', ['clone', '--quiet', '--no-checkout', bundle, clone], { timeout: 120_000 });
      const { stdout } = await execFileAsync('git', ['-C', clone, 'show', `HEAD:models/templates/${name}.jinja`], { maxBuffer: 16 << 20 });
      const part = `${target}.part-${process.pid}`;
      await writeFile(part, stdout);
      await rename(part, target);
    } finally {
      await rm(clone, { recursive: true, force: true });
    }
  }
  return readFile(target, 'utf8');
}
