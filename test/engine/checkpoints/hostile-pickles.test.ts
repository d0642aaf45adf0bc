import { describe, expect, it } from 'vitest';
import { unpickle } from '../../../engine/clip/checkpoints/pickle/unpickler.js';
import { collectTensorCalls, materializeTensors } from '../../../engine/clip/checkpoints/state-dict.js';
import { readTorchCheckpoint } from '../../../engine/clip/checkpoints/torch-checkpoint.js';
import { openZip } from '../../../engine/clip/checkpoints/zip-archive.js';
import { VetbenchError } from '../../../engine/errors.js';

/** Tiny pickle assembler: opcodes and their arguments as bytes. */
const enc = new TextEncoder();
function u32(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
}
const op = {
  proto: [0x80, 2],
  stop: [0x2e],
  mark: [0x28],
  tuple: [0x74],
  emptyDict: [0x7d],
  emptyTuple: [0x29],
  setitem: [0x73],
  setitems: [0x75],
  reduce: [0x52],
  binpersid: [0x51],
  newfalse: [0x89],
  str: (s: string) => [0x58, ...u32(enc.encode(s).length), ...enc.encode(s)],
  int: (n: number) => [0x4a, ...u32(n)],
  /** LONG1: little-endian two's complement, for values beyond 32 bits. */
  long: (n: number) => {
    const bytes: number[] = [];
    for (let v = BigInt(n); v > 0n; v >>= 8n) bytes.push(Number(v & 0xffn));
    return [0x8a, bytes.length + 1, ...bytes, 0];
  },
  global: (module: string, name: string) => [0x63, ...enc.encode(`${module}\n${name}\n`)],
  binput: (i: number) => [0x71, i],
  binget: (i: number) => [0x68, i],
};
const pickle = (...parts: number[][]) => Uint8Array.from(parts.flat());

/** {name: _rebuild_tensor_v2(storage('0', FloatStorage, numel), 0, size, stride, False, OrderedDict())} */
function stateDict(name: string, numel: number, size: number[], stride: number[]): Uint8Array {
  const tuple = (xs: number[]) => [...op.mark, ...xs.flatMap((x) => op.int(x)), ...op.tuple];
  return pickle(
    op.proto,
    op.emptyDict,
    op.str(name),
    op.global('torch._utils', '_rebuild_tensor_v2'),
    op.mark,
    [
      ...op.mark,
      ...op.str('storage'),
      ...op.global('torch', 'FloatStorage'),
      ...op.str('0'),
      ...op.str('cpu'),
      ...op.long(numel),
      ...op.tuple,
    ],
    op.binpersid,
    op.int(0),
    tuple(size),
    tuple(stride),
    op.newfalse,
    op.global('collections', 'OrderedDict'),
    op.emptyTuple,
    op.reduce,
    op.tuple,
    op.reduce,
    op.setitem,
    op.stop,
  );
}

function load(bytes: Uint8Array, storage: Uint8Array) {
  const { value } = unpickle(bytes, { sourceName: 'evil.pt' });
  return materializeTensors(
    collectTensorCalls(value, 'evil.pt'),
    (k) => (k === '0' ? storage : undefined),
    'evil.pt',
  );
}

