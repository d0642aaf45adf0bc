import { VetbenchError } from '../../errors.js';
import { decodeToFloat32 } from '../safetensors.js';
import { STORAGE_DTYPE_BYTES, STORAGE_DTYPES, type StorageDtype } from './pickle/allowed-globals.js';
import type { PickleCall, PickleStorageRef, PickleValue } from './pickle/values.js';

/**
 * From an unpickled checkpoint to named float32 tensors: walks dicts (state dicts) and TorchScript module
 * records with dotted names, turns each recorded `_rebuild_tensor_v2` into a tensor read from its storage,
 * with every size, stride and offset checked against the storage the archive really holds.
 */

export interface CheckpointTensor {
  readonly name: string;
  readonly dtype: StorageDtype;
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** Raw storage bytes by key (zip: data/<key>; legacy: the stream after the pickles). */
export type StorageLookup = (key: string) => Uint8Array | undefined;

const MAX_DEPTH = 64;
const MAX_NODES = 1_000_000;
const MAX_ELEMENTS = 2 ** 31 - 1;

/** Checkpoint wrappers that hold the weights under one key ({'state_dict': ..., 'optimizer': ...}). */
const WRAPPER_KEYS = ['state_dict', 'model_state_dict', 'model'];

function bad(sourceName: string, problem: string): VetbenchError {
  return new VetbenchError(
    'checkpoint-malformed',
    `${sourceName}: ${problem}`,
    'The checkpoint is damaged or was crafted; re-download it or ask its publisher for a safetensors file.',
  );
}

function isObject(
  v: PickleValue,
): v is Exclude<PickleValue, null | boolean | number | bigint | string | Uint8Array> {
  return v !== null && typeof v === 'object' && !(v instanceof Uint8Array);
}

function tensorCall(v: PickleValue): PickleCall | undefined {
  if (!isObject(v) || v.kind !== 'call') return undefined;
  return v.callable.startsWith('torch._utils._rebuild_') ? v : undefined;
}

/** The pickled tensors with their dotted names, before their data is read. */
export function collectTensorCalls(root: PickleValue, sourceName: string): Map<string, PickleCall> {
  let top = root;
  if (isObject(top) && top.kind === 'dict') {
    for (const key of WRAPPER_KEYS) {
      const inner = top.entries.get(key);
      if (inner !== undefined && isObject(inner) && (inner.kind === 'dict' || inner.kind === 'object')) {
        top = inner;
        break;
      }
    }
  }
  const out = new Map<string, PickleCall>();
  const onPath = new Set<object>();
  let nodes = 0;
  const walk = (value: PickleValue, name: string, depth: number): void => {
    if (++nodes > MAX_NODES) throw bad(sourceName, `the pickle holds more than ${MAX_NODES} values to walk`);
    const call = tensorCall(value);
    if (call) {
      if (out.has(name)) throw bad(sourceName, `tensor '${name}' appears twice`);
      out.set(name, call);
      return;
    }
    if (!isObject(value)) return;
    const children =
      value.kind === 'dict'
        ? value.entries
        : value.kind === 'object' && isObject(value.state) && value.state.kind === 'dict'
          ? value.state.entries
          : undefined;
    if (!children) return;
    if (depth >= MAX_DEPTH) throw bad(sourceName, `the pickle nests modules deeper than ${MAX_DEPTH} levels`);
    if (onPath.has(value)) throw bad(sourceName, `the pickle refers to itself at '${name || '<root>'}'`);
    onPath.add(value);
    for (const [key, child] of children) walk(child, name ? `${name}.${key}` : key, depth + 1);
    onPath.delete(value);
  };
  walk(top, '', 0);
  return out;
}

function dims(value: PickleValue, what: string, sourceName: string, name: string): number[] {
  if (!isObject(value) || (value.kind !== 'tuple' && value.kind !== 'list')) {
    throw bad(sourceName, `tensor '${name}' has a ${what} that is not a tuple`);
  }
  if (value.items.length > 16) throw bad(sourceName, `tensor '${name}' has ${value.items.length} dimensions`);
  return value.items.map((d) => {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      throw bad(sourceName, `tensor '${name}' has a ${what} entry ${String(d)}`);
    }
    return d;
  });
}

