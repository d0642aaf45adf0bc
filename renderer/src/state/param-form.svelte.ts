/** One generated form: the inputs of a method's declared parameters, validated as they are typed. */
import type { ParamSpec, ParamValues } from '../../../electron/api/contract.js';
import { initialInput, parseParam, type FieldInput } from '../lib/param-validation.js';

export class ParamForm {
  readonly specs: Readonly<Record<string, ParamSpec>>;
  inputs = $state<Record<string, FieldInput>>({});

  /** Field key -> what is wrong with it (only invalid fields). */
  readonly errors: Readonly<Record<string, string>>;
  readonly valid: boolean;
  /** Keys whose value differs from the declared default. */
  readonly changed: readonly string[];

  constructor(specs: Readonly<Record<string, ParamSpec>>) {
    this.specs = specs;
    this.errors = $derived.by(() => {
      const errors: Record<string, string> = {};
      for (const [key, spec] of Object.entries(this.specs)) {
        const parsed = parseParam(spec, this.inputs[key] ?? initialInput(spec));
        if (!parsed.ok) errors[key] = parsed.error;
      }
      return errors;
    });
    this.valid = $derived(Object.keys(this.errors).length === 0);
    this.changed = $derived(
      Object.entries(this.specs)
        .filter(([key, spec]) => {
          const parsed = parseParam(spec, this.inputs[key] ?? initialInput(spec));
          return parsed.ok && parsed.value !== spec.default;
        })
        .map(([key]) => key),
    );
    this.reset();
  }

  reset(): void {
    this.inputs = Object.fromEntries(Object.entries(this.specs).map(([k, s]) => [k, initialInput(s)]));
  }

  set(key: string, input: FieldInput): void {
    this.inputs[key] = input;
  }

  /** The values to send (declared defaults included), or null while a field is invalid. */
  values(): ParamValues | null {
    const values: ParamValues = {};
    for (const [key, spec] of Object.entries(this.specs)) {
      const parsed = parseParam(spec, this.inputs[key] ?? initialInput(spec));
      if (!parsed.ok) return null;
      values[key] = parsed.value;
    }
    return values;
  }
}
