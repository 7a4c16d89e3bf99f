import { useEffect, useState } from 'react';
import type { FeatureExplanationView, FeatureVerdictView } from '../../../shared/interpretationTypes.ts';
import { api } from '../api/connection.ts';

/** One feature's explanations (best first, with detection score and verification) and its verdict per task. */
export function FeatureInterpretation({ spaceId, feature, refresh }: { spaceId: number; feature: number; refresh: unknown }) {
  const [explanations, setExplanations] = useState<FeatureExplanationView[]>([]);
  const [verdicts, setVerdicts] = useState<FeatureVerdictView[]>([]);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    api.call('features.interpretation', { spaceId, feature }).then(
      (result) => {
        setExplanations(result.explanations);
        setVerdicts(result.verdicts);
        setError(null);
      },
      (caught: Error) => setError(caught.message),
    );
  }, [spaceId, feature, refresh]);

  return (
    <div data-testid="feature-interpretation">
      <h3>Explanation</h3>
      {error !== null ? <div className="error">{error}</div> : null}
      {explanations.length === 0 ? <p className="muted">Not explained yet: use Explain in "Explain and judge features" above.</p> : null}
      {explanations.map((explanation, i) => (
        <div key={`${explanation.explainer}-${i}`} className={i === 0 ? 'explanation best' : 'explanation'}>
          <p>{explanation.canTell ? explanation.explanation : <span className="muted">The explainer could not tell what this feature responds to.</span>}</p>
          <p className="muted">
            by {explanation.explainerLabel} · detection {explanation.score === null ? 'not scored' : explanation.score.toFixed(2)} · verified: {explanation.verification ?? '—'}
          </p>
        </div>
      ))}
      {verdicts.length > 0 ? (
        <>
          <h3>Task relevance</h3>
          <table className="grid" data-testid="feature-verdicts">
            <tbody>
              {verdicts.map((verdict) => (
                <tr key={verdict.task}>
                  <td>{verdict.task}</td>
                  <td>
                    <span className="tag">{verdict.verdict}</span>
                  </td>
                  <td>{verdict.analysis}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}
    </div>
  );
}
