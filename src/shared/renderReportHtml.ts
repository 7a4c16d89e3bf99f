import type { DiversityReport } from './evaluateTypes.ts';

const palette = ['#3b5bdb', '#e8590c', '#2b8a3e', '#ae3ec9', '#c92a2a', '#1098ad', '#5c940d', '#862e9c'];

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function format(value: number | null): string {
  if (value === null || !Number.isFinite(value)) return '—';
  return Math.abs(value) >= 100 ? value.toFixed(1) : value.toFixed(4);
}

/** A labelled bar chart of one value per dataset. */
function barChart(title: string, names: string[], values: number[]): string {
  const width = 320;
  const height = 180;
  const top = 38;
  const bottom = 40;
  const max = Math.max(...values.map((value) => (Number.isFinite(value) ? value : 0)), 1e-12);
  const slot = (width - 20) / Math.max(1, names.length);
  const bars = values
    .map((value, i) => {
      const h = Number.isFinite(value) ? ((height - top - bottom) * value) / max : 0;
      const x = 10 + i * slot + slot * 0.15;
      const y = height - bottom - h;
      return `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${(slot * 0.7).toFixed(1)}" height="${h.toFixed(1)}" fill="${palette[i % palette.length]}"><title>${escape(names[i]!)}: ${format(value)}</title></rect>
<text x="${(x + slot * 0.35).toFixed(1)}" y="${(y - 4).toFixed(1)}" font-size="10" text-anchor="middle">${format(value)}</text>
<text x="${(x + slot * 0.35).toFixed(1)}" y="${height - bottom + 14}" font-size="10" text-anchor="middle">${escape(names[i]!.slice(0, 18))}</text>`;
    })
    .join('\n');
  return `<figure><svg viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escape(title)}"><text x="10" y="16" font-size="12" font-weight="bold">${escape(title)}</text><line x1="10" y1="${height - bottom}" x2="${width - 10}" y2="${height - bottom}" stroke="#888"/>${bars}</svg></figure>`;
}

/** FAC against δ, one line per dataset (dashed: length-matched subsets). */
function facChart(report: DiversityReport): string {
  const width = 460;
  const height = 240;
  const left = 44;
  const right = 120;
  const top = 24;
  const bottom = 36;
  const deltas = report.thresholds;
  const x = (i: number): number => left + (deltas.length === 1 ? (width - left - right) / 2 : (i * (width - left - right)) / (deltas.length - 1));
  const y = (value: number): number => height - bottom - value * (height - top - bottom);
  const lines = report.datasets
    .map((dataset, d) => {
      const color = palette[d % palette.length];
      const path = (points: (number | null)[], dash: string): string =>
        `<polyline fill="none" stroke="${color}" stroke-width="2" ${dash} points="${points.map((value, i) => (value === null ? '' : `${x(i).toFixed(1)},${y(value).toFixed(1)}`)).join(' ')}"/>` +
        points.map((value, i) => (value === null ? '' : `<circle cx="${x(i).toFixed(1)}" cy="${y(value).toFixed(1)}" r="3" fill="${color}"><title>${escape(dataset.name)} δ=${deltas[i]}: ${format(value)}</title></circle>`)).join('');
      return (
        path(dataset.coverage.map((entry) => entry.fac), '') +
        path(dataset.lengthMatchedCoverage.map((entry) => entry.fac), 'stroke-dasharray="4 3"') +
        `<text x="${width - right + 8}" y="${top + 14 * d + 10}" font-size="11" fill="${color}">${escape(dataset.name.slice(0, 16))}</text>`
      );
    })
    .join('\n');
  const axis = deltas.map((delta, i) => `<text x="${x(i).toFixed(1)}" y="${height - bottom + 16}" font-size="10" text-anchor="middle">δ=${delta}</text>`).join('');
  const grid = [0, 0.25, 0.5, 0.75, 1].map((value) => `<line x1="${left}" x2="${width - right}" y1="${y(value)}" y2="${y(value)}" stroke="#eee"/><text x="${left - 6}" y="${y(value) + 3}" font-size="10" text-anchor="end">${(value * 100).toFixed(0)}%</text>`).join('');
  return `<figure><svg viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="FAC against δ"><text x="10" y="14" font-size="12" font-weight="bold">FAC against δ (dashed: length-matched subsets)</text>${grid}${axis}${lines}</svg></figure>`;
}

function histogram(name: string, edges: number[], counts: number[], color: string): string {
  const width = 220;
  const height = 120;
  const max = Math.max(1, ...counts);
  const slot = (width - 20) / counts.length;
  const bars = counts.map((count, b) => `<rect x="${(10 + b * slot).toFixed(1)}" y="${(height - 28 - ((height - 50) * count) / max).toFixed(1)}" width="${(slot - 2).toFixed(1)}" height="${(((height - 50) * count) / max).toFixed(1)}" fill="${color}"><title>${edges[b]}–${edges[b + 1]} tokens: ${count}</title></rect>`).join('');
  return `<figure><svg viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="length histogram of ${escape(name)}"><text x="10" y="14" font-size="11" font-weight="bold">${escape(name.slice(0, 24))}: tokens</text>${bars}<text x="10" y="${height - 12}" font-size="9">${edges[0]}</text><text x="${width - 10}" y="${height - 12}" font-size="9" text-anchor="end">${edges[edges.length - 1]}</text></svg></figure>`;
}

