import { VetbenchError } from '../../errors.js';
import { STORAGE_DTYPE_BYTES, STORAGE_DTYPES } from './pickle/allowed-globals.js';
import { unpickle, type ReferencedGlobal, type UnpickleResult } from './pickle/unpickler.js';
import type { PickleValue } from './pickle/values.js';
import { collectTensorCalls, materializeTensors, type CheckpointTensor } from './state-dict.js';
import { isZip, openZip, type ZipArchive } from './zip-archive.js';

/**
 * PyTorch checkpoints read without Python and without running their pickles:
 * - zip archives (torch.save since 1.6, Hugging Face pytorch_model.bin, open_clip): `<dir>/data.pkl` + `<dir>/data/<key>`;
 * - TorchScript archives (torch.jit.save, OpenAI's released .pt): the same plus `constants.pkl` and `code/`,
 *   whose Python source is never read;
 * - the legacy single stream (torch.save before 1.6): magic number, protocol, sys_info, the pickle, the
 *   storage keys, then each storage as a u64 element count and its bytes.
 */

export type TorchFormat = 'torch-zip' | 'torchscript' | 'torch-legacy';

export interface TorchCheckpoint {
  readonly format: TorchFormat;
  readonly tensors: readonly CheckpointTensor[];
  readonly globals: readonly ReferencedGlobal[];
}

/** What inspect-model reports: the callables the pickle names, without building anything. */
export interface TorchCheckpointScan {
  readonly format: TorchFormat;
  readonly globals: readonly ReferencedGlobal[];
  /** Why it cannot be loaded (a refused callable, damage), or undefined when it can. */
  readonly refusal?: string;
}

/** The legacy format's magic number, pickled as a long first in the stream. */
const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;

export function isPickle(bytes: Uint8Array): boolean {
  return bytes[0] === 0x80 && bytes[1] !== undefined && bytes[1] >= 2 && bytes[1] <= 5;
}

export function isTorchCheckpoint(bytes: Uint8Array): boolean {
  return isZip(bytes) || isPickle(bytes);
}

interface ZipLayout {
  readonly zip: ZipArchive;
  readonly prefix: string;
  readonly torchscript: boolean;
}

function zipLayout(bytes: Uint8Array, sourceName: string): ZipLayout {
  const zip = openZip(bytes, sourceName);
  const pickles = [...zip.entries.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pickles.length !== 1 || !pickles[0]) {
    throw new VetbenchError(
      'checkpoint-not-torch',
      `${sourceName}: a zip archive without ${pickles.length === 0 ? 'a' : 'exactly one'} <name>/data.pkl, so not a PyTorch checkpoint`,
      'Pass a file written by torch.save or torch.jit.save, or a .safetensors file.',
    );
  }
  const prefix = pickles[0].slice(0, -'data.pkl'.length);
  const torchscript =
    zip.entries.has(`${prefix}constants.pkl`) ||
    [...zip.entries.keys()].some((n) => n.startsWith(`${prefix}code/`));
  return { zip, prefix, torchscript };
}

function legacyStream(bytes: Uint8Array, sourceName: string, mode: 'load' | 'inventory') {
  const magic = unpickle(bytes, { sourceName, mode });
  if (magic.value !== LEGACY_MAGIC) {
    throw new VetbenchError(
      'checkpoint-not-torch',
      `${sourceName}: a Python pickle that is not a torch.save checkpoint (no legacy magic number)`,
      'Vetbench reads torch.save checkpoints (zip or legacy), TorchScript archives and safetensors, not arbitrary pickles.',
    );
  }
  const protocol = unpickle(bytes, { sourceName, mode, start: magic.end });
  if (protocol.value !== 1001) {
    throw new VetbenchError(
      'checkpoint-legacy-version',
      `${sourceName}: legacy torch.save protocol ${String(protocol.value)} (only 1001 is known)`,
      'Re-save the checkpoint with a recent PyTorch (torch.save writes zip archives).',
    );
  }
  const sysInfo = unpickle(bytes, { sourceName, mode, start: protocol.end });
  const info = sysInfo.value;
  if (info !== null && typeof info === 'object' && !(info instanceof Uint8Array) && info.kind === 'dict') {
    if (info.entries.get('little_endian') === false) {
      throw new VetbenchError(
        'checkpoint-big-endian',
        `${sourceName}: a big-endian legacy checkpoint`,
        'Re-save it on a little-endian machine with a recent PyTorch.',
      );
    }
  }
  const main = unpickle(bytes, { sourceName, mode, start: sysInfo.end });
  return { main, afterMain: main.end };
}

