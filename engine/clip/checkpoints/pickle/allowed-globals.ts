/**
 * The only callables a weights checkpoint needs. Everything else a pickle names (os.system, builtins.eval,
 * torch.nn.Module subclasses of a pickled model, ...) is refused: the safe unpickler never resolves a name to
 * code, but a file that needs anything more than these is not a plain set of weights.
 */

export type AllowedRole =
  'tensor-rebuild' | 'parameter-rebuild' | 'storage-type' | 'ordered-dict' | 'module-record';

/** Storage classes -> element dtype (the legacy `torch.*Storage` names both zip and legacy pickles use). */
export const STORAGE_DTYPES: Readonly<Record<string, StorageDtype>> = {
  FloatStorage: 'F32',
  HalfStorage: 'F16',
  BFloat16Storage: 'BF16',
  DoubleStorage: 'F64',
  LongStorage: 'I64',
  IntStorage: 'I32',
  ShortStorage: 'I16',
  CharStorage: 'I8',
  ByteStorage: 'U8',
  BoolStorage: 'BOOL',
};

export type StorageDtype = 'F32' | 'F16' | 'BF16' | 'F64' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

export const STORAGE_DTYPE_BYTES: Readonly<Record<StorageDtype, number>> = {
  F32: 4,
  F16: 2,
  BF16: 2,
  F64: 8,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

/** What an allowed global is for; undefined when the global is not allowed. */
export function allowedRole(module: string, name: string): AllowedRole | undefined {
  if (module === 'torch._utils' && (name === '_rebuild_tensor_v2' || name === '_rebuild_tensor'))
    return 'tensor-rebuild';
  if (module === 'torch._utils' && name === '_rebuild_parameter') return 'parameter-rebuild';
  if (module === 'torch' && Object.prototype.hasOwnProperty.call(STORAGE_DTYPES, name)) return 'storage-type';
  if (module === 'collections' && name === 'OrderedDict') return 'ordered-dict';
  // TorchScript archives pickle their modules as instances of compiled classes; built as inert records.
  if (module.startsWith('__torch__.') || module === '__torch__') return 'module-record';
  return undefined;
}
