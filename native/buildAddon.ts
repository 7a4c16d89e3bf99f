/**
 * Builds Facet's llama.cpp probe addon (native/build/facet_probe.node) offline:
 * headers come from the llama.cpp source bundled inside the pinned node-llama-cpp, N-API headers
 * from node-api-headers + node-addon-api. The addon links to no llama library; it binds at runtime
 * to the one node-llama-cpp loaded (CPU, CUDA, Vulkan or Metal).
 *
 * Usage: node native/buildAddon.ts [--if-possible]   (--if-possible: warn instead of failing;
 * used by `npm install` so a machine without a C++ compiler can still install the rest).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');
const buildDir = join(here, 'build');
const includeDir = join(buildDir, 'include');
const output = join(buildDir, 'facet_probe.node');
const ifPossible = process.argv.includes('--if-possible');

/** The llama.cpp headers the addon compiles against (paths inside the bundled source). */
const headers = ['include/llama.h', 'ggml/include/ggml.h', 'ggml/include/ggml-backend.h', 'ggml/include/ggml-alloc.h', 'ggml/include/ggml-cpu.h', 'ggml/include/ggml-opt.h', 'ggml/include/gguf.h'];

function packageDir(name: string): string {
  const require = createRequire(join(root, 'package.json'));
  // Walk up from the resolved entry to the folder holding the package.json named `name`.
  let dir = dirname(require.resolve(name));
  while (dir !== dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === name) return dir;
    dir = dirname(dir);
  }
  throw new Error(`cannot locate the installed package ${name}; run npm install`);
}

function extractHeaders(): void {
  const bundle = join(packageDir('node-llama-cpp'), 'llama', 'gitRelease.bundle');
  if (!existsSync(bundle)) throw new Error(`${bundle} is missing; reinstall node-llama-cpp`);
  const stamp = join(includeDir, '.bundle-stamp');
  const stampValue = `${bundle}:${statSync(bundle).size}:${statSync(bundle).mtimeMs}`;
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === stampValue) return;
  const clone = join(buildDir, 'llama-source');
  rmSync(clone, { recursive: true, force: true });
  rmSync(includeDir, { recursive: true, force: true });
  mkdirSync(includeDir, { recursive: true });
  execFileSync('git', ['clone', '--quiet', '--no-checkout', bundle, clone], { stdio: ['ignore', 'ignore', 'pipe'] });
  for (const header of headers) {
    const text = execFileSync('git', ['-C', clone, 'show', `HEAD:${header}`], { maxBuffer: 64 * 1024 * 1024 });
    writeFileSync(join(includeDir, header.split('/').pop()!), text);
  }
  rmSync(clone, { recursive: true, force: true });
  writeFileSync(stamp, stampValue);
}

function compile(): void {
  const sources = readdirSync(join(here, 'src')).filter((name) => name.endsWith('.cpp')).map((name) => join(here, 'src', name));
  const partial = `${output}.part-${process.pid}`;
  const compiler = process.env.CXX ?? (process.platform === 'darwin' ? 'clang++' : 'g++');
  const args = [
    '-std=c++17', '-O2', '-fPIC', '-shared', '-fvisibility=hidden', '-Wall',
    '-DNAPI_VERSION=8', '-DNAPI_CPP_EXCEPTIONS', '-DNODE_ADDON_API_DISABLE_DEPRECATED',
    `-I${join(packageDir('node-api-headers'), 'include')}`,
    `-I${packageDir('node-addon-api')}`,
    `-I${includeDir}`,
    ...sources,
    '-o', partial,
  ];
  if (process.platform === 'darwin') args.push('-undefined', 'dynamic_lookup');
  else args.push('-ldl');
  execFileSync(compiler, args, { stdio: 'inherit' });
  // A running process may have the old addon mapped: replace the file, never rewrite it in place.
  renameSync(partial, output);
}

try {
  if (process.platform === 'win32') throw new Error('building the probe addon on Windows is not supported yet (needs MSVC and a node.lib import library)');
  mkdirSync(buildDir, { recursive: true });
  const started = performance.now();
  extractHeaders();
  compile();
  console.log(`facet: built ${output} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
} catch (error) {
  const message = error instanceof Error ? error.message : String(error);
  const advice = 'Facet needs a C++17 compiler (g++ or clang++) and git to build its llama.cpp probe; install them and run `npm run build:native`.';
  if (ifPossible) {
    console.warn(`facet: warning: the llama.cpp probe addon was not built: ${message}\n${advice}`);
  } else {
    console.error(`facet: building the llama.cpp probe addon failed: ${message}\n${advice}`);
    process.exitCode = 1;
  }
}
