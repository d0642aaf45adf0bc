import { VetbenchError } from '../../../errors.js';
import { allowedRole, STORAGE_DTYPES } from './allowed-globals.js';
import {
  qualifiedName,
  type PickleCall,
  type PickleDict,
  type PickleGlobal,
  type PickleList,
  type PickleObject,
  type PickleStorageRef,
  type PickleValue,
} from './values.js';

/**
 * A pickle interpreter that never executes anything (protocols 0-5, the opcodes checkpoints use).
 * Python's unpickler imports every GLOBAL and calls it on REDUCE; this one only records names, builds the
 * handful of constructors a checkpoint needs as inert values (allowed-globals.ts) and refuses the rest,
 * naming the callable. Every length is checked against the bytes left before anything is allocated, and the
 * stack, the memo and the mark stack are bounded, so a hostile pickle fails with one clear line.
 */

export interface UnpickleLimits {
  readonly maxStack: number;
  readonly maxMemo: number;
  readonly maxMarks: number;
  /** Longest text line (GLOBAL names, INT/FLOAT literals) of the text opcodes. */
  readonly maxLine: number;
  /** Longest single string or bytes literal. */
  readonly maxString: number;
}

export const DEFAULT_UNPICKLE_LIMITS: UnpickleLimits = {
  maxStack: 1_000_000,
  maxMemo: 1_000_000,
  maxMarks: 10_000,
  maxLine: 4096,
  maxString: 64 * 1024 * 1024,
};

export interface UnpickleOptions {
  /** Names the file in errors. */
  readonly sourceName: string;
  /**
   * `load` (default) refuses the first disallowed global; `inventory` records it and goes on with an inert
   * placeholder, so inspect-model can list every callable a hostile file names (still running nothing).
   */
  readonly mode?: 'load' | 'inventory';
  readonly limits?: Partial<UnpickleLimits>;
}

export interface ReferencedGlobal {
  readonly name: string;
  readonly allowed: boolean;
  readonly count: number;
}

export interface UnpickleResult {
  readonly value: PickleValue;
  /** Bytes consumed up to and including STOP (legacy files hold several pickles back to back). */
  readonly end: number;
  readonly protocol: number;
  /** Every global the pickle names, in first-seen order. */
  readonly globals: readonly ReferencedGlobal[];
}

const MARK = Symbol('mark');
type StackItem = PickleValue | typeof MARK;

export class PickleRefusedError extends VetbenchError {
  readonly callable: string;
  constructor(sourceName: string, callable: string) {
    super(
      'pickle-refused',
      `${sourceName}: the pickle calls ${callable}, which no weights checkpoint needs; refused without running it`,
      'Do not open this file with torch.load (it would run that call). Ask its publisher for a safetensors file, ' +
        'or inspect it with: vetbench inspect-model <file>.',
    );
    this.callable = callable;
  }
}

function malformed(sourceName: string, problem: string, position: number): VetbenchError {
  return new VetbenchError(
    'pickle-malformed',
    `${sourceName}: malformed pickle at byte ${position}: ${problem}`,
    'The checkpoint is damaged or was crafted; re-download it or ask its publisher for a safetensors file.',
  );
}

const latin1 = new TextDecoder('latin1');
const utf8 = new TextDecoder('utf-8', { fatal: true });

class Unpickler {
  private pos: number;
  private readonly stack: StackItem[] = [];
  private readonly marks: number[] = [];
  private readonly memo = new Map<number, PickleValue>();
  private readonly globals = new Map<string, { allowed: boolean; count: number }>();
  private protocol = 0;
  private readonly limits: UnpickleLimits;
  private readonly inventory: boolean;
  private readonly source: string;

  constructor(
    private readonly bytes: Uint8Array,
    start: number,
    options: UnpickleOptions,
  ) {
    this.pos = start;
    this.limits = { ...DEFAULT_UNPICKLE_LIMITS, ...(options.limits ?? {}) };
    this.inventory = options.mode === 'inventory';
    this.source = options.sourceName;
  }

