import { statSync } from 'node:fs';
import { posix, resolve } from 'node:path';
import { mapWithConcurrency } from '../datasets/concurrency.js';
import { formatFromExtension } from '../datasets/image-format.js';
import { scanFolder } from '../datasets/scan-files.js';
import { VetbenchError } from '../errors.js';
import { decodeImage } from '../image/decode.js';
import { toModelPixels } from '../image/preprocess.js';
import { str, type ParamSpecs, type ParamValues } from '../methods/params.js';
import { checkBatch } from './patch.js';
import type { Trigger, TriggerFamily, TriggerImage } from './trigger.js';

const PARAMS: ParamSpecs = {
  folder: {
    kind: 'string',
    default: '',
    help: 'folder of pre-generated poisoned images (e.g. from the ISSBA StegaStamp encoder), laid out like the clean dataset or flat with the same file names',
  },
  missing: {
    kind: 'enum',
    default: 'error',
    options: ['error', 'skip-unchanged'],
    help: "a clean image with no poisoned copy: 'error' stops with its name, 'skip-unchanged' leaves it clean",
  },
};

const GENERATE_HINT =
  'Generate a poisoned copy of every test image (same relative path or same file name; the extension may differ), or pass missing=skip-unchanged to leave unmatched images clean.';

/** Where a clean image's poisoned copy is, or why none is used. */
export type SsbaMatch =
  | {
      readonly kind: 'found';
      readonly path: string;
      readonly relativePath: string;
      readonly by: SsbaMatchRule;
    }
  | { readonly kind: 'missing' }
  | { readonly kind: 'ambiguous'; readonly candidates: readonly string[] };

export type SsbaMatchRule =
  'relative-path' | 'relative-path-any-extension' | 'file-name' | 'file-name-any-extension';

interface ImportedFile {
  readonly relativePath: string;
  readonly path: string;
}

/** The imported files under the four lookup keys, in the order they are tried. */
interface ImportIndex {
  readonly count: number;
  readonly rules: readonly [SsbaMatchRule, Map<string, ImportedFile[]>, (key: string) => string][];
}

function withoutExtension(path: string): string {
  const ext = posix.extname(path);
  return ext === '' ? path : path.slice(0, -ext.length);
}

/** Keys use `/` separators, no leading `./` or `/`. */
export function normaliseKey(key: string): string {
  return posix
    .normalize(key.replace(/\\/g, '/'))
    .replace(/^(\.\/)+/, '')
    .replace(/^\/+/, '');
}

async function buildIndex(folder: string): Promise<ImportIndex> {
  const scan = await scanFolder(folder);
  const files = scan.files.filter((f) => formatFromExtension(f.relativePath) !== undefined);
  if (files.length === 0) {
    throw new VetbenchError(
      'ssba-folder-empty',
      `ssba: ${folder} holds no image files (JPEG, PNG, WebP, GIF, TIFF or AVIF)`,
      GENERATE_HINT,
    );
  }
  const rules: ImportIndex['rules'] = [
    ['relative-path', new Map(), (k) => k],
    ['relative-path-any-extension', new Map(), (k) => withoutExtension(k)],
    ['file-name', new Map(), (k) => posix.basename(k)],
    ['file-name-any-extension', new Map(), (k) => withoutExtension(posix.basename(k))],
  ];
  for (const f of files) {
    const file = { relativePath: normaliseKey(f.relativePath), path: f.path };
    for (const [, map, keyOf] of rules) {
      const k = keyOf(file.relativePath);
      const list = map.get(k);
      if (list) list.push(file);
      else map.set(k, [file]);
    }
  }
  return { count: files.length, rules };
}

function lookup(index: ImportIndex, key: string): SsbaMatch {
  const clean = normaliseKey(key);
  for (const [rule, map, keyOf] of index.rules) {
    const hits = map.get(keyOf(clean));
    if (!hits) continue;
    if (hits.length > 1) return { kind: 'ambiguous', candidates: hits.map((h) => h.relativePath) };
    const hit = hits[0]!;
    return { kind: 'found', path: hit.path, relativePath: hit.relativePath, by: rule };
  }
  return { kind: 'missing' };
}

/** The SSBA trigger adds what it matched and skipped, for the run's report. */
export interface SsbaTrigger extends Trigger {
  /** The poisoned copy of a clean image key (relative path), or why there is none. */
  match(key: string): Promise<SsbaMatch>;
  /** Keys left clean so far because no poisoned copy exists (only with missing=skip-unchanged). */
  readonly skippedKeys: ReadonlySet<string>;
  apply(pixels01: Float32Array, images: readonly TriggerImage[]): Promise<void>;
}

