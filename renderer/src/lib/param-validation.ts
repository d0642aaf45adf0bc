/**
 * Turns what a user typed into a method parameter value, or says what is wrong with it. Forms are generated
 * from the declared ParamSpec, so these rules are the same for every method.
 */
import type { ParamSpec, ParamValue } from '../../../electron/api/contract.js';

/** What a form field holds: text for numbers and strings (kept as typed), a flag for booleans. */
export type FieldInput = string | boolean;

export type ParseResult = { ok: true; value: ParamValue } | { ok: false; error: string };

export function initialInput(spec: ParamSpec): FieldInput {
  return spec.kind === 'boolean' ? spec.default : String(spec.default);
}

export function parseParam(spec: ParamSpec, input: FieldInput): ParseResult {
  switch (spec.kind) {
    case 'boolean':
      return typeof input === 'boolean'
        ? { ok: true, value: input }
        : { ok: false, error: 'Choose yes or no.' };
    case 'string':
      return { ok: true, value: String(input) };
    case 'enum': {
      const text = String(input);
      return spec.options.includes(text)
        ? { ok: true, value: text }
        : { ok: false, error: `Choose one of: ${spec.options.join(', ')}.` };
    }
    case 'number':
    case 'integer': {
      const text = String(input).trim();
      if (text === '') return { ok: false, error: 'Enter a number.' };
      const value = Number(text);
      if (!Number.isFinite(value)) return { ok: false, error: `"${text}" is not a number.` };
      if (spec.kind === 'integer' && !Number.isInteger(value))
        return { ok: false, error: 'Enter a whole number.' };
      if (spec.min !== undefined && value < spec.min)
        return { ok: false, error: `At least ${spec.min}${unitSuffix(spec.unit)}.` };
      if (spec.max !== undefined && value > spec.max)
        return { ok: false, error: `At most ${spec.max}${unitSuffix(spec.unit)}.` };
      return { ok: true, value };
    }
  }
}

function unitSuffix(unit: string | undefined): string {
  return unit ? ` ${unit}` : '';
}

/** "0 – 1", "≥ 1", "" for a field's range hint. */
export function describeRange(spec: ParamSpec): string {
  if (spec.kind !== 'number' && spec.kind !== 'integer') return '';
  const unit = unitSuffix(spec.unit);
  if (spec.min !== undefined && spec.max !== undefined) return `${spec.min} – ${spec.max}${unit}`;
  if (spec.min !== undefined) return `≥ ${spec.min}${unit}`;
  if (spec.max !== undefined) return `≤ ${spec.max}${unit}`;
  return unit.trim();
}

/** Keys whose words alone read badly (an acronym of the paper's). */
const KEY_LABELS: Readonly<Record<string, string>> = { woTC: 'Without the target class' };
/** Abbreviations spelled out inside a key: "patchLr" -> "Patch learning rate". */
const WORD_LABELS: Readonly<Record<string, string>> = { lr: 'learning rate', ctx: 'context' };

/** camelCase and snake_case keys as words: "poisonRate" -> "Poison rate". */
export function paramLabel(key: string): string {
  const known = KEY_LABELS[key];
  if (known !== undefined) return known;
  const words = key
    .replace(/_/g, ' ')
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .trim()
    .split(/\s+/)
    .map((w) => WORD_LABELS[w] ?? w)
    .join(' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}
