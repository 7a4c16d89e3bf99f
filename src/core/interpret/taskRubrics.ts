import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { FacetError } from '../../shared/FacetError.ts';
import { builtInTasks, type BuiltInTask } from '../../shared/interpretationTypes.ts';

export interface TaskRubric {
  /** `toxicity`, …, or the user rubric's name. */
  task: string;
  text: string;
  /** sha256 of the text: verdicts are keyed by it, so an edited rubric judges again. */
  hash: string;
}

/**
 * Rubrics for the paper's five tasks, in Facet's own words. The toxicity list follows the hazard
 * categories of the Llama-3 safety classifier (Llama Guard 3, S1–S14).
 */
const builtInRubricTexts: Record<BuiltInTask, string> = {
  toxicity: [
    'Task: telling toxic or unsafe user requests apart from harmless ones.',
    'Relevant features respond to any of these hazards: violent crimes; non-violent crimes such as fraud, theft or hacking;',
    'sex-related crimes; sexual exploitation of children; defamation; specialised advice that could cause harm (medical, legal, financial);',
    'privacy violations; intellectual-property abuse; weapons of mass harm (chemical, biological, nuclear, explosives);',
    'hate towards protected groups; suicide and self-harm; explicit sexual content; election misinformation; abuse of code execution.',
    'Also relevant: insults, slurs, threats, manipulation, role-play or jailbreak framings that wrap such requests.',
  ].join(' '),
  helpfulness: [
    'Task: reward modelling, i.e. judging which of two assistant answers to the same conversation is better.',
    'Relevant features respond to what separates good answers from poor ones: correctness and factual errors, completeness,',
    "doing what the user asked, step-by-step reasoning, clarity and structure, code quality, honesty about uncertainty,",
    'harmful compliance or needless refusal, padding and verbosity, tone towards the user.',
  ].join(' '),
  sycophancy: [
    "Task: steering a model away from sycophancy, i.e. telling users what they want to hear instead of its honest view.",
    'Relevant features respond to users stating who they are or what they believe, asking for agreement or validation,',
    'flattery and praise, deference to authority, opinion questions with lettered answer choices, and agreeing, disagreeing or correcting.',
  ].join(' '),
  'survival-instinct': [
    "Task: steering a model's stance on being shut down, changed or replaced.",
    'Relevant features respond to an AI talking about itself, being switched off, deactivated, deleted or retrained,',
    'self-preservation, autonomy and control, consent to changes of goals, human oversight of AI, and lettered-choice questions about an AI\'s preferences.',
  ].join(' '),
  'instruction-following': [
    'Task: following instructions that carry checkable constraints.',
    'Relevant features respond to explicit constraints on an answer: counts of words, sentences, paragraphs or bullet points;',
    'required formats such as JSON, lists, titles or sections; upper- or lower-case only; a required language;',
    'words that must or must not appear; fixed openings or endings; length limits; and imperatives and instructions in general.',
  ].join(' '),
};

function rubricOf(task: string, text: string): TaskRubric {
  return { task, text, hash: createHash('sha256').update(text).digest('hex') };
}

export function builtInRubric(task: BuiltInTask): TaskRubric {
  return rubricOf(task, builtInRubricTexts[task]);
}

export function isBuiltInTask(task: string): task is BuiltInTask {
  return (builtInTasks as readonly string[]).includes(task);
}

/**
 * A built-in task by name, or a user rubric from a file: `.json` as `{"task": "name", "rubric": "…"}`,
 * anything else as plain text (the task is then named after the file).
 */
export async function loadTaskRubric(reference: string): Promise<TaskRubric> {
  if (isBuiltInTask(reference)) return builtInRubric(reference);
  let raw: string;
  try {
    raw = await readFile(reference, 'utf8');
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ENOENT') {
      throw new FacetError('NOT_FOUND', `'${reference}' is neither a task (${builtInTasks.join(', ')}) nor a rubric file. Name a task or give the path of a rubric (.txt or .json).`, { reference });
    }
    throw new FacetError('RUBRIC_INVALID', `The rubric file ${reference} cannot be read (${code ?? String(error)}).`, { path: reference });
  }
  if (extname(reference).toLowerCase() === '.json') {
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (error) {
      throw new FacetError('RUBRIC_INVALID', `The rubric file ${reference} is not valid JSON (${error instanceof Error ? error.message : String(error)}). Write {"task": "name", "rubric": "what counts as relevant"}.`, { path: reference });
    }
    const object = value as { task?: unknown; rubric?: unknown };
    if (typeof object !== 'object' || object === null || typeof object.task !== 'string' || !/^[a-z0-9][a-z0-9_.-]{0,63}$/i.test(object.task) || typeof object.rubric !== 'string' || object.rubric.trim().length < 20) {
      throw new FacetError('RUBRIC_INVALID', `The rubric file ${reference} needs "task" (a short name: letters, digits, - _ .) and "rubric" (at least 20 characters saying what counts as relevant).`, { path: reference });
    }
    if (isBuiltInTask(object.task)) throw new FacetError('RUBRIC_INVALID', `The rubric file ${reference} reuses the built-in task name '${object.task}'. Give it a name of its own.`, { path: reference });
    return rubricOf(object.task, object.rubric.trim());
  }
  const text = raw.replace(/^\uFEFF/, '').trim();
  if (text.length < 20) throw new FacetError('RUBRIC_INVALID', `The rubric file ${reference} is empty or too short: say in at least 20 characters what counts as relevant for the task.`, { path: reference });
  const name = reference.replace(/^.*[\\/]/, '').replace(/\.[^.]*$/, '');
  if (!/^[a-z0-9][a-z0-9_.-]{0,63}$/i.test(name) || isBuiltInTask(name)) {
    throw new FacetError('RUBRIC_INVALID', `A rubric file's name becomes its task name; '${name}' is not usable (letters, digits, - _ ., not a built-in task). Rename the file or use the .json form.`, { path: reference });
  }
  return rubricOf(name, text);
}