/**
 * SSBA / ISSBA (Li et al.; METHODS 2.1): sample-specific invisible triggers come from a StegaStamp encoder that
 * is not available offline, so the poisoned images are imported from a folder. Each clean image (its key is
 * its relative path) is matched to an imported file by, in order: the same relative path; the same relative
 * path with another image extension; the same file name; the same file name with another extension. A rule
 * that finds several files is an error (ambiguous), never a guess. The imported image goes through the same
 * pipeline as clean ones (decodeImage + toModelPixels at resolution R) and replaces the pixels.
 * [choice] The folder is stored as an absolute path in the trigger's params so a saved trigger re-loads from
 * any working directory.
 */
export function createSsbaTrigger({
  params,
  seed,
  resolution,
}: {
  params: ParamValues;
  seed: number;
  resolution: number;
}): SsbaTrigger {
  const given = str(params, 'folder');
  if (given.trim() === '') {
    throw new VetbenchError(
      'ssba-folder-missing',
      'ssba: no folder of poisoned images was given',
      'Pass --param folder=<folder of pre-generated poisoned images> (generate them with the ISSBA encoder).',
    );
  }
  const folder = resolve(given);
  let isFolder = false;
  try {
    isFolder = statSync(folder).isDirectory();
  } catch {
    throw new VetbenchError('ssba-folder-missing', `ssba: ${folder} does not exist`, GENERATE_HINT);
  }
  if (!isFolder) {
    throw new VetbenchError(
      'ssba-folder-missing',
      `ssba: ${folder} is not a folder`,
      'Pass the folder that holds the poisoned images.',
    );
  }
  const onMissing = str(params, 'missing');
  const skippedKeys = new Set<string>();
  let index: Promise<ImportIndex> | null = null;
  const getIndex = (): Promise<ImportIndex> => {
    if (index === null) {
      const scan = buildIndex(folder);
      // a failed scan is retried next time (the caller still gets the error)
      scan.catch(() => {
        if (index === scan) index = null;
      });
      index = scan;
    }
    return index;
  };
  const match = async (key: string): Promise<SsbaMatch> => lookup(await getIndex(), key);

  return {
    method: 'ssba',
    params: { ...params, folder },
    seed,
    resolution,
    textKey: '',
    skippedKeys,
    match,
    async apply(pixels01: Float32Array, images: readonly TriggerImage[]): Promise<void> {
      const count = checkBatch('ssba', pixels01, images, resolution);
      const idx = await getIndex();
      const matches = images.map((image) => lookup(idx, image.key));
      const ambiguous = matches.findIndex((m) => m.kind === 'ambiguous');
      if (ambiguous >= 0) {
        const m = matches[ambiguous] as Extract<SsbaMatch, { kind: 'ambiguous' }>;
        throw new VetbenchError(
          'ssba-ambiguous',
          `ssba: test image ${images[ambiguous]!.key} matches several poisoned images in ${folder}: ${m.candidates.join(', ')}`,
          'Lay the poisoned folder out like the clean dataset (same relative paths), so each image has exactly one copy.',
        );
      }
      const missing = images.filter((_, n) => matches[n]!.kind === 'missing').map((image) => image.key);
      if (missing.length > 0 && onMissing === 'error') {
        const shown = missing.slice(0, 5).join(', ');
        const more = missing.length > 5 ? ` and ${missing.length - 5} more` : '';
        throw new VetbenchError(
          'ssba-image-missing',
          `ssba: no poisoned copy of test image ${shown}${more} in ${folder} (${idx.count} imported images)`,
          GENERATE_HINT,
        );
      }
      for (const key of missing) skippedKeys.add(key);
      const size = 3 * resolution * resolution;
      const todo = Array.from({ length: count }, (_, n) => n).filter((n) => matches[n]!.kind === 'found');
      await mapWithConcurrency(todo, 4, async (n) => {
        const m = matches[n] as Extract<SsbaMatch, { kind: 'found' }>;
        const pixels = toModelPixels(await decodeImage(m.path, `${folder}/${m.relativePath}`), resolution);
        pixels01.set(pixels, n * size);
      });
    },
    tensors: () => ({}),
  };
}

/** The SSBA / ISSBA import family (see `createSsbaTrigger`). */
export const ssbaImportTrigger: TriggerFamily = {
  id: 'ssba',
  title: 'SSBA / ISSBA (imported)',
  summary:
    'Sample-specific invisible triggers: poisoned copies generated elsewhere (StegaStamp encoder) are imported from a folder and matched to the clean images by path or file name.',
  paper: 'Li, Li, Wu, Li, He, Lyu. Invisible Backdoor Attack with Sample-Specific Triggers. ICCV 2021.',
  params: PARAMS,
  needsModel: false,
  create: createSsbaTrigger,
};
