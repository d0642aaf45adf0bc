/**
 * Canonical JSON text of a JSON value: object keys sorted (by UTF-16 code units), no whitespace, numbers and
 * strings as `JSON.stringify` writes them. Two values that are equal as JSON give the same text, whatever
 * their key order, so a hash over it does not depend on how a writer laid the header out. Written here
 * rather than taken from a library: the values hashed are plain parsed JSON (no dates, no undefined), and
 * ten lines are easier to audit than a dependency.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record)
      .filter((k) => record[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(record[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
