import type { ParamSpec } from '../api/contract.js';
import type { ParamSpecs } from '../../engine/methods/params.js';

/** The engine's declared parameters as plain API values (copies: the engine's are read-only). */
export function apiParamSpecs(specs: ParamSpecs): Record<string, ParamSpec> {
  return Object.fromEntries(
    Object.entries(specs).map(([key, s]): [string, ParamSpec] => [
      key,
      s.kind === 'enum' ? { ...s, options: [...s.options] } : { ...s },
    ]),
  );
}