/** Storage keys -> byte ranges of a legacy stream (after the main pickle), checked against the file. */
function legacyStorages(
  bytes: Uint8Array,
  start: number,
  main: UnpickleResult,
  sourceName: string,
): Map<string, Uint8Array> {
  const keysResult = unpickle(bytes, { sourceName, start });
  const keys = keysResult.value;
  if (keys === null || typeof keys !== 'object' || keys instanceof Uint8Array || keys.kind !== 'list') {
    throw new VetbenchError(
      'checkpoint-malformed',
      `${sourceName}: the legacy storage key list is missing`,
      'The checkpoint is damaged; download it again.',
    );
  }
  const typeOf = storageTypesByKey(main.value);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Map<string, Uint8Array>();
  let p = keysResult.end;
  for (const key of keys.items) {
    if (typeof key !== 'string')
      throw new VetbenchError(
        'checkpoint-malformed',
        `${sourceName}: a legacy storage key that is not a string`,
        'The checkpoint is damaged; download it again.',
      );
    const type = typeOf.get(key);
    const dtype = type === undefined ? undefined : STORAGE_DTYPES[type];
    if (!dtype)
      throw new VetbenchError(
        'checkpoint-malformed',
        `${sourceName}: legacy storage '${key}' is not used by any tensor`,
        'The checkpoint is damaged or was crafted; download it again.',
      );
    if (p + 8 > bytes.length)
      throw new VetbenchError(
        'checkpoint-malformed',
        `${sourceName}: legacy storage '${key}' is cut off`,
        'The checkpoint is truncated; download it again.',
      );
    const count = view.getBigUint64(p, true);
    const length = count * BigInt(STORAGE_DTYPE_BYTES[dtype]);
    p += 8;
    if (length > BigInt(bytes.length - p)) {
      throw new VetbenchError(
        'checkpoint-malformed',
        `${sourceName}: legacy storage '${key}' declares ${count} values, more than the ${bytes.length - p} bytes left in the file`,
        'The checkpoint is truncated or was crafted; download it again.',
      );
    }
    out.set(key, bytes.subarray(p, p + Number(length)));
    p += Number(length);
  }
  return out;
}

function storageTypesByKey(root: PickleValue): Map<string, string> {
  const out = new Map<string, string>();
  const seen = new Set<object>();
  const stack: PickleValue[] = [root];
  while (stack.length > 0) {
    const v = stack.pop() ?? null;
    if (v === null || typeof v !== 'object' || v instanceof Uint8Array || seen.has(v)) continue;
    seen.add(v);
    switch (v.kind) {
      case 'storage':
        out.set(v.key, v.storageType);
        break;
      case 'dict':
        stack.push(...v.entries.values());
        break;
      case 'tuple':
      case 'list':
        stack.push(...v.items);
        break;
      case 'call':
        stack.push(...v.args);
        break;
      case 'object':
        stack.push(v.state);
        break;
      default:
        break;
    }
  }
  return out;
}

/** Reads a torch checkpoint held in memory into named float32 tensors, refusing anything but weights. */
export function readTorchCheckpoint(bytes: Uint8Array, sourceName: string): TorchCheckpoint {
  if (isZip(bytes)) {
    const { zip, prefix, torchscript } = zipLayout(bytes, sourceName);
    const main = unpickle(zip.read(`${prefix}data.pkl`), { sourceName });
    const calls = collectTensorCalls(main.value, sourceName);
    const storages = (key: string) => {
      const name = `${prefix}data/${key}`;
      return zip.entries.has(name) ? zip.read(name) : undefined;
    };
    return {
      format: torchscript ? 'torchscript' : 'torch-zip',
      tensors: materializeTensors(calls, storages, sourceName),
      globals: main.globals,
    };
  }
  if (isPickle(bytes)) {
    const { main, afterMain } = legacyStream(bytes, sourceName, 'load');
    const storages = legacyStorages(bytes, afterMain, main, sourceName);
    const calls = collectTensorCalls(main.value, sourceName);
    return {
      format: 'torch-legacy',
      tensors: materializeTensors(calls, (k) => storages.get(k), sourceName),
      globals: main.globals,
    };
  }
  throw new VetbenchError(
    'checkpoint-not-torch',
    `${sourceName}: neither a zip archive nor a pickle, so not a PyTorch checkpoint`,
    'Pass a .pt/.bin file written by torch.save or torch.jit.save, or a .safetensors file.',
  );
}

/** Lists what the checkpoint's pickle references and whether Vetbench would load it; runs nothing. */
export function scanTorchCheckpoint(bytes: Uint8Array, sourceName: string): TorchCheckpointScan {
  let format: TorchFormat = isZip(bytes) ? 'torch-zip' : 'torch-legacy';
  let globals: readonly ReferencedGlobal[] = [];
  try {
    if (isZip(bytes)) {
      const layout = zipLayout(bytes, sourceName);
      if (layout.torchscript) format = 'torchscript';
      globals = unpickle(layout.zip.read(`${layout.prefix}data.pkl`), {
        sourceName,
        mode: 'inventory',
      }).globals;
    } else {
      globals = legacyStream(bytes, sourceName, 'inventory').main.globals;
    }
    const refused = globals.filter((g) => !g.allowed);
    if (refused.length > 0) {
      return {
        format,
        globals,
        refusal: `the pickle calls ${refused.map((g) => g.name).join(', ')}, which no weights checkpoint needs`,
      };
    }
    readTorchCheckpoint(bytes, sourceName);
    return { format, globals };
  } catch (e) {
    if (e instanceof VetbenchError) return { format, globals, refusal: e.message };
    throw e;
  }
}
