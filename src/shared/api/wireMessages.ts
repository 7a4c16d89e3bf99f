import type { WireError } from '../FacetError.ts';

/** Messages exchanged over any transport (MessagePort, WebSocket). Plain JSON-compatible data. */
export type WireMessage =
  | { type: 'request'; id: number; method: string; params: unknown }
  | { type: 'response'; id: number; ok: true; result: unknown }
  | { type: 'response'; id: number; ok: false; error: WireError }
  | { type: 'event'; event: string; payload: unknown };

export function isWireMessage(value: unknown): value is WireMessage {
  if (typeof value !== 'object' || value === null) return false;
  const type = (value as { type?: unknown }).type;
  return type === 'request' || type === 'response' || type === 'event';
}
