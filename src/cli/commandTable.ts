import type { CommandRun } from './CliContext.ts';

interface CommandEntry {
  summary: string;
  load: () => Promise<{ run: CommandRun }>;
}

/**
 * Top-level `facet` commands. Modules load lazily so `facet datasets list` never pays for
 * llama.cpp or onnxruntime start-up.
 */
export const commandTable: Record<string, CommandEntry> = {
  datasets: { summary: 'import, list, show and remove datasets', load: () => import('./commands/datasetsCommand.ts') },
  jobs: { summary: 'list, show, cancel and resume long-running jobs', load: () => import('./commands/jobsCommand.ts') },
  serve: { summary: 'serve the Facet UI and API to a browser (loopback, token-protected)', load: () => import('./commands/serveCommand.ts') },
  demo: { summary: 'run the headless main job on built-in defaults', load: () => import('./commands/demoCommand.ts') },
  forge: { summary: 'build a tiny test model (real tokenizer, seeded weights) as a GGUF file', load: () => import('./commands/forgeCommand.ts') },
  activations: { summary: 'capture the residual stream l_out-L (0-based block) of samples to .npy/.safetensors', load: () => import('./commands/activationsCommand.ts') },
  models: { summary: 'register, list, inspect, remove and download GGUF models', load: () => import('./commands/modelsCommand.ts') },
  hardware: { summary: 'show the llama.cpp backend, devices, memory, cores and a model memory estimate', load: () => import('./commands/hardwareCommand.ts') },
};
