import { FacetError } from '../FacetError.ts';
import type { EventName, EventPayloads, MethodName, MethodParams, MethodResult } from './contract.ts';
import { isWireMessage, type WireMessage } from './wireMessages.ts';

/** A duplex channel of wire messages: a MessagePort, a WebSocket, or the preload bridge. */
export interface WireChannel {
  send(message: WireMessage): void;
  /** Registers the receiver; returns an unsubscribe function. */
  onMessage(receiver: (message: WireMessage) => void): () => void;
}

type EventListener<E extends EventName> = (payload: EventPayloads[E]) => void;

/** Typed client of the engine API over any {@link WireChannel}. Runs in browsers and Node. */
export class ApiClient {
  private readonly channel: WireChannel;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(value: unknown): void; reject(error: FacetError): void }>();
  private readonly listeners = new Map<string, Set<(payload: unknown) => void>>();
  private readonly unsubscribe: () => void;

  constructor(channel: WireChannel) {
    this.channel = channel;
    this.unsubscribe = channel.onMessage((message) => this.receive(message));
  }

  call<M extends MethodName>(method: M, params: MethodParams<M>): Promise<MethodResult<M>> {
    const id = this.nextId++;
    return new Promise<MethodResult<M>>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      try {
        this.channel.send({ type: 'request', id, method, params });
      } catch (error) {
        this.pending.delete(id);
        reject(new FacetError('INTERNAL', `The connection to the Facet engine is closed (${(error as Error).message}). Reload the page.`));
      }
    });
  }

  on<E extends EventName>(event: E, listener: EventListener<E>): () => void {
    let set = this.listeners.get(event);
    if (set === undefined) this.listeners.set(event, (set = new Set()));
    const erased = listener as (payload: unknown) => void;
    set.add(erased);
    return () => set.delete(erased);
  }

  /** Fails every call still waiting (the connection dropped). */
  failPending(reason: string): void {
    for (const { reject } of this.pending.values()) reject(new FacetError('INTERNAL', reason));
    this.pending.clear();
  }

  close(): void {
    this.unsubscribe();
    this.failPending('The API client was closed.');
  }

  private receive(message: WireMessage): void {
    if (!isWireMessage(message)) return;
    if (message.type === 'response') {
      const waiter = this.pending.get(message.id);
      if (waiter === undefined) return;
      this.pending.delete(message.id);
      if (message.ok) waiter.resolve(message.result);
      else waiter.reject(FacetError.fromWire(message.error));
    } else if (message.type === 'event') {
      for (const listener of this.listeners.get(message.event) ?? []) listener(message.payload);
    }
  }
}
