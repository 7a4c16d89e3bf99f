/** What `facet activations` (the `activations.capture` job) wrote. */
export interface ActivationCaptureSummary {
  out: string;
  sidecar: string;
  layer: number;
  pool: 'none' | 'max' | 'mean' | 'last';
  format: 'npy' | 'safetensors';
  samples: number;
  tokens: number;
  shape: [number, number];
  seconds: number;
}
