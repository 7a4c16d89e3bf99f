import type { SaeDriftReport } from '../../../../shared/evaluateTypes.ts';
import { formatCount, formatDecimal, formatPercent } from '../../../../shared/formatNumber.ts';

/** `facet sae drift` as a table: one row per model variant, the first being the reference. */
export function DriftTable({ report }: { report: SaeDriftReport }) {
  return (
    <div data-testid="drift-results">
      <p className="muted">
        SAE {report.sae} on {report.dataset}, active means g &gt; δ = {report.threshold}; FAC and Jaccard against the first model. {formatDecimal(report.seconds, 1)} s.
      </p>
      <table className="grid">
        <thead>
          <tr>
            <th>model</th>
            <th>quantization</th>
            <th title="mean over tokens of ‖x − x̂‖² / ‖x‖²">normalised MSE</th>
            <th title="fraction of variance unexplained: Σ‖x − x̂‖² / Σ‖x − x̄‖² over the checked tokens">FVU</th>
            <th title="mean number of active features per token">L0</th>
            <th title="features never active on the dataset">dead features</th>
            <th title="share of the reference's active features this variant also activates">FAC vs reference</th>
            <th title="mean over samples of |A ∩ B| / |A ∪ B| of the active feature sets">Jaccard vs reference</th>
          </tr>
        </thead>
        <tbody>
          {report.variants.map((variant, i) => (
            <tr key={variant.model} data-testid="drift-row">
              <td>
                {variant.model}
                {i === 0 ? <span className="muted"> (reference)</span> : null}
              </td>
              <td>{variant.quantization ?? '–'}</td>
              <td>{formatDecimal(variant.normalisedMse, 4)}</td>
              <td>{formatDecimal(variant.fractionOfVarianceUnexplained, 4)}</td>
              <td>{formatDecimal(variant.l0, 1)}</td>
              <td>{formatCount(variant.deadFeatures)}</td>
              <td>{formatPercent(variant.facAgainstReference)}</td>
              <td>{formatDecimal(variant.meanJaccard)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