/** Turns the recorded rebuild calls into float32 tensors, validating them against the stored bytes. */
export function materializeTensors(
  calls: ReadonlyMap<string, PickleCall>,
  storages: StorageLookup,
  sourceName: string,
): CheckpointTensor[] {
  const decoded = new Map<string, Float32Array>();
  const storageOf = (ref: PickleStorageRef, name: string): { dtype: StorageDtype; data: Float32Array } => {
    const dtype = STORAGE_DTYPES[ref.storageType];
    if (!dtype) throw bad(sourceName, `tensor '${name}' uses storage type ${ref.storageType}`);
    const cached = decoded.get(ref.key);
    if (cached) {
      if (cached.length !== ref.numel)
        throw bad(sourceName, `storage '${ref.key}' is declared with two sizes`);
      return { dtype, data: cached };
    }
    const raw = storages(ref.key);
    if (!raw)
      throw bad(sourceName, `tensor '${name}' refers to storage '${ref.key}', which the file does not hold`);
    const bytesPer = STORAGE_DTYPE_BYTES[dtype];
    // The declared element count must match the bytes really present: a lying size is refused, not trusted.
    if (raw.length !== ref.numel * bytesPer) {
      throw bad(
        sourceName,
        `storage '${ref.key}' declares ${ref.numel} ${dtype} values (${ref.numel * bytesPer} bytes) but holds ${raw.length} bytes`,
      );
    }
    const data = decodeStorage(raw, ref.numel, dtype);
    decoded.set(ref.key, data);
    return { dtype, data };
  };

  const out: CheckpointTensor[] = [];
  for (const [name, call] of calls) {
    let args = call.args;
    if (call.callable === 'torch._utils._rebuild_parameter') {
      const inner = tensorCall(args[0] ?? null);
      if (!inner || inner.callable === 'torch._utils._rebuild_parameter') {
        throw bad(sourceName, `parameter '${name}' does not wrap a tensor`);
      }
      args = inner.args;
    }
    const [storage, offsetValue, sizeValue, strideValue] = args;
    if (!isObject(storage ?? null) || (storage as { kind: string }).kind !== 'storage') {
      throw bad(sourceName, `tensor '${name}' has no storage`);
    }
    const offset = offsetValue;
    if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) {
      throw bad(sourceName, `tensor '${name}' has storage offset ${String(offset)}`);
    }
    const shape = dims(sizeValue ?? null, 'size', sourceName, name);
    const stride = dims(strideValue ?? null, 'stride', sourceName, name);
    if (stride.length !== shape.length)
      throw bad(sourceName, `tensor '${name}' has ${shape.length} sizes but ${stride.length} strides`);
    let count = 1;
    let lastIndex = offset;
    for (let i = 0; i < shape.length; i++) {
      count *= shape[i] as number;
      if (count > MAX_ELEMENTS)
        throw bad(sourceName, `tensor '${name}' declares more than ${MAX_ELEMENTS} values`);
      lastIndex += ((shape[i] as number) - 1) * (stride[i] as number);
    }
    const { dtype, data } = storageOf(storage as PickleStorageRef, name);
    if (count > 0 && lastIndex >= data.length) {
      throw bad(
        sourceName,
        `tensor '${name}' [${shape.join(', ')}] reaches value ${lastIndex} of a storage of ${data.length}`,
      );
    }
    out.push({ name, dtype, shape, data: gather(data, offset, shape, stride, count) });
  }
  return out;
}

function decodeStorage(raw: Uint8Array, count: number, dtype: StorageDtype): Float32Array {
  switch (dtype) {
    case 'F32':
    case 'F16':
    case 'BF16':
    case 'F64':
    case 'I64':
    case 'I32':
      return decodeToFloat32(raw, 0, count, dtype);
    case 'I16': {
      const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      return Float32Array.from({ length: count }, (_, i) => view.getInt16(i * 2, true));
    }
    case 'I8':
      return Float32Array.from(new Int8Array(raw.buffer, raw.byteOffset, count));
    case 'U8':
    case 'BOOL':
      return Float32Array.from(raw);
  }
}

/** The strided view as a fresh row-major array. */
function gather(
  data: Float32Array,
  offset: number,
  shape: readonly number[],
  stride: readonly number[],
  count: number,
): Float32Array {
  let contiguous = true;
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if ((shape[i] as number) !== 1 && stride[i] !== expected) contiguous = false;
    expected *= shape[i] as number;
  }
  if (contiguous) return data.slice(offset, offset + count);
  const out = new Float32Array(count);
  const index = new Array<number>(shape.length).fill(0);
  for (let n = 0; n < count; n++) {
    let at = offset;
    for (let d = 0; d < shape.length; d++) at += (index[d] as number) * (stride[d] as number);
    out[n] = data[at] as number;
    for (let d = shape.length - 1; d >= 0; d--) {
      index[d] = (index[d] as number) + 1;
      if ((index[d] as number) < (shape[d] as number)) break;
      index[d] = 0;
    }
  }
  return out;
}
