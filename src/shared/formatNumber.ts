/**
 * One number format for every page and the CLI's tables: grouped integers ("2,312"), a fixed
 * number of decimals, percentages, durations and byte sizes. The locale is fixed (en-US) so a
 * figure reads the same on every machine and in every screenshot.
 */
const locale = 'en-US';
const integerFormat = new Intl.NumberFormat(locale, { maximumFractionDigits: 0 });

/** A count: "2,312"; "–" for a missing value. */
export function formatCount(value: number | null | undefined): string {
  return value === null || value === undefined || !Number.isFinite(value) ? '–' : integerFormat.format(value);
}

/** A measurement with `digits` decimals, grouped: "1,234.57"; "–" for a missing value. */
export function formatDecimal(value: number | null | undefined, digits = 3): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–';
  return value.toLocaleString(locale, { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** A fraction as a percentage: 0.4213 → "42.1%". */
export function formatPercent(fraction: number | null | undefined, digits = 1): string {
  if (fraction === null || fraction === undefined || !Number.isFinite(fraction)) return '–';
  return `${(fraction * 100).toLocaleString(locale, { minimumFractionDigits: digits, maximumFractionDigits: digits })}%`;
}

/** A duration: "850 ms", "12.3 s", "4 min 05 s", "2 h 03 min". */
export function formatDuration(milliseconds: number | null | undefined): string {
  if (milliseconds === null || milliseconds === undefined || !Number.isFinite(milliseconds) || milliseconds < 0) return '–';
  if (milliseconds < 1000) return `${Math.round(milliseconds)} ms`;
  const seconds = milliseconds / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const wholeSeconds = Math.round(seconds);
  const minutes = Math.floor(wholeSeconds / 60);
  if (minutes < 60) return `${minutes} min ${String(wholeSeconds % 60).padStart(2, '0')} s`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
}

/** A size in bytes with binary units: "512 B", "1.5 KiB", "3.2 GiB". */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes) || bytes < 0) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toLocaleString(locale, { maximumFractionDigits: 1 })} ${units[unit]}`;
}

/** A rate with its unit: formatRate(264.4, 'tokens') → "264 tokens/s". */
export function formatRate(perSecond: number | null | undefined, unit: string): string {
  return `${formatCount(perSecond === null || perSecond === undefined ? perSecond : Math.round(perSecond))} ${unit}/s`;
}

/** A count with its noun: plural(1, 'sample') → "1 sample", plural(2312, 'sample') → "2,312 samples". */
export function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return `${formatCount(count)} ${count === 1 ? singular : pluralForm}`;
}
