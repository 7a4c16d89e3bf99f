/** Histogram of g_i over samples: bars over linear bins (edges[b], edges[b + 1]]. */
export function FeatureHistogram({ edges, counts }: { edges: number[]; counts: number[] }) {
  const width = 320;
  const height = 90;
  const top = Math.max(1, ...counts);
  const barWidth = counts.length === 0 ? 0 : width / counts.length;
  return (
    <figure className="histogram" data-testid="feature-histogram">
      <svg width={width} height={height + 16} role="img" aria-label="activation histogram">
        {counts.map((count, i) => {
          const barHeight = (count / top) * height;
          return (
            <rect key={i} x={i * barWidth + 1} y={height - barHeight} width={Math.max(1, barWidth - 2)} height={barHeight} className="bar">
              <title>
                ({edges[i]?.toFixed(3)}, {edges[i + 1]?.toFixed(3)}]: {count}
              </title>
            </rect>
          );
        })}
        <text x={0} y={height + 13} className="axis">
          {edges[0]?.toFixed(2)}
        </text>
        <text x={width} y={height + 13} textAnchor="end" className="axis">
          {edges[edges.length - 1]?.toFixed(2)}
        </text>
      </svg>
    </figure>
  );
}