/** The error must be a VetbenchError whose message is one line naming the file and the problem. */
function expectOneLineError(run: () => unknown, pattern: RegExp): void {
  let error: unknown;
  try {
    run();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(VetbenchError);
  const message = (error as VetbenchError).message;
  expect(message).toMatch(/^evil\.pt: /);
  expect(message).not.toContain('\n');
  expect(message).toMatch(pattern);
}

describe('safe unpickler on well-formed input', () => {
  it('reads a one-tensor state dict through the whitelisted constructors', () => {
    const storage = new Uint8Array(new Float32Array([1, 2, 3, 4, 5, 6]).buffer);
    const [t] = load(stateDict('w', 6, [3, 2], [1, 3]), storage);
    expect(t?.shape).toEqual([3, 2]);
    // stride [1, 3]: a transposed view, gathered to row-major.
    expect([...(t?.data ?? [])]).toEqual([1, 4, 2, 5, 3, 6]);
  });
});

describe('hostile pickles fail with one clean line and run nothing', () => {
  it('refuses posix.system, naming it', () => {
    const evil = pickle(
      op.proto,
      op.global('posix', 'system'),
      op.str('touch pwned'),
      [0x85],
      op.reduce,
      op.stop,
    );
    expectOneLineError(() => unpickle(evil, { sourceName: 'evil.pt' }), /calls posix\.system/);
  });

  it('refuses builtins.eval reached through STACK_GLOBAL', () => {
    const evil = pickle([0x80, 4], op.str('builtins'), op.str('eval'), [0x93], op.stop);
    expectOneLineError(() => unpickle(evil, { sourceName: 'evil.pt' }), /calls builtins\.eval/);
  });

  it('refuses an allowed name used as something else (a TorchScript class called as a function)', () => {
    const evil = pickle(op.proto, op.global('__torch__.m', 'M'), op.emptyTuple, op.reduce, op.stop);
    expectOneLineError(
      () => unpickle(evil, { sourceName: 'evil.pt' }),
      /__torch__\.m\.M \(used as a function\)/,
    );
  });

  it('lists every callable in inventory mode without refusing or running any', () => {
    const evil = pickle(
      op.proto,
      op.global('posix', 'system'),
      op.str('x'),
      [0x85],
      op.reduce,
      op.global('subprocess', 'Popen'),
      [0x30],
      op.stop,
    );
    const { globals } = unpickle(evil, { sourceName: 'evil.pt', mode: 'inventory' });
    expect(globals.map((g) => [g.name, g.allowed])).toEqual([
      ['posix.system', false],
      ['subprocess.Popen', false],
    ]);
  });

  it('unknown opcodes', () => {
    expectOneLineError(
      () => unpickle(pickle(op.proto, [0xff]), { sourceName: 'evil.pt' }),
      /unknown opcode 0xff/,
    );
  });

  it('a string whose declared length exceeds the file (no allocation of the declared size)', () => {
    expectOneLineError(
      () => unpickle(pickle(op.proto, [0x58, 0xff, 0xff, 0xff, 0x7f]), { sourceName: 'evil.pt' }),
      /exceeds the limit|more bytes/,
    );
  });

  it('a memo read of an entry never stored', () => {
    expectOneLineError(
      () => unpickle(pickle(op.proto, op.binget(7), op.stop), { sourceName: 'evil.pt' }),
      /memo entry 7/,
    );
  });

  it('deep MARK nesting', () => {
    const deep = pickle(op.proto, new Array<number>(20_000).fill(0x28));
    expectOneLineError(() => unpickle(deep, { sourceName: 'evil.pt' }), /nested MARKs/);
  });

  it('deeply nested dicts', () => {
    const open = Array.from({ length: 100 }, () => [...op.emptyDict, ...op.str('a')]).flat();
    const close = new Array<number>(100).fill(0x73);
    const { value } = unpickle(pickle(op.proto, open, op.emptyDict, close, op.stop), {
      sourceName: 'evil.pt',
    });
    expectOneLineError(() => collectTensorCalls(value, 'evil.pt'), /deeper than 64 levels/);
  });

  it('a dict that contains itself', () => {
    const selfRef = pickle(
      op.proto,
      op.emptyDict,
      op.binput(0),
      op.str('me'),
      op.binget(0),
      op.setitem,
      op.stop,
    );
    const { value } = unpickle(selfRef, { sourceName: 'evil.pt' });
    expectOneLineError(() => collectTensorCalls(value, 'evil.pt'), /refers to itself/);
  });

  it('a storage bomb: a huge declared storage over a few real bytes', () => {
    const storage = new Uint8Array(16);
    expectOneLineError(
      () => load(stateDict('w', 2 ** 40, [4], [1]), storage),
      /declares 1099511627776 F32 values .* holds 16 bytes/,
    );
  });

  it('a lying storage size (declared smaller than the bytes present)', () => {
    expectOneLineError(
      () => load(stateDict('w', 2, [2], [1]), new Uint8Array(16)),
      /declares 2 F32 values \(8 bytes\) but holds 16/,
    );
  });

  it('a tensor view reaching past its storage', () => {
    expectOneLineError(
      () => load(stateDict('w', 4, [10], [1]), new Uint8Array(16)),
      /reaches value 9 of a storage of 4/,
    );
  });

  it('a tensor declaring more values than any checkpoint holds', () => {
    expectOneLineError(
      () => load(stateDict('w', 4, [65536, 65536], [0, 0]), new Uint8Array(16)),
      /more than 2147483647 values/,
    );
  });

  it('a zip whose central directory points outside the file', () => {
    const eocd = new Uint8Array(22);
    const view = new DataView(eocd.buffer);
    view.setUint32(0, 0x06054b50, true);
    view.setUint16(10, 1, true);
    view.setUint32(12, 46, true);
    view.setUint32(16, 1_000_000, true);
    const file = Uint8Array.from([0x50, 0x4b, 0x03, 0x04, ...eocd]);
    expectOneLineError(() => openZip(file, 'evil.pt'), /central directory .* outside the file/);
  });

  it('a legacy stream without the torch magic number', () => {
    expectOneLineError(
      () => readTorchCheckpoint(pickle(op.proto, op.int(5), op.stop), 'evil.pt'),
      /not a torch\.save checkpoint/,
    );
  });
});
