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
  models: { summary: 'register, list, inspect, remove and download GGUF models', load: () => import('./commands/modelsCommand.ts') },
  hardware: { summary: 'backend, devices, memory, and a memory estimate for a model + context', load: () => import('./commands/hardwareCommand.ts') },
  activations: { summary: 'capture residual-stream activations (l_out-L, 0-based block index) to .npy/.safetensors', load: () => import('./commands/activationsCommand.ts') },
  forge: { summary: 'build a tiny seeded GGUF model with a real LLaMA-3, Mistral or Qwen2 tokenizer', load: () => import('./commands/forgeCommand.ts') },
  sae: { summary: 'import, list, inspect and remove SAEs; encode, decode, train and check them', load: () => import('./commands/saeCommand.ts') },
  coverage: { summary: 'Feature Activation Coverage (FAC) of a seed set against an anchor set; indexes what is missing', load: () => import('./commands/coverageCommand.ts') },
  features: { summary: 'list feature spaces, index a dataset, feature table and one feature (histogram, top spans)', load: () => import('./commands/featuresCommand.ts') },
  synthesize: { summary: 'FAC Synthesis: generate samples that activate the missing features, verify each, keep its lineage', load: () => import('./commands/synthesizeCommand.ts') },
  probe: { summary: "head-only probes on a frozen model: a classifier's AUPRC/AUROC/accuracy, a reward head's pairwise accuracy", load: () => import('./commands/probeCommand.ts') },
  steer: { summary: 'CAA steering vectors and their evaluation: robust A/B accuracy per multiplier and the Steering Control Rate', load: () => import('./commands/steerCommand.ts') },
  report: { summary: 'diversity report of datasets: FAC per δ (also length-matched), text metrics, embedding spread; JSON or one HTML file', load: () => import('./commands/reportCommand.ts') },
  compare: { summary: 'match features between two feature spaces (e.g. LLaMA vs Qwen SAEs), SVCCA/RSA with nulls, transfer missing features', load: () => import('./commands/compareCommand.ts') },
  serve: { summary: 'serve the Facet UI and API to a browser (loopback, token-protected)', load: () => import('./commands/serveCommand.ts') },
  demo: { summary: 'run the headless main job on built-in defaults', load: () => import('./commands/demoCommand.ts') },
};
