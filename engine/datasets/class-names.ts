import { stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { VetbenchError } from '../errors.js';
import { readRegularTextFile } from '../util/regular-file.js';

/** Override files looked for at the dataset root, in this order. */
export const CLASS_NAME_FILES = ['classnames.json', 'classnames.txt'] as const;

/**
 * The prompt name of a class folder (or CSV label), e.g. `car_side` -> "car side", `Faces_easy` -> "faces easy",
 * `001.ak47` -> "ak47". Rules, in order: drop a leading `NNN.` index (Caltech-256, CUB-200 style); underscores
 * become spaces; whitespace is collapsed and trimmed; everything is lowercased. Hyphens stay ("t-shirt") and
 * camelCase is NOT split, because brand-like names ("iPod", "McLaren") would break; use an override file for
 * those. A name that would come out empty keeps the folder name as written.
 */
export function cleanClassName(folder: string): string {
  const withoutIndex = folder.replace(/^\d+\.(?=.)/, '');
  const cleaned = withoutIndex.replace(/_/g, ' ').replace(/\s+/g, ' ').trim().toLowerCase();
  return cleaned === '' ? folder : cleaned;
}

/** An override name is used as written, only its whitespace tidied (case is the user's choice). */
function tidyOverride(name: string): string {
  return name.replace(/\s+/g, ' ').trim();
}

/**
 * A class-name override: either `{folderOrLabel: name}` (classnames.json) or names in class order
 * (classnames.txt, one per line; blank lines ignored; a JSON array means the same).
 */
export type ClassNameOverrides =
  | { readonly file: string; readonly kind: 'by-folder'; readonly names: ReadonlyMap<string, string> }
  | { readonly file: string; readonly kind: 'in-order'; readonly names: readonly string[] };

/** The override file to use: the one given, else `classnames.json` or `classnames.txt` at the root, else none. */
export async function findClassNamesFile(root: string, given?: string): Promise<string | null> {
  if (given !== undefined) return given;
  for (const name of CLASS_NAME_FILES) {
    const candidate = join(root, name);
    try {
      if ((await stat(candidate)).isFile()) return candidate;
    } catch {
      // not there: try the next name
    }
  }
  return null;
}

export async function readClassNameOverrides(file: string): Promise<ClassNameOverrides> {
  let text: string;
  try {
    text = await readRegularTextFile(file, { what: 'class names', maxBytes: 64 * 1024 * 1024 });
  } catch (err) {
    throw new VetbenchError(
      'classnames-unreadable',
      `cannot read the class-name file ${file} (${(err as Error).message})`,
      'check the path given with --class-names, or remove the option',
    );
  }
  text = text.replace(/^\uFEFF/, '');
  if (extname(file).toLowerCase() !== '.json') {
    const names = text
      .split(/\r?\n/)
      .map(tidyOverride)
      .filter((line) => line !== '');
    return { file, kind: 'in-order', names };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw badOverride(file, `it is not valid JSON (${(err as Error).message})`);
  }
  if (Array.isArray(parsed)) {
    if (!parsed.every((v): v is string => typeof v === 'string'))
      throw badOverride(file, 'the array holds non-strings');
    return { file, kind: 'in-order', names: parsed.map(tidyOverride) };
  }
  if (parsed === null || typeof parsed !== 'object') throw badOverride(file, 'it is not a JSON object');
  const names = new Map<string, string>();
  for (const [folder, name] of Object.entries(parsed as Record<string, unknown>)) {
    if (typeof name !== 'string' || tidyOverride(name) === '') {
      throw badOverride(file, `the name for "${folder}" is not a non-empty string`);
    }
    names.set(folder, tidyOverride(name));
  }
  return { file, kind: 'by-folder', names };
}

function badOverride(file: string, why: string): VetbenchError {
  return new VetbenchError(
    'classnames-invalid',
    `the class-name file ${file} cannot be used: ${why}`,
    'write {"folder": "name", ...} in classnames.json, or one name per line in class order in classnames.txt',
  );
}

export interface NamedClasses {
  /** Prompt names, parallel to the keys given. */
  readonly names: readonly string[];
  readonly warnings: readonly string[];
}

/**
 * Names for class keys (folders or labels, already in class order): cleaned keys, replaced by the override
 * where it has one. An in-order list must have exactly one name per class: a shifted list would silently
 * mislabel every class after the gap, so a mismatch is an error rather than a warning.
 */
export function nameClasses(keys: readonly string[], overrides: ClassNameOverrides | null): NamedClasses {
  const warnings: string[] = [];
  let names: string[];
  if (overrides === null) {
    names = keys.map(cleanClassName);
  } else if (overrides.kind === 'in-order') {
    if (overrides.names.length !== keys.length) {
      throw new VetbenchError(
        'classnames-count',
        `${basename(overrides.file)} has ${overrides.names.length} names but the dataset has ${keys.length} classes`,
        `give one name per line in class order: ${preview(keys)}`,
      );
    }
    names = [...overrides.names];
  } else {
    names = keys.map((key) => overrides.names.get(key) ?? cleanClassName(key));
    const unknown = [...overrides.names.keys()].filter((key) => !keys.includes(key));
    if (unknown.length > 0) {
      warnings.push(
        `${basename(overrides.file)} names classes that are not in the dataset: ${preview(unknown)}`,
      );
    }
  }
  const seen = new Map<string, string>();
  keys.forEach((key, i) => {
    const name = names[i]!;
    const earlier = seen.get(name);
    if (earlier !== undefined) {
      warnings.push(
        `classes "${earlier}" and "${key}" both get the prompt name "${name}"; zero-shot cannot tell them apart`,
      );
    } else seen.set(name, key);
  });
  return { names, warnings };
}

/** The first few items of a list, for messages. */
export function preview(items: readonly string[], max = 8): string {
  const shown = items.slice(0, max).join(', ');
  return items.length > max ? `${shown}, ... (${items.length} in all)` : shown;
}
