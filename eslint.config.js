// ESLint flat config. The layer rules are the point: imports point one way, down
// (shared <- core <- engine <- cli; main, preload and renderer see only shared).
import { builtinModules } from 'node:module';
import importX, { createNodeResolver } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

const layers = ['shared', 'core', 'engine', 'cli', 'main', 'preload', 'renderer'];
/** What each layer may import besides itself. */
const allowed = {
  shared: [],
  core: ['shared'],
  engine: ['core', 'shared'],
  cli: ['engine', 'core', 'shared'],
  main: ['shared'],
  preload: ['shared'],
  renderer: ['shared'],
};

export const layerZones = layers.flatMap((target) =>
  layers
    .filter((from) => from !== target && !allowed[target].includes(from))
    .map((from) => ({ target: `./src/${target}`, from: `./src/${from}`, message: `src/${target} must not import src/${from} (see docs/ARCHITECTURE.md, layers).` })),
);

const electronMessage = 'Only src/main and src/preload may import electron; outside Electron it tries to download a binary and throws.';
const electronBan = {
  paths: [{ name: 'electron', message: electronMessage }],
  patterns: [{ group: ['electron/*'], message: electronMessage }],
};
const browserMessage = 'Browser code: no Node built-ins.';

export default tseslint.config(
  { ignores: ['out/**', 'node_modules/**', 'native/build/**', 'test-results/**', 'playwright-report/**', 'test/fixtures/lint/**', '.facet-tmp/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.{ts,tsx,js}'],
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.tsx', '.js'] })] },
    rules: {
      'import-x/no-restricted-paths': ['error', { zones: layerZones }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  { files: ['src/{shared,core,engine,cli,renderer}/**/*.{ts,tsx}'], rules: { 'no-restricted-imports': ['error', electronBan] } },
  {
    files: ['src/renderer/**/*.{ts,tsx}', 'src/shared/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [...electronBan.paths, ...builtinModules.map((name) => ({ name, message: browserMessage }))],
          patterns: [...electronBan.patterns, { group: ['node:*'], message: browserMessage }],
        },
      ],
    },
  },
);
