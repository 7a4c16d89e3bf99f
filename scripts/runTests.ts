/**
 * `npm test`: every tier in order and one closing line `N passed, N failed`.
 * 1. build the UI (electron-vite) — serve and e2e tests use it;
 * 2. typecheck and lint (each counts as one check);
 * 3. vitest: unit, store, model, CLI tiers;
 * 4. Playwright in Debian's Chromium against `facet serve`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const bin = (name: string) => join(root, 'node_modules', '.bin', name);
let passed = 0;
let failed = 0;
const failures: string[] = [];

function step(title: string, command: string, args: string[], env: NodeJS.ProcessEnv = {}): number {
  process.stdout.write(`\n=== ${title}: ${[command, ...args].join(' ')}\n`);
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  return result.status ?? 1;
}

function check(title: string, command: string, args: string[]): void {
  if (step(title, command, args) === 0) passed++;
  else {
    failed++;
    failures.push(title);
  }
}

function ensureChromium(): string | undefined {
  const path = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
  if (existsSync(path)) return path;
  if (process.getuid?.() === 0 && existsSync('/usr/bin/apt-get')) {
    process.stdout.write('\nChromium is missing; installing Debian\'s chromium for the UI tests.\n');
    step('apt-get update', 'apt-get', ['update', '-qq']);
    step('install chromium', 'apt-get', ['install', '-y', '-qq', 'chromium'], { DEBIAN_FRONTEND: 'noninteractive' });
    if (existsSync(path)) return path;
  }
  return undefined;
}

rmSync(join(root, 'test-results'), { recursive: true, force: true });
mkdirSync(join(root, 'test-results'), { recursive: true });

check('build', process.execPath, [join(root, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js'), 'build']);
check('typecheck', process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '--noEmit', '-p', 'tsconfig.json']);
check('lint', process.execPath, [join(root, 'node_modules', 'eslint', 'bin', 'eslint.js'), '--max-warnings', '0', '.']);

const vitestReport = join(root, 'test-results', 'vitest.json');
const failedBeforeVitest = failed;
const vitestStatus = step('vitest', bin('vitest'), ['run', '--reporter=default', '--reporter=json', `--outputFile=${vitestReport}`]);
if (existsSync(vitestReport)) {
  const report = JSON.parse(readFileSync(vitestReport, 'utf8')) as { numPassedTests: number; numFailedTests: number; numTotalTestSuites: number; testResults: { status: string; name: string; message?: string }[] };
  passed += report.numPassedTests;
  failed += report.numFailedTests;
  // A test file that fails to load has no test results but must count.
  for (const file of report.testResults) {
    if (file.status === 'failed' && file.message) {
      failed++;
      failures.push(`${file.name}: ${file.message.split('\n')[0]}`);
    }
  }
  if (report.numFailedTests > 0) failures.push(`${report.numFailedTests} vitest test(s)`);
  // e.g. an error thrown after the tests finished: the runner fails, the report shows no failure.
  if (vitestStatus !== 0 && failed === failedBeforeVitest) {
    failed++;
    failures.push(`vitest exited with ${vitestStatus} (see its output above)`);
  }
} else {
  failed++;
  failures.push('vitest produced no report');
}

const chromium = ensureChromium();
if (chromium === undefined) {
  failed++;
  failures.push("UI tests: Chromium not found at /usr/bin/chromium (install Debian's chromium or set CHROMIUM_PATH)");
} else {
  const playwrightStatus = step('playwright', bin('playwright'), ['test'], { CHROMIUM_PATH: chromium });
  const e2eReport = join(root, 'test-results', 'e2e.json');
  if (existsSync(e2eReport)) {
    const report = JSON.parse(readFileSync(e2eReport, 'utf8')) as { stats: { expected: number; unexpected: number; flaky: number; skipped: number } };
    passed += report.stats.expected + report.stats.flaky;
    failed += report.stats.unexpected;
    if (report.stats.unexpected > 0) failures.push(`${report.stats.unexpected} Playwright test(s)`);
    // e.g. a spec that fails to load: the runner fails, the stats show no unexpected result.
    if (playwrightStatus !== 0 && report.stats.unexpected === 0) {
      failed++;
      failures.push(`Playwright exited with ${playwrightStatus} (see its output above)`);
    }
  } else {
    failed++;
    failures.push('Playwright produced no report');
  }
}

if (failures.length > 0) process.stdout.write(`\nFailed: ${failures.join('; ')}\n`);
process.stdout.write(`\n${passed} passed, ${failed} failed\n`);
process.exit(failed === 0 ? 0 : 1);