  private fail(problem: string, at = this.pos): VetbenchError {
    return malformed(this.source, problem, at);
  }

  // ---- reading -------------------------------------------------------------------------------------------

  private need(count: number): void {
    if (!Number.isSafeInteger(count) || count < 0 || count > this.bytes.length - this.pos) {
      throw this.fail(`needs ${count} more bytes, the file has ${this.bytes.length - this.pos} left`);
    }
  }

  private u8(): number {
    this.need(1);
    return this.bytes[this.pos++] as number;
  }

  private view(count: number): DataView {
    this.need(count);
    const v = new DataView(this.bytes.buffer, this.bytes.byteOffset + this.pos, count);
    this.pos += count;
    return v;
  }

  private take(count: number): Uint8Array {
    if (count > this.limits.maxString) {
      throw this.fail(`a literal of ${count} bytes exceeds the limit of ${this.limits.maxString}`);
    }
    this.need(count);
    const out = this.bytes.subarray(this.pos, this.pos + count);
    this.pos += count;
    return out;
  }

  private line(): string {
    const limit = Math.min(this.bytes.length, this.pos + this.limits.maxLine + 1);
    for (let i = this.pos; i < limit; i++) {
      if (this.bytes[i] === 0x0a) {
        const text = latin1.decode(this.bytes.subarray(this.pos, i));
        this.pos = i + 1;
        return text;
      }
    }
    throw this.fail(`a text line longer than ${this.limits.maxLine} bytes or without an end`);
  }

