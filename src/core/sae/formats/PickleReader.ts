import { FacetError } from '../../../shared/FacetError.ts';

/**
 * A minimal Python unpickler (protocols 2–5, the opcodes `torch.save` and plain containers use).
 * It never executes anything: a GLOBAL becomes a {@link PickleGlobal} marker; REDUCE, NEWOBJ and
 * BUILD call the caller's `construct` hook with that marker and the arguments, or yield a
 * {@link PickleObject} when the hook does not know the class.
 *
 * Python values map to: dict → Map, list and tuple → Array, str → string, bytes → Uint8Array,
 * int → number (bigint beyond 2^53), float → number, None → null, bool → boolean.
 */
export interface PickleGlobal {
  kind: 'global';
  module: string;
  name: string;
}

export interface PickleObject {
  kind: 'object';
  type: PickleGlobal;
  args: unknown[];
  state?: unknown;
}

export interface UnpickleHooks {
  /** Value for a persistent id (BINPERSID). */
  persistentLoad?(pid: unknown): unknown;
  /** Builds `type(*args)`; return undefined to keep a generic {@link PickleObject}. */
  construct?(type: PickleGlobal, args: unknown[]): unknown;
}

const MARK = Symbol('mark');

export function isPickleGlobal(value: unknown, module?: string, name?: string): value is PickleGlobal {
  if (typeof value !== 'object' || value === null || (value as { kind?: unknown }).kind !== 'global') return false;
  const g = value as PickleGlobal;
  return (module === undefined || g.module === module) && (name === undefined || g.name === name);
}

