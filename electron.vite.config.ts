import { resolve } from 'node:path';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'electron-vite';

export default defineConfig({
  main: {
    build: {
      rollupOptions: {
        // The engine runs in its own utilityProcess; main only forks it. The engine in turn forks
        // a process per model-loading job (jobProcess) and per model (modelProcess), so a native
        // abort costs that job or request instead of the engine (src/engine/jobProcessLauncher.ts).
        input: {
          index: resolve('src/main/index.ts'),
          engine: resolve('src/engine/utilityProcessEntry.ts'),
          jobProcess: resolve('src/engine/jobProcessEntry.ts'),
          modelProcess: resolve('src/engine/modelProcessEntry.ts'),
        },
      },
    },
  },
  preload: {
    build: {
      // A sandboxed window needs a single CommonJS preload with nothing external.
      externalizeDeps: false,
      rollupOptions: {
        input: { index: resolve('src/preload/index.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: resolve('src/renderer'),
    // FACET_RENDERER_OUT builds the UI into a private folder (served with FACET_UI_DIR), so
    // parallel work does not overwrite out/renderer under a running UI test.
    build: { rollupOptions: { input: resolve('src/renderer/index.html') }, ...(process.env['FACET_RENDERER_OUT'] ? { outDir: process.env['FACET_RENDERER_OUT'], emptyOutDir: true } : {}) },
    plugins: [react()],
  },
});
