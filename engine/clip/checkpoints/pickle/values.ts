/**
 * What the safe unpickler builds. Nothing here is a live Python object: globals are names, calls to the few
 * allowed constructors become plain records the checkpoint reader interprets afterwards.
 */

export type PickleValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PickleTuple
  | PickleList
  | PickleDict
  | PickleGlobal
  | PickleObject
  | PickleCall
  | PickleStorageRef;

export interface PickleTuple {
  readonly kind: 'tuple';
  readonly items: readonly PickleValue[];
}

export interface PickleList {
  readonly kind: 'list';
  readonly items: PickleValue[];
}

/** dicts and OrderedDicts; keys are strings or numbers (what state dicts and module records use). */
export interface PickleDict {
  readonly kind: 'dict';
  readonly entries: Map<string, PickleValue>;
}

/** A reference to `module.name` (never resolved to anything callable). */
export interface PickleGlobal {
  readonly kind: 'global';
  readonly module: string;
  readonly name: string;
}

/** A TorchScript `__torch__.*` module object: its class name and the attributes BUILD gave it. */
export interface PickleObject {
  readonly kind: 'object';
  readonly className: string;
  state: PickleValue;
}

/** An allowed constructor applied to its arguments, recorded rather than run (e.g. _rebuild_tensor_v2). */
export interface PickleCall {
  readonly kind: 'call';
  readonly callable: string;
  readonly args: readonly PickleValue[];
}

/** A persistent id of the form ('storage', <StorageType>, key, location, numel[, view]). */
export interface PickleStorageRef {
  readonly kind: 'storage';
  readonly storageType: string;
  readonly key: string;
  readonly numel: number;
}

export function qualifiedName(g: PickleGlobal): string {
  return `${g.module}.${g.name}`;
}

export function describeValue(value: PickleValue): string {
  if (value === null) return 'None';
  if (typeof value !== 'object') return typeof value;
  if (value instanceof Uint8Array) return 'bytes';
  return value.kind;
}
