import type { WireError } from '../../shared/FacetError.ts';
import { formatCount } from '../../shared/formatNumber.ts';

/** What a form tells {@link guiErrorText}: the label of its control for each request parameter, and the user's names for server paths. */
export interface GuiErrorContext {
  /** Request parameter → the label the user sees, e.g. `{ skipInvalid: 'Skip invalid rows', name: 'Name' }`. */
  controls: Record<string, string>;
  /** A path on the engine's machine → the name the user knows it by (an upload's original file name). */
  files?: Record<string, string>;
}

/** Sentences that talk to a terminal user: flags (`--name`), commands (`facet …`), environment variables. */
const cliSentence = /(^|[\s(`'])--[a-z]|`facet |'facet |\bfacet (datasets|models|sae|jobs|coverage|features|serve|synthesize|compare|evaluate)\b|\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b/;

/** An upload's place on the engine's machine: `…/uploads/<uuid>/<name>`. */
const uploadPath = /\S*[\\/]uploads[\\/][0-9a-f-]{36}[\\/]([^\s:'"`,;)]+)/g;

function wireErrorOf(error: unknown): WireError {
  if (typeof error === 'object' && error !== null && 'message' in error) {
    const { code, message, details } = error as { code?: unknown; message: unknown; details?: unknown };
    return { code: (typeof code === 'string' ? code : 'INTERNAL') as WireError['code'], message: String(message), ...(typeof details === 'object' && details !== null ? { details: details as Record<string, unknown> } : {}) };
  }
  return { code: 'INTERNAL', message: String(error) };
}

/** A schema (zod) refusal in plain words: "Too big: expected number to be <=1024" → "must be at most 1,024"; null when not one of these. */
function plainSchemaIssue(message: string | undefined): string | null {
  const bound = /^Too (big|small): expected (number|string|array) to (?:be|have) (<|>)(=?)(-?[\d.]+)( characters| items)?$/.exec(message ?? '');
  if (bound !== null) {
    const [, , kind, side, equal, limit, unit] = bound;
    const value = `${formatCount(Number(limit))}${kind === 'string' ? ' characters' : (unit ?? '')}`;
    if (kind === 'string' && side === '>' && Number(limit) === 1) return 'must not be empty';
    return side === '<' ? `must be ${equal === '=' ? 'at most' : 'less than'} ${value}` : `must be ${equal === '=' ? 'at least' : 'more than'} ${value}`;
  }
  if (/^Invalid input: expected int, received number$/.test(message ?? '')) return 'must be a whole number';
  if (/^Invalid input: expected number, received/.test(message ?? '')) return 'must be a number';
  return null;
}

/**
 * An engine error in the words of the GUI. The engine's messages stay written for the CLI; its
 * coded errors say which request parameter they are about (`details.param`) and which option
 * would get past them (`details.option`), and schema refusals carry the parameter in
 * `details.issues[0].path`. Here sentences that name flags or commands are dropped, the form's
 * control for that parameter or option is named instead ("tick 'Skip invalid rows'"), and server
 * paths of uploads become the file names the user chose.
 */
export function guiErrorText(error: unknown, context: GuiErrorContext): string {
  const wire = wireErrorOf(error);
  const details = wire.details ?? {};
  let message = wire.message;
  for (const [path, name] of Object.entries(context.files ?? {})) message = message.split(path).join(name);
  message = message.replace(uploadPath, (_, name: string) => name);

  const issues = Array.isArray(details['issues']) ? (details['issues'] as { path?: unknown[]; message?: string }[]) : [];
  const issueParam = issues[0]?.path?.[0];
  if (wire.code === 'INVALID_ARGUMENT' && typeof issueParam === 'string') {
    const label = context.controls[issueParam] ?? issueParam;
    const plain = plainSchemaIssue(issues[0]?.message);
    return plain !== null ? `'${label}' ${plain}.` : `'${label}': ${issues[0]?.message ?? 'not a valid value'}.`;
  }

  const sentences = message.split(/(?<=[.!?])\s+(?=[A-Z`'(])/);
  let kept = sentences.filter((sentence) => !cliSentence.test(sentence));
  // when every sentence names a flag ("--layer must be 1..3 for …"), keep the first with the flag
  // told as the form's control (or as a plain name), rather than say nothing
  if (kept.length === 0 && sentences.length > 0) {
    kept = [sentences[0]!.replace(/--([a-z][a-z-]*)/g, (_, flag: string) => `'${context.controls[flag.replace(/-([a-z])/g, (__, c: string) => c.toUpperCase())] ?? flag}'`).replace(/(\d+)\.\.(\d+)/g, '$1 to $2')];
  }
  // errors about a file (details.path) concern the form's file field when it has one
  const param = typeof details['param'] === 'string' ? details['param'] : typeof details['path'] === 'string' && 'path' in context.controls ? 'path' : undefined;
  const option = typeof details['option'] === 'string' ? details['option'] : undefined;
  const optionLabel = option !== undefined ? context.controls[option] : undefined;
  const paramLabel = param !== undefined ? context.controls[param] : undefined;
  let hint: string | null = null;
  if (option === 'skipInvalid' && optionLabel !== undefined) hint = `Fix that line, or tick '${optionLabel}' to import only the valid rows.`;
  else if (optionLabel !== undefined) hint = `Choose it in '${optionLabel}'.`;
  else if (wire.code === 'DATASET_NAME_TAKEN' && paramLabel !== undefined) hint = `Type another name in '${paramLabel}', or remove the old dataset.`;
  else if (paramLabel !== undefined && kept.length < sentences.length) hint = `Change '${paramLabel}'.`;
  else if (paramLabel !== undefined) hint = `(field '${paramLabel}')`;
  // the hint goes after the reason, before closing remarks such as "Nothing was imported."
  const closing = kept.length > 1 && /^Nothing was/.test(kept.at(-1) ?? '') ? [kept.pop() as string] : [];
  return [...kept, ...(hint !== null ? [hint] : []), ...closing].join(' ');
}

/** The request parameter an error is about, if it says (to mark that field). */
export function errorParam(error: unknown): string | undefined {
  const details = wireErrorOf(error).details ?? {};
  if (typeof details['param'] === 'string') return details['param'];
  const issues = Array.isArray(details['issues']) ? (details['issues'] as { path?: unknown[] }[]) : [];
  const first = issues[0]?.path?.[0];
  return typeof first === 'string' ? first : undefined;
}

/** A job's title with each upload's server copy named by the file the user chose (the copy's name is that name made safe). */
export function shownJobTitle(title: string, files: Record<string, string>): string {
  let shown = title;
  for (const [path, name] of Object.entries(files)) {
    const copy = path.split(/[\\/]/).pop();
    if (copy !== undefined && copy !== '' && copy !== name) shown = shown.split(copy).join(name);
  }
  return shown;
}
