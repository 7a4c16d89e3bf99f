import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { resolveModel } from '../models/ModelService.ts';
import type { Store } from '../store/Store.ts';
import type { ChatGenerator } from './ChatGenerator.ts';
import { EndpointChatGenerator, validateEndpointOptions, type EndpointOptions } from './EndpointChatGenerator.ts';
import { LocalChatGenerator } from './LocalChatGenerator.ts';

/** Which model writes: a registered local model (or .gguf path), or an endpoint the user named. */
export interface GeneratorChoice {
  /** Local model name or path. Ignored when `endpoint` is set. */
  model?: string;
  endpoint?: EndpointOptions;
  /** Conversations decoded (or requested) at once. Defaults to 8 locally, 4 for an endpoint. */
  parallel?: number;
  contextSize?: number;
  threads?: number;
  cpu?: boolean;
}

/** Resolves names without loading anything, so a typo fails before a job starts. */
export async function checkGeneratorChoice(store: Store, choice: GeneratorChoice): Promise<void> {
  if (choice.endpoint !== undefined) validateEndpointOptions(choice.endpoint);
  else if (choice.model !== undefined) await resolveModel(store, choice.model);
}

export async function openChatGenerator(store: Store, choice: GeneratorChoice, fallbackModel: string, signal?: AbortSignal): Promise<ChatGenerator> {
  if (choice.endpoint !== undefined) {
    return new EndpointChatGenerator({ ...choice.endpoint, ...(choice.parallel === undefined ? {} : { parallel: choice.parallel }) });
  }
  const resolved = await resolveModel(store, choice.model ?? fallbackModel);
  let hash = resolved.record?.contentHash;
  if (hash === undefined) {
    const info = await stat(resolved.path);
    hash = `${resolved.path}:${info.size}:${info.mtimeMs}`;
  }
  return LocalChatGenerator.open(resolved.path, {
    name: resolved.record?.name ?? basename(resolved.path).replace(/\.gguf$/i, ''),
    hash,
    ...(choice.parallel === undefined ? {} : { parallel: choice.parallel }),
    ...(choice.contextSize === undefined ? {} : { contextSize: choice.contextSize }),
    ...(choice.threads === undefined ? {} : { threads: choice.threads }),
    ...(choice.cpu ? { gpu: false as const } : {}),
    ...(signal ? { signal } : {}),
  });
}