/** Unpickles `bytes`; `where` names the file in error messages. */
export function unpickle(bytes: Uint8Array, where: string, hooks: UnpickleHooks = {}): unknown {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: unknown[] = [];
  const memo = new Map<number, unknown>();
  let p = 0;
  const fail = (what: string): never => {
    throw new FacetError('SAE_FILE_INVALID', `${where}: the pickle is not readable at byte ${p}: ${what}. Re-save the checkpoint with torch.save (protocol 2 or later).`, { file: where, offset: p });
  };
  const need = (n: number): void => {
    if (p + n > buffer.length) fail('it ends early');
  };
  const pop = (): unknown => {
    if (stack.length === 0) fail('stack underflow');
    return stack.pop();
  };
  const popMark = (): unknown[] => {
    const index = stack.lastIndexOf(MARK);
    if (index < 0) fail('MARK missing');
    const items = stack.splice(index);
    items.shift();
    return items;
  };
  const top = (): unknown => {
    if (stack.length === 0) fail('stack underflow');
    return stack[stack.length - 1];
  };
  const text = (n: number): string => {
    need(n);
    const s = buffer.toString('utf8', p, p + n);
    p += n;
    return s;
  };
  const raw = (n: number): Uint8Array => {
    need(n);
    const s = new Uint8Array(buffer.subarray(p, p + n));
    p += n;
    return s;
  };
  const line = (): string => {
    const end = buffer.indexOf(0x0a, p);
    if (end < 0) fail('unterminated line');
    const s = buffer.toString('latin1', p, end);
    p = end + 1;
    return s;
  };
  const call = (type: unknown, args: unknown[]): unknown => {
    if (!isPickleGlobal(type)) return fail('REDUCE on something that is not a class');
    const built = hooks.construct?.(type, args);
    if (built !== undefined) return built;
    if (type.module === 'collections' && type.name === 'OrderedDict') return new Map();
    if (type.module === 'builtins' && type.name === 'set') return new Set(Array.isArray(args[0]) ? args[0] : []);
    return { kind: 'object', type, args } satisfies PickleObject;
  };
  const setItems = (target: unknown, items: unknown[]): void => {
    if (!(target instanceof Map)) return fail('SETITEMS on something that is not a dict');
    for (let i = 0; i + 1 < items.length; i += 2) target.set(items[i], items[i + 1]);
  };
  const longFrom = (bytesLE: Buffer): number | bigint => {
    if (bytesLE.length === 0) return 0;
    let value = 0n;
    for (let i = bytesLE.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytesLE[i] as number);
    if ((bytesLE[bytesLE.length - 1] as number) & 0x80) value -= 1n << BigInt(bytesLE.length * 8);
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
  };

  for (;;) {
    need(1);
    const opcode = buffer[p++] as number;
    switch (opcode) {
      case 0x80: // PROTO
        need(1);
        p += 1;
        break;
      case 0x95: // FRAME
        need(8);
        p += 8;
        break;
      case 0x2e: // STOP
        return pop();
      case 0x28: // MARK
        stack.push(MARK);
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push([]);
        break;
      case 0x8f: // EMPTY_SET
        stack.push(new Set());
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4a: // BININT
        need(4);
        stack.push(buffer.readInt32LE(p));
        p += 4;
        break;
      case 0x4b: // BININT1
        need(1);
        stack.push(buffer[p++]);
        break;
      case 0x4d: // BININT2
        need(2);
        stack.push(buffer.readUInt16LE(p));
        p += 2;
        break;
      case 0x8a: {
        // LONG1
        need(1);
        const n = buffer[p++] as number;
        need(n);
        stack.push(longFrom(buffer.subarray(p, p + n)));
        p += n;
        break;
      }
      case 0x8b: {
        // LONG4
        need(4);
        const n = buffer.readInt32LE(p);
        p += 4;
        need(n);
        stack.push(longFrom(buffer.subarray(p, p + n)));
        p += n;
        break;
      }
      case 0x47: // BINFLOAT (big-endian)
        need(8);
        stack.push(buffer.readDoubleBE(p));
        p += 8;
        break;
      case 0x58: // BINUNICODE
        need(4);
        p += 4;
        stack.push(text(buffer.readUInt32LE(p - 4)));
        break;
      case 0x8c: // SHORT_BINUNICODE
        need(1);
        p += 1;
        stack.push(text(buffer[p - 1] as number));
        break;
      case 0x8d: // BINUNICODE8
        need(8);
        p += 8;
        stack.push(text(Number(buffer.readBigUInt64LE(p - 8))));
        break;
      case 0x54: // BINSTRING
        need(4);
        p += 4;
        stack.push(text(buffer.readInt32LE(p - 4)));
        break;
      case 0x55: // SHORT_BINSTRING
        need(1);
        p += 1;
        stack.push(text(buffer[p - 1] as number));
        break;
      case 0x42: // BINBYTES
        need(4);
        p += 4;
        stack.push(raw(buffer.readUInt32LE(p - 4)));
        break;
      case 0x43: // SHORT_BINBYTES
        need(1);
        p += 1;
        stack.push(raw(buffer[p - 1] as number));
        break;
      case 0x8e: // BINBYTES8
        need(8);
        p += 8;
        stack.push(raw(Number(buffer.readBigUInt64LE(p - 8))));
        break;
      case 0x71: // BINPUT
        need(1);
        memo.set(buffer[p++] as number, top());
        break;
      case 0x72: // LONG_BINPUT
        need(4);
        memo.set(buffer.readUInt32LE(p), top());
        p += 4;
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
        need(1);
        if (!memo.has(buffer[p] as number)) fail(`memo ${buffer[p]} missing`);
        stack.push(memo.get(buffer[p++] as number));
        break;
      case 0x6a: // LONG_BINGET
        need(4);
        if (!memo.has(buffer.readUInt32LE(p))) fail('memo entry missing');
        stack.push(memo.get(buffer.readUInt32LE(p)));
        p += 4;
        break;
      case 0x63: {
        // GLOBAL "module\nname\n"
        const module = line();
        const name = line();
        stack.push({ kind: 'global', module, name } satisfies PickleGlobal);
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        stack.push({ kind: 'global', module: String(module), name: String(name) } satisfies PickleGlobal);
        break;
      }
      case 0x51: // BINPERSID
        stack.push(hooks.persistentLoad ? hooks.persistentLoad(pop()) : fail('persistent id without a loader'));
        break;
      case 0x74: // TUPLE
        stack.push(popMark());
        break;
      case 0x85: // TUPLE1
        stack.push([pop()]);
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        stack.push([pop(), b]);
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        stack.push([pop(), b, c]);
        break;
      }
      case 0x6c: // LIST
        stack.push(popMark());
        break;
      case 0x64: {
        // DICT
        const map = new Map();
        setItems(map, popMark());
        stack.push(map);
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        const type = pop();
        stack.push(call(type, Array.isArray(args) ? args : [args]));
        break;
      }
      case 0x81: {
        // NEWOBJ
        const args = pop();
        const type = pop();
        stack.push(call(type, Array.isArray(args) ? args : [args]));
        break;
      }
      case 0x62: {
        // BUILD: object state; kept on generic objects, ignored on dicts (e.g. `_metadata`).
        const state = pop();
        const target = top();
        if (typeof target === 'object' && target !== null && (target as PickleObject).kind === 'object') (target as PickleObject).state = state;
        break;
      }
      case 0x73: {
        // SETITEM
        const value = pop();
        const key = pop();
        setItems(top(), [key, value]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x61: {
        // APPEND
        const value = pop();
        const list = top();
        if (!Array.isArray(list)) fail('APPEND on something that is not a list');
        (list as unknown[]).push(value);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        const list = top();
        if (!Array.isArray(list)) fail('APPENDS on something that is not a list');
        (list as unknown[]).push(...items);
        break;
      }
      case 0x90: {
        // ADDITEMS
        const items = popMark();
        const set = top();
        if (!(set instanceof Set)) fail('ADDITEMS on something that is not a set');
        for (const item of items) (set as Set<unknown>).add(item);
        break;
      }
      case 0x30: // POP
        pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      default:
        return fail(`opcode 0x${opcode.toString(16)} is not supported`);
    }
  }
}