/** Styles of the report file (the app's page uses its own). */
export const reportCss = `body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}table{border-collapse:collapse;margin:12px 0}td,th{border:1px solid #ddd;padding:4px 8px;text-align:right}td:first-child,th:first-child{text-align:left}figure{display:inline-block;margin:6px 10px 6px 0}dt{font-weight:bold}dd{margin:0 0 6px 16px;color:#444}.muted{color:#666}`;

/** The report's content (tables, inline SVG charts, definitions) as HTML without scripts, for a page or a file. */
export function renderReportBody(report: DiversityReport): string {
  const names = report.datasets.map((dataset) => dataset.name);
  const metrics: [string, (d: DiversityReport['datasets'][number]) => number][] = [
    ['distinct-1', (d) => d.distinct1],
    ['distinct-2', (d) => d.distinct2],
    ['n-gram diversity', (d) => d.ngramDiversity],
    ['bigram entropy (bits)', (d) => d.bigramEntropy],
    ['self-BLEU-4 (lower = more diverse)', (d) => d.selfBleu4],
    ['compression ratio (lower = more diverse)', (d) => d.compressionRatio],
    ['embedding cosine distance', (d) => d.embeddingCosineDistance],
    ['Vendi score', (d) => d.vendi],
    ['mean tokens', (d) => d.meanTokens],
  ];
  const rows = report.datasets
    .map(
      (d) =>
        `<tr><td>${escape(d.name)}</td><td>${d.size}</td><td>${format(d.meanTokens)}</td><td>${format(d.medianTokens)}</td>${d.coverage.map((c) => `<td>${c.fac === null ? '—' : `${(c.fac * 100).toFixed(1)}%`}</td>`).join('')}${d.lengthMatchedCoverage.map((c) => `<td>${c.fac === null ? '—' : `${(c.fac * 100).toFixed(1)}%`}</td>`).join('')}<td>${format(d.distinct1)}</td><td>${format(d.distinct2)}</td><td>${format(d.ngramDiversity)}</td><td>${format(d.bigramEntropy)}</td><td>${format(d.selfBleu4)}</td><td>${format(d.compressionRatio)}</td><td>${format(d.embeddingCosineDistance)}</td><td>${format(d.vendi)}</td></tr>`,
    )
    .join('\n');
  const deltaHeads = report.thresholds.map((delta) => `<th>FAC δ=${delta}</th>`).join('');
  const matchedHeads = report.thresholds.map((delta) => `<th>FAC δ=${delta}, length-matched</th>`).join('');
  return `<h1>Diversity report</h1>
<p class="muted">Feature space: ${escape(report.model)} · SAE ${escape(report.sae)} · l_out-${report.layer} (llama.cpp 0-based block) · anchor set <b>${escape(report.anchor)}</b> · made by Facet in ${report.seconds.toFixed(1)} s.</p>
<table><thead><tr><th>dataset</th><th>samples</th><th>mean tokens</th><th>median tokens</th>${deltaHeads}${matchedHeads}<th>distinct-1</th><th>distinct-2</th><th>n-gram div.</th><th>bigram H</th><th>self-BLEU-4</th><th>compression</th><th>emb. cos. dist.</th><th>Vendi</th></tr></thead><tbody>
${rows}
</tbody></table>
<h2>FAC</h2>
${facChart(report)}
<h2>Lengths</h2>
<p class="muted">Active-feature counts grow with length, so compare FAC beside length (and on the length-matched subsets).</p>
${report.datasets.map((d, i) => histogram(d.name, d.tokenHistogram.edges, d.tokenHistogram.counts, palette[i % palette.length]!)).join('\n')}
<h2>Text and embedding metrics</h2>
${metrics.map(([title, pick]) => barChart(title, names, report.datasets.map(pick))).join('\n')}
<details><summary>Definitions</summary>
<dl>${Object.entries(report.definitions).map(([name, text]) => `<dt>${escape(name)}</dt><dd>${escape(text)}</dd>`).join('')}
<dt>embeddings</dt><dd>${escape(report.embedding)}</dd><dt>length matching</dt><dd>${escape(report.lengthMatching)}</dd></dl></details>`;
}

/** The report as one offline HTML file: inline CSS and SVG, no scripts, no external resources. */
export function renderReportHtml(report: DiversityReport): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Facet diversity report</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<style>${reportCss}</style></head>
<body>
${renderReportBody(report)}
</body></html>
`;
}
