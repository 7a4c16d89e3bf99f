/**
 * The words of the Coverage page, as defined in the method (design/method.md §1), shown in the
 * page itself: a "What these mean" list and the same sentences as tooltips on column headers.
 */
export const coverageTerms = {
  g: { term: 'g', text: 'g_i(x) is the activation of SAE feature i on sample x: the maximum of its code over the sample’s tokens after the chat-template prefix.' },
  delta: { term: 'δ', text: 'The activation threshold. Feature i counts as activated by sample x when g_i(x) > δ (strictly). δ = 0 counts every positive activation; the paper’s best downstream results used δ around 1–2.' },
  F: { term: 'F', text: 'The features counted: every SAE feature, or only those judged relevant to a task (verdict Yes, Probably or Maybe on the Features page).' },
  FP: { term: '|F(P)|', text: 'The number of features of F activated by at least one anchor sample (P = the anchor set).' },
  Fseed: { term: 'seed active', text: 'The number of features of F activated by at least one seed sample.' },
  covered: { term: 'covered', text: 'Features of F(P) that the seed also activates: |F(seed) ∩ F(P)|.' },
  missing: { term: 'missing', text: 'F(P) \\ F(seed): features the anchor activates and no seed sample does — what FAC Synthesis targets.' },
  fac: { term: 'FAC', text: 'Feature Activation Coverage = |F(seed) ∩ F(P)| / |F(P)|: the share of the anchor’s features that the seed activates.' },
  facFreq: { term: 'FAC freq', text: 'FAC with each feature of F(P) weighted by the share of anchor samples that activate it, so features common in the anchor count more.' },
  facMagnitude: { term: 'FAC magnitude', text: 'FAC with each feature of F(P) weighted by its mean activation over the anchor samples that activate it.' },
  evalShare: { term: 'missing covered', text: 'The share of the missing features that the evaluated set (e.g. synthesized data) activates — the number the paper reports (toxicity: 175 of 214 = 81.78%).' },
  frequency: { term: 'activation frequency', text: 'The share of a set’s samples with g_i > δ, per feature.' },
  layer: { term: 'l_out-L', text: 'The residual stream after transformer block L, counted from 0 (llama.cpp tensor l_out-L = Hugging Face hidden_states[L+1] = SAELens blocks.L.hook_resid_post). The paper counts blocks from 1: its “layer 16” is l_out-15.' },
  encode: { term: 'encode', text: 'topk keeps the K largest SAE codes per token (the paper’s text); dense-relu applies ReLU to every feature (the paper’s released code).' },
  roles: { term: 'anchor / seed / evaluate', text: 'Anchor: the reference set P whose features should be covered. Seed: the set measured against it (e.g. your training data). Evaluate: an optional further set, e.g. synthesized data, checked against the seed’s missing features.' },
} as const;

export type CoverageTerm = keyof typeof coverageTerms;

/** The tooltip of a term: "FAC — Feature Activation Coverage = …". */
export function termTitle(key: CoverageTerm): string {
  return `${coverageTerms[key].term} — ${coverageTerms[key].text}`;
}

/** "What these mean": every term of the page with its definition. */
export function CoverageTerms() {
  return (
    <details className="help" data-testid="coverage-terms">
      <summary>What these mean</summary>
      <dl className="terms">
        {(Object.keys(coverageTerms) as CoverageTerm[]).flatMap((key) => [
          <dt key={`${key}-t`}>{coverageTerms[key].term}</dt>,
          <dd key={`${key}-d`}>{coverageTerms[key].text}</dd>,
        ])}
      </dl>
    </details>
  );
}
