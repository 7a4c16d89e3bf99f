import type { ChatTurn } from '../../shared/datasetTypes.ts';

/** Sampling shared by every conversation of one {@link ChatGenerator.complete} call. */
export interface ChatSampling {
  /** Defaults to 256. */
  maxTokens?: number;
  /** 0 = greedy. Defaults to 0.8. */
  temperature?: number;
  /** Defaults to 0.95. */
  topP?: number;
  /** Conversation j of a call samples with seed + j. Defaults to 0. */
  seed?: number;
  stop?: readonly string[];
  /**
   * JSON schema the answer must follow, enforced from the first generated token (so a
   * thinking-style model cannot start a reasoning block). Properties are generated in schema
   * order: put analysis fields before verdict fields.
   */
  jsonSchema?: Record<string, unknown>;
}

export interface ChatCompletion {
  text: string;
  finish: 'eog' | 'length' | 'stop';
}

export interface ChatControl {
  signal?: AbortSignal;
  /** Conversations finished so far of this call. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Writes assistant turns for conversations: a local GGUF model (the default; nothing leaves the
 * machine) or an OpenAI-compatible endpoint the user named.
 */
export interface ChatGenerator {
  /** What stored outputs are keyed by: `model:<content hash>` or `endpoint:<url>#<model>`. */
  readonly identity: string;
  /** For people: the model name, or the endpoint's model and address. */
  readonly label: string;
  /** True when conversations are sent off this machine. */
  readonly leavesMachine: boolean;
  /** Conversations decoded (or requested) at once. */
  readonly parallel: number;
  /** One completion per conversation, in order. */
  complete(conversations: readonly (readonly ChatTurn[])[], sampling: ChatSampling, control?: ChatControl): Promise<ChatCompletion[]>;
  dispose(): Promise<void>;
}

/** The notice every run that uses an endpoint shows before it sends anything. */
export function endpointNotice(generator: ChatGenerator): string | null {
  return generator.leavesMachine ? `Texts leave this machine: spans and prompts are sent to ${generator.label}.` : null;
}
