import { VetbenchError } from '../errors.js';

/**
 * Declared method parameters: one description drives validation, the CLI's `--param key=value`, the wizard
 * forms and the report's hyperparameter tables.
 */
export type ParamSpec =
  | {
      readonly kind: 'number' | 'integer';
      readonly default: number;
      readonly min?: number;
      readonly max?: number;
      readonly help: string;
      readonly unit?: string;
    }
  | { readonly kind: 'boolean'; readonly default: boolean; readonly help: string }
  | { readonly kind: 'string'; readonly default: string; readonly help: string }
  | {
      readonly kind: 'enum';
      readonly default: string;
      readonly options: readonly string[];
      readonly help: string;
    };

export type ParamSpecs = Readonly<Record<string, ParamSpec>>;
export type ParamValue = number | boolean | string;
export type ParamValues = Readonly<Record<string, ParamValue>>;

export function defaults(specs: ParamSpecs): Record<string, ParamValue> {
  return Object.fromEntries(Object.entries(specs).map(([k, s]) => [k, s.default]));
}

function bad(method: string, key: string, message: string, spec?: ParamSpec): VetbenchError {
  return new VetbenchError(
    'param-invalid',
    `${method}: parameter '${key}' ${message}`,
    spec
      ? `${key}: ${spec.help} (default ${String(spec.default)})`
      : 'Run `vetbench methods` to list parameters.',
  );
}

/** Checks and coerces values (strings from the CLI allowed) against the specs; unknown keys are refused. */
export function resolveParams(
  method: string,
  specs: ParamSpecs,
  given: Readonly<Record<string, unknown>>,
): Record<string, ParamValue> {
  const out = defaults(specs);
  for (const [key, raw] of Object.entries(given)) {
    const spec = specs[key];
    if (!spec) throw bad(method, key, `is unknown (known: ${Object.keys(specs).join(', ') || 'none'})`);
    switch (spec.kind) {
      case 'number':
      case 'integer': {
        const v =
          typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
        if (!Number.isFinite(v)) throw bad(method, key, `must be a number, got '${String(raw)}'`, spec);
        if (spec.kind === 'integer' && !Number.isInteger(v))
          throw bad(method, key, `must be an integer, got ${v}`, spec);
        if (spec.min !== undefined && v < spec.min)
          throw bad(method, key, `must be >= ${spec.min}, got ${v}`, spec);
        if (spec.max !== undefined && v > spec.max)
          throw bad(method, key, `must be <= ${spec.max}, got ${v}`, spec);
        out[key] = v;
        break;
      }
      case 'boolean': {
        const v =
          raw === true || raw === 'true' || raw === '1'
            ? true
            : raw === false || raw === 'false' || raw === '0'
              ? false
              : null;
        if (v === null) throw bad(method, key, `must be true or false, got '${String(raw)}'`, spec);
        out[key] = v;
        break;
      }
      case 'enum': {
        if (typeof raw !== 'string' || !spec.options.includes(raw)) {
          throw bad(method, key, `must be one of ${spec.options.join(', ')}, got '${String(raw)}'`, spec);
        }
        out[key] = raw;
        break;
      }
      case 'string':
        if (typeof raw !== 'string') throw bad(method, key, `must be text`, spec);
        out[key] = raw;
        break;
    }
  }
  return out;
}

/** `key=value` pairs from the command line. */
export function parseParamPairs(pairs: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0)
      throw new VetbenchError(
        'param-syntax',
        `'${pair}' is not key=value`,
        'Write parameters as --param key=value.',
      );
    out[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  return out;
}

export function num(values: ParamValues, key: string): number {
  const v = values[key];
  if (typeof v !== 'number') throw new Error(`parameter ${key} is not a number`);
  return v;
}
export function bool(values: ParamValues, key: string): boolean {
  const v = values[key];
  if (typeof v !== 'boolean') throw new Error(`parameter ${key} is not a boolean`);
  return v;
}
export function str(values: ParamValues, key: string): string {
  const v = values[key];
  if (typeof v !== 'string') throw new Error(`parameter ${key} is not text`);
  return v;
}
