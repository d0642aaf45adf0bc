/** Code-unit order: the same on every machine and locale, unlike localeCompare. */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Order of class keys, which fixes the integer labels: numeric when every key is a number (CSV labels `0..99`
 * must not sort as `0, 1, 10, 11, ...`), code-unit order otherwise (torchvision's ImageFolder order).
 */
export function sortClassKeys(keys: Iterable<string>): string[] {
  const unique = [...new Set(keys)];
  if (unique.length > 0 && unique.every((k) => /^\d+$/.test(k))) {
    return unique.sort((a, b) => Number(a) - Number(b) || compareText(a, b));
  }
  return unique.sort(compareText);
}