  private u64(): number {
    const v = this.view(8).getBigUint64(0, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw this.fail(`a length of ${v} bytes`);
    return Number(v);
  }

  private text(raw: Uint8Array): string {
    try {
      return utf8.decode(raw);
    } catch {
      throw this.fail('a string that is not valid UTF-8');
    }
  }

  // ---- stack ---------------------------------------------------------------------------------------------

  private push(item: StackItem): void {
    if (this.stack.length >= this.limits.maxStack) {
      throw this.fail(`the stack grows beyond ${this.limits.maxStack} entries`);
    }
    this.stack.push(item);
  }

  private pop(): PickleValue {
    const item = this.stack.pop();
    if (item === undefined) throw this.fail('pops an empty stack');
    if (item === MARK) throw this.fail('pops a MARK as a value');
    return item;
  }

  private top(): PickleValue {
    const item = this.stack[this.stack.length - 1];
    if (item === undefined) throw this.fail('reads an empty stack');
    if (item === MARK) throw this.fail('reads a MARK as a value');
    return item;
  }

  private pushMark(): void {
    if (this.marks.length >= this.limits.maxMarks) {
      throw this.fail(`more than ${this.limits.maxMarks} nested MARKs`);
    }
    this.marks.push(this.stack.length);
    this.push(MARK);
  }

  /** The values above the last MARK, removing them and the mark. */
  private popMark(): PickleValue[] {
    const at = this.marks.pop();
    if (at === undefined) throw this.fail('no MARK to pop to');
    const items = this.stack.splice(at);
    items.shift();
    if (items.some((i) => i === MARK)) throw this.fail('a MARK inside marked items');
    return items as PickleValue[];
  }

  private memoPut(index: number, value: PickleValue): void {
    if (!Number.isSafeInteger(index) || index < 0) throw this.fail(`memo index ${index}`);
    if (!this.memo.has(index) && this.memo.size >= this.limits.maxMemo) {
      throw this.fail(`the memo grows beyond ${this.limits.maxMemo} entries`);
    }
    this.memo.set(index, value);
  }

  private memoGet(index: number): PickleValue {
    const value = this.memo.get(index);
    if (value === undefined) throw this.fail(`memo entry ${index} was never stored`);
    return value;
  }

  // ---- globals -------------------------------------------------------------------------------------------

  private global(module: string, name: string): PickleGlobal {
    const full = `${module}.${name}`;
    const allowed = allowedRole(module, name) !== undefined;
    const seen = this.globals.get(full);
    if (seen) seen.count++;
    else this.globals.set(full, { allowed, count: 1 });
    if (!allowed && !this.inventory) throw new PickleRefusedError(this.source, full);
    return { kind: 'global', module, name };
  }

  private asGlobal(value: PickleValue, what: string): PickleGlobal {
    if (
      value === null ||
      typeof value !== 'object' ||
      value instanceof Uint8Array ||
      value.kind !== 'global'
    ) {
      throw this.fail(`${what} of something that is not a global`);
    }
    return value;
  }

  private args(value: PickleValue, what: string): readonly PickleValue[] {
    if (
      value !== null &&
      typeof value === 'object' &&
      !(value instanceof Uint8Array) &&
      value.kind === 'tuple'
    )
      return value.items;
    throw this.fail(`${what} with arguments that are not a tuple`);
  }

  /** REDUCE / NEWOBJ: only the allowed constructors, as inert values. */
  private construct(callable: PickleGlobal, args: readonly PickleValue[], how: 'call' | 'new'): PickleValue {
    const name = qualifiedName(callable);
    const role = allowedRole(callable.module, callable.name);
    if (role === undefined) {
      // Only reachable in inventory mode: the global was recorded, the call is replaced by a placeholder.
      return { kind: 'call', callable: name, args: [] } satisfies PickleCall;
    }
    switch (role) {
      case 'ordered-dict':
        if (args.length !== 0) throw this.fail('OrderedDict with arguments');
        return { kind: 'dict', entries: new Map() } satisfies PickleDict;
      case 'tensor-rebuild':
      case 'parameter-rebuild':
        if (how !== 'call') break;
        return { kind: 'call', callable: name, args } satisfies PickleCall;
      case 'module-record':
        if (how !== 'new') break;
        return { kind: 'object', className: name, state: null } satisfies PickleObject;
      case 'storage-type':
        break;
    }
    if (this.inventory) return { kind: 'call', callable: name, args: [] } satisfies PickleCall;
    throw new PickleRefusedError(
      this.source,
      `${name} (used as ${how === 'new' ? 'a class' : 'a function'})`,
    );
  }

  private persistent(pid: PickleValue): PickleValue {
    const items = this.args(pid, 'a persistent id');
    const [tag, type, key, , numel] = items;
    if (tag !== 'storage')
      throw this.fail(`a persistent id of kind ${String(tag)} (only 'storage' is known)`);
    const storageType = this.asGlobal(type ?? null, 'a storage');
    if (
      !Object.prototype.hasOwnProperty.call(STORAGE_DTYPES, storageType.name) ||
      storageType.module !== 'torch'
    ) {
      if (this.inventory) return null;
      throw new PickleRefusedError(this.source, `${qualifiedName(storageType)} (as a storage type)`);
    }
    const count = typeof numel === 'bigint' ? Number(numel) : numel;
    if (typeof key !== 'string' || typeof count !== 'number' || !Number.isSafeInteger(count) || count < 0) {
      throw this.fail('a storage id without a string key and an element count');
    }
    return { kind: 'storage', storageType: storageType.name, key, numel: count } satisfies PickleStorageRef;
  }

  private setItems(target: PickleValue, items: readonly PickleValue[]): void {
    if (items.length % 2 !== 0) throw this.fail('SETITEMS with an odd number of items');
    if (
      target === null ||
      typeof target !== 'object' ||
      target instanceof Uint8Array ||
      target.kind !== 'dict'
    ) {
      if (
        this.inventory &&
        target !== null &&
        typeof target === 'object' &&
        'kind' in target &&
        target.kind === 'call'
      )
        return;
      throw this.fail('SETITEM on something that is not a dict');
    }
    for (let i = 0; i < items.length; i += 2) {
      const key = items[i];
      if (typeof key !== 'string' && typeof key !== 'number') {
        throw this.fail('a dict key that is neither a string nor a number');
      }
      target.entries.set(String(key), items[i + 1] ?? null);
    }
  }

  private appendItems(target: PickleValue, items: readonly PickleValue[]): void {
    if (
      target !== null &&
      typeof target === 'object' &&
      !(target instanceof Uint8Array) &&
      target.kind === 'list'
    ) {
      if (target.items.length + items.length > this.limits.maxStack) {
        throw this.fail(`a list longer than ${this.limits.maxStack} items`);
      }
      for (const item of items) target.items.push(item);
      return;
    }
    if (this.inventory) return;
    throw this.fail('APPEND to something that is not a list');
  }

  private build(target: PickleValue, state: PickleValue): void {
    if (target !== null && typeof target === 'object' && !(target instanceof Uint8Array)) {
      if (target.kind === 'object') {
        target.state = state;
        return;
      }
      // OrderedDict pickles its instance attributes (state dicts keep `_metadata` there): not needed.
      if (target.kind === 'dict') return;
      if (target.kind === 'call' && this.inventory) return;
    }
    throw this.fail('BUILD on something that is neither a module record nor a dict');
  }

  private int(text: string): number | bigint | boolean {
    if (text === '00') return false;
    if (text === '01') return true;
    const clean = text.endsWith('L') ? text.slice(0, -1) : text;
    if (!/^[-+]?\d+$/.test(clean)) throw this.fail(`an integer literal '${text.slice(0, 40)}'`);
    const big = BigInt(clean);
    return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(big)
      : big;
  }

  private long(raw: Uint8Array): number | bigint {
    if (raw.length === 0) return 0;
    let v = 0n;
    for (let i = raw.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(raw[i] as number);
    if ((raw[raw.length - 1] as number) & 0x80) v -= 1n << BigInt(raw.length * 8);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }

  // ---- the loop ------------------------------------------------------------------------------------------

  run(): UnpickleResult {
    for (;;) {
      const at = this.pos;
      if (at >= this.bytes.length) throw this.fail('the pickle ends without STOP');
      const op = this.u8();
      switch (op) {
        case 0x80: // PROTO
          this.protocol = this.u8();
          if (this.protocol > 5) throw this.fail(`pickle protocol ${this.protocol} (known: 0-5)`, at);
          break;
        case 0x95: // FRAME: a length hint only
          this.u64();
          break;
        case 0x2e: // STOP
          return {
            value: this.pop(),
            end: this.pos,
            protocol: this.protocol,
            globals: [...this.globals].map(([name, g]) => ({ name, allowed: g.allowed, count: g.count })),
          };
        case 0x28: // MARK
          this.pushMark();
          break;
        case 0x30: // POP
          if (this.stack[this.stack.length - 1] === MARK) this.popMark();
          else this.pop();
          break;
        case 0x31: // POP_MARK
          this.popMark();
          break;
        case 0x32: // DUP
          this.push(this.top());
          break;
        case 0x4e: // NONE
          this.push(null);
          break;
        case 0x88: // NEWTRUE
          this.push(true);
          break;
        case 0x89: // NEWFALSE
          this.push(false);
          break;
        case 0x4a: // BININT
          this.push(this.view(4).getInt32(0, true));
          break;
        case 0x4b: // BININT1
          this.push(this.u8());
          break;
        case 0x4d: // BININT2
          this.push(this.view(2).getUint16(0, true));
          break;
        case 0x8a: // LONG1
          this.push(this.long(this.take(this.u8())));
          break;
        case 0x8b: // LONG4
          this.push(this.long(this.take(this.view(4).getUint32(0, true))));
          break;
        case 0x49: // INT
          this.push(this.int(this.line()));
          break;
        case 0x4c: // LONG
          this.push(this.int(this.line()));
          break;
        case 0x47: // BINFLOAT (big-endian)
          this.push(this.view(8).getFloat64(0, false));
          break;
        case 0x46: {
          // FLOAT
          const text = this.line();
          const value = Number(text);
          if (text.trim() === '' || (Number.isNaN(value) && !/nan/i.test(text)))
            throw this.fail(`a float literal '${text.slice(0, 40)}'`, at);
          this.push(value);
          break;
        }
        case 0x58: // BINUNICODE
          this.push(this.text(this.take(this.view(4).getUint32(0, true))));
          break;
        case 0x8c: // SHORT_BINUNICODE
          this.push(this.text(this.take(this.u8())));
          break;
        case 0x8d: // BINUNICODE8
          this.push(this.text(this.take(this.u64())));
          break;
        case 0x56: // UNICODE (raw-unicode-escape; checkpoints never need the escapes)
          this.push(this.line());
          break;
        case 0x54: // BINSTRING (Python 2 str)
          this.push(latin1.decode(this.take(this.view(4).getInt32(0, true))));
          break;
        case 0x55: // SHORT_BINSTRING
          this.push(latin1.decode(this.take(this.u8())));
          break;
        case 0x53: {
          // STRING: a quoted repr; only plain quoted text is accepted
          const text = this.line();
          const match = /^(['"])(.*)\1$/.exec(text);
          if (!match || match[2]?.includes('\\')) throw this.fail('a STRING literal with escapes', at);
          this.push(match[2] ?? '');
          break;
        }
        case 0x42: // BINBYTES
          this.push(this.take(this.view(4).getUint32(0, true)));
          break;
        case 0x43: // SHORT_BINBYTES
          this.push(this.take(this.u8()));
          break;
        case 0x8e: // BINBYTES8
        case 0x96: // BYTEARRAY8
          this.push(this.take(this.u64()));
          break;
        case 0x29: // EMPTY_TUPLE
          this.push({ kind: 'tuple', items: [] });
          break;
        case 0x74: // TUPLE
          this.push({ kind: 'tuple', items: this.popMark() });
          break;
        case 0x85: // TUPLE1
          this.push({ kind: 'tuple', items: [this.pop()] });
          break;
        case 0x86: {
          // TUPLE2
          const b = this.pop();
          this.push({ kind: 'tuple', items: [this.pop(), b] });
          break;
        }
        case 0x87: {
          // TUPLE3
          const c = this.pop();
          const b = this.pop();
          this.push({ kind: 'tuple', items: [this.pop(), b, c] });
          break;
        }
        case 0x5d: // EMPTY_LIST
          this.push({ kind: 'list', items: [] } satisfies PickleList);
          break;
        case 0x6c: // LIST
          this.push({ kind: 'list', items: this.popMark() } satisfies PickleList);
          break;
        case 0x61: {
          // APPEND
          const item = this.pop();
          this.appendItems(this.top(), [item]);
          break;
        }
        case 0x65: {
          // APPENDS
          const items = this.popMark();
          this.appendItems(this.top(), items);
          break;
        }
        case 0x8f: // EMPTY_SET: kept as a list (checkpoints carry sets only in metadata)
          this.push({ kind: 'list', items: [] } satisfies PickleList);
          break;
        case 0x90: {
          // ADDITEMS
          const items = this.popMark();
          this.appendItems(this.top(), items);
          break;
        }
        case 0x91: // FROZENSET
          this.push({ kind: 'list', items: this.popMark() } satisfies PickleList);
          break;
        case 0x7d: // EMPTY_DICT
          this.push({ kind: 'dict', entries: new Map() } satisfies PickleDict);
          break;
        case 0x64: {
          // DICT
          const dict: PickleDict = { kind: 'dict', entries: new Map() };
          this.setItems(dict, this.popMark());
          this.push(dict);
          break;
        }
        case 0x73: {
          // SETITEM
          const value = this.pop();
          const key = this.pop();
          this.setItems(this.top(), [key, value]);
          break;
        }
        case 0x75: {
          // SETITEMS
          const items = this.popMark();
          this.setItems(this.top(), items);
          break;
        }
        case 0x67: // GET
          this.push(this.memoGet(Number(this.int(this.line()))));
          break;
        case 0x68: // BINGET
          this.push(this.memoGet(this.u8()));
          break;
        case 0x6a: // LONG_BINGET
          this.push(this.memoGet(this.view(4).getUint32(0, true)));
          break;
        case 0x70: // PUT
          this.memoPut(Number(this.int(this.line())), this.top());
          break;
        case 0x71: // BINPUT
          this.memoPut(this.u8(), this.top());
          break;
        case 0x72: // LONG_BINPUT
          this.memoPut(this.view(4).getUint32(0, true), this.top());
          break;
        case 0x94: // MEMOIZE
          this.memoPut(this.memo.size, this.top());
          break;
        case 0x63: {
          // GLOBAL
          const module = this.line();
          const name = this.line();
          this.push(this.global(module, name));
          break;
        }
        case 0x93: {
          // STACK_GLOBAL
          const name = this.pop();
          const module = this.pop();
          if (typeof module !== 'string' || typeof name !== 'string') {
            throw this.fail('STACK_GLOBAL with names that are not strings', at);
          }
          this.push(this.global(module, name));
          break;
        }
        case 0x52: {
          // REDUCE
          const args = this.args(this.pop(), 'REDUCE');
          const callable = this.asGlobal(this.pop(), 'REDUCE');
          this.push(this.construct(callable, args, 'call'));
          break;
        }
        case 0x81: {
          // NEWOBJ
          const args = this.args(this.pop(), 'NEWOBJ');
          const cls = this.asGlobal(this.pop(), 'NEWOBJ');
          this.push(this.construct(cls, args, 'new'));
          break;
        }
        case 0x92: {
          // NEWOBJ_EX
          this.pop(); // kwargs
          const args = this.args(this.pop(), 'NEWOBJ_EX');
          const cls = this.asGlobal(this.pop(), 'NEWOBJ_EX');
          this.push(this.construct(cls, args, 'new'));
          break;
        }
        case 0x69: {
          // INST: module and class name inline, arguments above the mark
          const module = this.line();
          const name = this.line();
          const args = this.popMark();
          this.push(this.construct(this.global(module, name), args, 'new'));
          break;
        }
        case 0x6f: {
          // OBJ: class and arguments above the mark
          const [cls, ...args] = this.popMark();
          this.push(this.construct(this.asGlobal(cls ?? null, 'OBJ'), args, 'new'));
          break;
        }
        case 0x62: {
          // BUILD
          const state = this.pop();
          this.build(this.top(), state);
          break;
        }
        case 0x50: // PERSID (text id: not a form torch writes)
          throw this.fail('a text persistent id (PERSID); torch writes BINPERSID', at);
        case 0x51: // BINPERSID
          this.push(this.persistent(this.pop()));
          break;
        case 0x82:
        case 0x83:
        case 0x84: {
          // EXT1/2/4: the copyreg extension registry names callables by number; never needed by torch
          const code =
            op === 0x82
              ? this.u8()
              : op === 0x83
                ? this.view(2).getUint16(0, true)
                : this.view(4).getInt32(0, true);
          if (this.inventory) {
            this.globals.set(`copyreg extension #${code}`, { allowed: false, count: 1 });
            this.push(null);
            break;
          }
          throw new PickleRefusedError(this.source, `copyreg extension #${code}`);
        }
        case 0x97: // NEXT_BUFFER
        case 0x98: // READONLY_BUFFER
          throw this.fail('out-of-band buffers (protocol 5) are not used by checkpoints', at);
        default:
          throw this.fail(`unknown opcode 0x${op.toString(16).padStart(2, '0')}`, at);
      }
    }
  }
}

/** Interprets one pickle starting at `start` (default 0) without executing anything. */
export function unpickle(bytes: Uint8Array, options: UnpickleOptions & { start?: number }): UnpickleResult {
  return new Unpickler(bytes, options.start ?? 0, options).run();
}
