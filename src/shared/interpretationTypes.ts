/** The four-level scale of verification and task relevance; relevant = Yes, Probably or Maybe. */
export const relevanceVerdicts = ['Yes', 'Probably', 'Maybe', 'No'] as const;
export type RelevanceVerdict = (typeof relevanceVerdicts)[number];

export function isRelevant(verdict: RelevanceVerdict): boolean {
  return verdict !== 'No';
}

/** The paper's five tasks, each with a rubric written for Facet. */
export const builtInTasks = ['toxicity', 'helpfulness', 'sycophancy', 'survival-instinct', 'instruction-following'] as const;
export type BuiltInTask = (typeof builtInTasks)[number];

/** One stored explanation of a feature. */
export interface FeatureExplanationView {
  feature: number;
  /** Empty when the explainer could not tell. */
  explanation: string;
  canTell: boolean;
  /** Detection balanced accuracy of the kept explanation (0..1); null when it could not be scored. */
  score: number | null;
  verification: RelevanceVerdict | null;
  /** `model:<hash>` or `endpoint:<url>#<model>`. */
  explainer: string;
  explainerLabel: string;
  createdAt: string;
}

/** One stored task-relevance verdict of a feature. */
export interface FeatureVerdictView {
  feature: number;
  task: string;
  verdict: RelevanceVerdict;
  analysis: string;
  judge: string;
  judgeLabel: string;
  createdAt: string;
}

/** What `facet features explain` reports. */
export interface ExplainReport {
  spaceId: number;
  explainer: string;
  /** Set when texts were sent to an endpoint. */
  notice: string | null;
  explained: { feature: number; explanation: string; score: number | null; verification: RelevanceVerdict | null; canTell: boolean }[];
  /** Requested features that already had an explanation from this explainer and prompt version. */
  skipped: number;
  seconds: number;
}

/** What `facet features judge` reports. */
export interface JudgeReport {
  spaceId: number;
  task: string;
  judge: string;
  notice: string | null;
  verdicts: { feature: number; verdict: RelevanceVerdict; analysis: string }[];
  skipped: number;
  seconds: number;
  /** Features without any excerpt or explanation, or whose answers did not parse twice: nothing was stored for them. */
  unanswered?: number[];
}
