import { parseSafetensors, readFileWithHash } from '../safetensors.js';
import type { ReferencedGlobal } from './pickle/unpickler.js';
import { isTorchCheckpoint, readTorchCheckpoint, type TorchFormat } from './torch-checkpoint.js';

/** Every container Vetbench reads weights from. */
export type WeightFileFormat = 'safetensors' | TorchFormat;

/** One tensor as stored in the file (any naming), converted to float32; `dtype` is the stored one. */
export interface FileTensor {
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

export interface WeightFile {
  readonly format: WeightFileFormat;
  readonly tensors: readonly FileTensor[];
  readonly fileBytes: number;
  readonly sha256: string;
  /** The callables a pickle-based file names (all allowed, or it would not have loaded); empty for safetensors. */
  readonly pickleGlobals: readonly ReferencedGlobal[];
}

/** Reads a weights file once (hashing it on the way) and dispatches on its first bytes, not its extension. */
export async function readWeightsFile(path: string): Promise<WeightFile> {
  const { bytes, sha256 = '' } = await readFileWithHash(path, true);
  if (isTorchCheckpoint(bytes)) {
    const checkpoint = readTorchCheckpoint(bytes, path);
    return {
      format: checkpoint.format,
      tensors: checkpoint.tensors,
      fileBytes: bytes.length,
      sha256,
      pickleGlobals: checkpoint.globals,
    };
  }
  const file = parseSafetensors(bytes, path);
  return {
    format: 'safetensors',
    tensors: file.tensors,
    fileBytes: file.fileBytes,
    sha256,
    pickleGlobals: [],
  };
}
