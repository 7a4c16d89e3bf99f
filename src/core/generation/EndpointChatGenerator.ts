import { FacetError, throwIfAborted } from '../../shared/FacetError.ts';
import type { ChatTurn } from '../../shared/datasetTypes.ts';
import type { ChatCompletion, ChatControl, ChatGenerator, ChatSampling } from './ChatGenerator.ts';

export interface EndpointOptions {
  /** Base URL of an OpenAI-compatible API, e.g. `http://127.0.0.1:8080/v1`. */
  baseUrl: string;
  /** The model name the endpoint knows. */
  model: string;
  /** Name of the environment variable that holds the key (never the key itself). */
  keyVariable?: string;
  /** Requests in flight at once. Defaults to 4. */
  parallel?: number;
  /** Per request. Defaults to 120 s. */
  timeoutMs?: number;
  /** Environment to read the key from. Defaults to process.env. */
  env?: Record<string, string | undefined>;
}

/** Checks an endpoint's settings before anything is sent; the URL must be http(s). */
export function validateEndpointOptions(options: EndpointOptions): EndpointOptions {
  let url: URL;
  try {
    url = new URL(options.baseUrl);
  } catch {
    throw new FacetError('INVALID_ARGUMENT', `--endpoint '${options.baseUrl}' is not a URL. Give the API's base URL, e.g. http://127.0.0.1:8080/v1.`, { endpoint: options.baseUrl });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new FacetError('INVALID_ARGUMENT', `--endpoint must be an http(s) URL (got '${options.baseUrl}').`, { endpoint: options.baseUrl });
  }
  if (options.model.trim() === '') throw new FacetError('INVALID_ARGUMENT', '--endpoint-model is required with --endpoint: the model name the endpoint serves.');
  if (options.keyVariable !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(options.keyVariable)) {
    throw new FacetError('INVALID_ARGUMENT', `--endpoint-key-env must name an environment variable (got '${options.keyVariable}'); the key itself never goes on the command line.`);
  }
  return options;
}

interface CompletionResponse {
  choices?: { message?: { content?: unknown }; finish_reason?: unknown }[];
}

/**
 * An OpenAI-compatible chat-completions endpoint. Off unless the user names one; every run that
 * uses it says that texts leave the machine ({@link ChatGenerator.leavesMachine}). JSON schemas
 * travel as `response_format: json_schema`, and answers are checked after parsing by the caller.
 */
export class EndpointChatGenerator implements ChatGenerator {
  readonly identity: string;
  readonly label: string;
  readonly leavesMachine = true;
  readonly parallel: number;
  private readonly url: string;
  private readonly key: string | undefined;
  private readonly timeoutMs: number;

  constructor(options: EndpointOptions) {
    validateEndpointOptions(options);
    const base = options.baseUrl.replace(/\/+$/, '');
    this.url = `${base}/chat/completions`;
    this.identity = `endpoint:${base}#${options.model}`;
    this.label = `${options.model} at ${base}`;
    this.model = options.model;
    this.parallel = options.parallel ?? 4;
    this.timeoutMs = options.timeoutMs ?? 120_000;
    if (options.keyVariable !== undefined) {
      this.key = (options.env ?? process.env)[options.keyVariable];
      if (this.key === undefined || this.key === '') {
        throw new FacetError('INVALID_ARGUMENT', `The environment variable ${options.keyVariable} (--endpoint-key-env) is not set. Export the endpoint's key in it and run again.`, { variable: options.keyVariable });
      }
    }
  }

  private readonly model: string;

  async complete(conversations: readonly (readonly ChatTurn[])[], sampling: ChatSampling, control: ChatControl = {}): Promise<ChatCompletion[]> {
    const results = new Array<ChatCompletion>(conversations.length);
    let next = 0;
    let done = 0;
    const worker = async (): Promise<void> => {
      while (next < conversations.length) {
        const index = next++;
        throwIfAborted(control.signal);
        results[index] = await this.request(conversations[index]!, sampling, (sampling.seed ?? 0) + index, control.signal);
        done++;
        control.onProgress?.(done, conversations.length);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.parallel, conversations.length) }, worker));
    return results;
  }

  private async request(turns: readonly ChatTurn[], sampling: ChatSampling, seed: number, signal: AbortSignal | undefined): Promise<ChatCompletion> {
    const body = {
      model: this.model,
      messages: turns.map((turn) => ({ role: turn.role, content: turn.content })),
      max_tokens: sampling.maxTokens ?? 256,
      temperature: sampling.temperature ?? 0.8,
      top_p: sampling.topP ?? 0.95,
      seed,
      ...(sampling.stop && sampling.stop.length > 0 ? { stop: [...sampling.stop] } : {}),
      ...(sampling.jsonSchema ? { response_format: { type: 'json_schema', json_schema: { name: 'answer', strict: true, schema: sampling.jsonSchema } } } : {}),
    };
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let response: Response;
    try {
      response = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(this.key ? { authorization: `Bearer ${this.key}` } : {}) },
        body: JSON.stringify(body),
        signal: combined,
      });
    } catch (error) {
      throw this.transportError(error, signal, timeout);
    }
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      throw this.transportError(error, signal, timeout);
    }
    if (!response.ok) {
      throw new FacetError('ENDPOINT_REFUSED', `${this.url} answered HTTP ${response.status}: ${text.slice(0, 300).replace(/\s+/g, ' ')}. Check the URL, the model name and the key (--endpoint-key-env).`, { url: this.url, status: response.status });
    }
    let parsed: CompletionResponse;
    try {
      parsed = JSON.parse(text) as CompletionResponse;
    } catch {
      throw new FacetError('ENDPOINT_MALFORMED', `${this.url} did not answer with JSON (got '${text.slice(0, 120)}'). Is it an OpenAI-compatible /v1 base URL?`, { url: this.url });
    }
    const choice = parsed.choices?.[0];
    const content = choice?.message?.content;
    if (typeof content !== 'string') {
      throw new FacetError('ENDPOINT_MALFORMED', `${this.url} answered without choices[0].message.content. Is it an OpenAI-compatible chat-completions API?`, { url: this.url });
    }
    const finish = choice?.finish_reason === 'length' ? 'length' : 'eog';
    return { text: content, finish };
  }

  private transportError(error: unknown, signal: AbortSignal | undefined, timeout: AbortSignal): FacetError {
    if (signal?.aborted) return new FacetError('CANCELLED', 'Cancelled.');
    if (timeout.aborted) return new FacetError('ENDPOINT_TIMEOUT', `${this.url} did not answer within ${Math.round(this.timeoutMs / 1000)} s. Try again, raise the timeout, or use a local model.`, { url: this.url, timeoutMs: this.timeoutMs });
    const cause = error instanceof Error ? ((error.cause as { code?: string } | undefined)?.code ?? error.message) : String(error);
    return new FacetError('ENDPOINT_UNREACHABLE', `Cannot reach ${this.url} (${cause}). Check that the server runs and the --endpoint URL.`, { url: this.url, cause }, { cause: error });
  }

  async dispose(): Promise<void> {}
}
