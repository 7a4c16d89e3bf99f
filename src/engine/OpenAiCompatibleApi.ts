import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { FacetError, toWireError } from '../shared/FacetError.ts';
import type { ChatTurn } from '../shared/datasetTypes.ts';
import type { ChatSampling } from '../core/generation/ChatGenerator.ts';
import { ModelService } from '../core/models/ModelService.ts';
import type { Store } from '../core/store/Store.ts';
import type { ModelCalls } from './modelProcessCalls.ts';

/** Largest request body accepted by /v1/chat/completions. */
const maxBodyBytes = 4 * 1024 * 1024;

const chatRequestSchema = z
  .object({
    model: z.string().min(1),
    messages: z.array(z.object({ role: z.enum(['system', 'user', 'assistant']), content: z.string() }).passthrough()).min(1).max(256),
    max_tokens: z.number().int().min(1).max(8192).optional(),
    max_completion_tokens: z.number().int().min(1).max(8192).optional(),
    temperature: z.number().min(0).max(2).optional(),
    top_p: z.number().gt(0).max(1).optional(),
    seed: z.number().int().min(0).max(2 ** 31).optional(),
    n: z.number().int().min(1).max(16).optional(),
    stop: z.union([z.string(), z.array(z.string()).max(8)]).optional(),
    stream: z.boolean().optional(),
    response_format: z
      .union([
        z.object({ type: z.literal('text') }),
        z.object({ type: z.literal('json_object') }),
        z.object({ type: z.literal('json_schema'), json_schema: z.object({ name: z.string().optional(), schema: z.record(z.string(), z.unknown()), strict: z.boolean().optional() }).passthrough() }),
      ])
      .optional(),
  })
  .passthrough();

/**
 * OpenAI-compatible chat completions over Facet's registered local models, served by `facet serve`
 * under /v1 with the same token as the rest of the API (`Authorization: Bearer <token>`). The
 * model is loaded and run in the engine's model process for that model ({@link ModelCalls},
 * `chat.complete`), which keeps it loaded for the next request; a native crash there fails the
 * request with MODEL_PROCESS_CRASHED (HTTP 500) and the next request starts a fresh process.
 * Requests run one after another, each decoding its `n` choices as parallel sequences.
 * Streaming is not offered.
 */
export class OpenAiCompatibleApi {
  private readonly store: Store;
  private readonly calls: ModelCalls;

  constructor(store: Store, calls: ModelCalls) {
    this.store = store;
    this.calls = calls;
  }

  /** Answers /v1/models and /v1/chat/completions; false for any other path. */
  async handle(request: IncomingMessage, response: ServerResponse, pathname: string): Promise<boolean> {
    if (pathname === '/v1/models' && request.method === 'GET') {
      const data = new ModelService(this.store).list().map((model) => ({ id: model.name, object: 'model', created: Math.floor(Date.parse(model.addedAt) / 1000) || 0, owned_by: 'facet' }));
      send(response, 200, { object: 'list', data });
      return true;
    }
    if (pathname === '/v1/chat/completions' && request.method === 'POST') {
      try {
        const body = await readJsonBody(request);
        const parsed = chatRequestSchema.safeParse(body);
        if (!parsed.success) {
          const issue = parsed.error.issues[0];
          throw new FacetError('INVALID_ARGUMENT', `Invalid chat completion request: ${issue ? `${issue.path.join('.') || '(body)'}: ${issue.message}` : 'invalid'}.`);
        }
        if (parsed.data.stream === true) throw new FacetError('INVALID_ARGUMENT', 'Streaming is not offered by facet serve; send the request without "stream": true.');
        send(response, 200, await this.complete(parsed.data));
      } catch (error) {
        const wire = toWireError(error);
        const status = wire.code === 'MODEL_NOT_FOUND' || wire.code === 'MODEL_FILE_NOT_FOUND' ? 404 : wire.code === 'PAYLOAD_TOO_LARGE' ? 413 : wire.code === 'MODEL_PROCESS_CRASHED' ? 500 : error instanceof FacetError ? 400 : 500;
        send(response, status, { error: { message: wire.message, type: status === 500 ? 'server_error' : 'invalid_request_error', code: wire.code } });
      }
      return true;
    }
    return false;
  }

  private async complete(body: z.infer<typeof chatRequestSchema>): Promise<unknown> {
    const known = new ModelService(this.store).list().some((model) => model.name === body.model);
    if (!known) throw new FacetError('MODEL_NOT_FOUND', `No registered model is named '${body.model}'. GET /v1/models lists them; 'facet models add <file.gguf>' registers one.`, { model: body.model });
    const turns: ChatTurn[] = body.messages.map((message) => ({ role: message.role, content: message.content }));
    const format = body.response_format;
    const sampling: ChatSampling = {
      maxTokens: body.max_completion_tokens ?? body.max_tokens ?? 256,
      temperature: body.temperature ?? 1,
      topP: body.top_p ?? 1,
      seed: body.seed ?? 0,
      ...(body.stop === undefined ? {} : { stop: typeof body.stop === 'string' ? [body.stop] : body.stop }),
      ...(format?.type === 'json_schema' ? { jsonSchema: format.json_schema.schema } : format?.type === 'json_object' ? { jsonSchema: { type: 'object' } } : {}),
    };
    const completion = await this.calls.run('chat.complete', { model: body.model, turns, n: body.n ?? 1, sampling });
    return {
      id: `chatcmpl-${randomUUID()}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: body.model,
      choices: completion.choices.map((choice, index) => ({ index, message: { role: 'assistant', content: choice.text }, finish_reason: choice.finish === 'length' ? 'length' : 'stop' })),
      usage: { prompt_tokens: completion.promptTokens, completion_tokens: completion.completionTokens, total_tokens: completion.promptTokens + completion.completionTokens },
    };
  }

  /** Nothing of its own to free: the model processes belong to the engine ({@link FacetEngine.close}). */
  async close(): Promise<void> {}
}

async function readJsonBody(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > maxBodyBytes) throw new FacetError('PAYLOAD_TOO_LARGE', `The request body is larger than ${maxBodyBytes / (1024 * 1024)} MiB.`);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new FacetError('INVALID_ARGUMENT', 'The request body is not JSON.');
  }
}

function send(response: ServerResponse, status: number, body: unknown): void {
  if (response.headersSent || response.destroyed) return;
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  response.end(JSON.stringify(body));
}
