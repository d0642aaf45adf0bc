import { Rng } from '../../../engine/util/rng.js';
import { HOSTILE_NUMBERS, pick, type Mutation } from './mutate.js';

/**
 * Structure-aware mutations of safetensors files (weights, prompt files, triggers): the 8-byte header length
 * lies, and the JSON header is edited (shapes, dtypes, offsets, metadata values) with the data left as is, so
 * the declared sizes disagree with the bytes, which is what "size lies" means for this format.
 */
interface Parts {
  readonly header: Record<string, unknown>;
  readonly data: Uint8Array;
}

function split(bytes: Uint8Array): Parts | null {
  if (bytes.length < 8) return null;
  const length = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  if (8 + length > bytes.length) return null;
  try {
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length))) as Record<
      string,
      unknown
    >;
    return { header, data: bytes.subarray(8 + length) };
  } catch {
    return null;
  }
}

export function joinSafetensors(header: unknown, data: Uint8Array): Uint8Array {
  const text = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + text.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
  out.set(text, 8);
  out.set(data, 8 + text.length);
  return out;
}

/** The 8-byte header length replaced by a lie (slightly off, huge, zero). */
export const headerLengthLie: Mutation = (bytes, rng) => {
  if (bytes.length < 8) return bytes;
  const out = bytes.slice();
  const view = new DataView(out.buffer);
  const real = view.getBigUint64(0, true);
  const lies = [0n, 1n, real - 1n, real + 1n, real + 1000n, 2n ** 32n, 2n ** 63n, 99_999_999n];
  view.setBigUint64(0, BigInt.asUintN(64, pick(rng, lies)), true);
  return out;
};

/** One random edit of a tensor entry or of the metadata, data untouched. */
export const headerEdit: Mutation = (bytes, rng) => {
  const parts = split(bytes);
  if (!parts) return bytes;
  const header = structuredClone(parts.header);
  const names = Object.keys(header);
  if (names.length === 0) return bytes;
  const name = pick(rng, names);
  const entry = header[name];
  if (name === '__metadata__' && entry && typeof entry === 'object') {
    const meta = entry as Record<string, unknown>;
    const key = pick(rng, Object.keys(meta).concat(['extra']));
    meta[key] = pick(rng, [
      '',
      '1e6',
      '-3',
      'NaN',
      '{}',
      '{"ratio": 1e9}',
      String(meta[key] ?? '').slice(0, 3),
      `${String(meta[key] ?? '')}x`,
      7,
    ]);
    return joinSafetensors(header, parts.data);
  }
  if (!entry || typeof entry !== 'object') return bytes;
  const e = entry as Record<string, unknown>;
  switch (rng.int(5)) {
    case 0: {
      const shape = Array.isArray(e.shape) ? [...(e.shape as unknown[])] : [];
      if (shape.length > 0) shape[rng.int(shape.length)] = pick(rng, HOSTILE_NUMBERS);
      else shape.push(pick(rng, HOSTILE_NUMBERS));
      e.shape = shape;
      break;
    }
    case 1:
      e.dtype = pick(rng, ['F32', 'F16', 'BF16', 'F64', 'I64', 'I32', 'U8', 'f32', '', 5]);
      break;
    case 2: {
      const offsets = Array.isArray(e.data_offsets) ? [...(e.data_offsets as unknown[])] : [0, 0];
      offsets[rng.int(2)] = pick(rng, HOSTILE_NUMBERS);
      e.data_offsets = offsets;
      break;
    }
    case 3:
      // One more tensor pointing at the same bytes (overlap) or a copy of the entry under a new name.
      header[`${name}.copy`] = structuredClone(e);
      break;
    default:
      delete header[name];
  }
  return joinSafetensors(header, parts.data);
};

export const SAFETENSORS_MUTATIONS: readonly Mutation[] = [headerLengthLie, headerEdit, headerEdit];

export { Rng };
