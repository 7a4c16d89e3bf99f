import { resolve } from 'node:path';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'electron-vite';

export default defineConfig({
  main: {
    build: {
      rollupOptions: {
        // The engine runs in its own utilityProcess; main only forks it.
        input: { index: resolve('src/main/index.ts'), engine: resolve('src/engine/utilityProcessEntry.ts') },
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
    build: { rollupOptions: { input: resolve('src/renderer/index.html') } },
    plugins: [react()],
  },
});
