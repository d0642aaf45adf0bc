import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { VetbenchError } from '../../../engine/errors.js';
import { Rng } from '../../../engine/util/rng.js';
import type { FuzzKind, Seed } from './fuzz-kind.js';
import { mutate } from './mutate.js';

/** Bounds every input is held to (issue 21): files under 10 MB, the process under 1.5 GB, no hang. */
export const FUZZ_LIMITS = {
  inputBytes: 10 * 1024 * 1024,
  rssBytes: 1.5 * 1024 * 1024 * 1024,
  timeoutMs: 10_000,
} as const;

export type Outcome<T> =
  | { readonly kind: 'accepted'; readonly value: T }
  | { readonly kind: 'refused'; readonly error: VetbenchError }
  | { readonly kind: 'crashed'; readonly error: unknown }
  | { readonly kind: 'hung' };

/** Runs `load`, classifying the result; a load that does not settle within the timeout is a hang. */
export async function attempt<T>(
  load: () => Promise<T>,
  timeoutMs: number = FUZZ_LIMITS.timeoutMs,
): Promise<Outcome<T>> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<Outcome<T>>((resolve) => {
    timer = setTimeout(() => resolve({ kind: 'hung' }), timeoutMs);
  });
  const settled = load().then(
    (value): Outcome<T> => ({ kind: 'accepted', value }),
    (error: unknown): Outcome<T> =>
      error instanceof VetbenchError ? { kind: 'refused', error } : { kind: 'crashed', error },
  );
  try {
    return await Promise.race([settled, hang]);
  } finally {
    clearTimeout(timer);
  }
}

export interface FuzzReport {
  readonly kind: string;
  readonly inputs: number;
  readonly accepted: number;
  readonly refused: number;
  /** One line per input that was not handled cleanly (empty when all were). */
  readonly failures: string[];
  /** Largest resident set seen after an input, in bytes. */
  readonly peakRssBytes: number;
  /** Error codes seen, with counts (what the suite exercised). */
  readonly codes: Readonly<Record<string, number>>;
}

/** What is wrong with a refusal, or null: one line, no stack, naming the input file. */
function refusalProblem(error: VetbenchError, path: string): string | null {
  if (error.message.includes('\n'))
    return `message spans lines: ${JSON.stringify(error.message.slice(0, 200))}`;
  if (/\n\s+at /.test(error.message) || / at .*\.(js|ts):\d+/.test(error.message))
    return 'message holds a stack';
  if (!error.message.includes(path)) return `message does not name the file: ${error.message.slice(0, 200)}`;
  if (error.hint.trim() === '') return 'no hint';
  return null;
}

/**
 * Feeds the kind's seeds, crafted cases and `mutants` seeded mutations of the seeds to its loader, one file at
 * a time, and reports every input that crashed, hung, was refused unclearly, or was silently accepted.
 */
export async function runFuzz<T>(
  kind: FuzzKind<T>,
  options: { mutants: number; seed: number },
): Promise<FuzzReport> {
  const dir = mkdtempSync(join(tmpdir(), `vetbench-fuzz-${kind.id}-`));
  const failures: string[] = [];
  const codes: Record<string, number> = {};
  let accepted = 0;
  let refused = 0;
  let inputs = 0;
  let peakRssBytes = process.memoryUsage.rss();

  const one = async (
    name: string,
    bytes: Uint8Array,
    expectation: 'valid' | 'refuse' | 'either',
    seed: Seed<T> | undefined,
  ): Promise<Outcome<T>> => {
    inputs++;
    if (bytes.length >= FUZZ_LIMITS.inputBytes) throw new Error(`${name}: fuzz input over 10 MB`);
    const caseDir = join(dir, String(inputs));
    const path = join(caseDir, kind.fileName);
    mkdirSync(dirname(path), { recursive: true });
    kind.prepare?.(caseDir);
    writeFileSync(path, bytes);
    const outcome = await attempt(() => kind.load(path));
    const label = `${kind.id} ${name}`;
    switch (outcome.kind) {
      case 'hung':
        failures.push(`${label}: no answer within ${FUZZ_LIMITS.timeoutMs} ms`);
        break;
      case 'crashed': {
        const e = outcome.error as Error;
        failures.push(
          `${label}: crashed with ${e?.name ?? typeof e}: ${String(e?.message ?? e).split('\n')[0]}`,
        );
        break;
      }
      case 'refused': {
        refused++;
        codes[outcome.error.code] = (codes[outcome.error.code] ?? 0) + 1;
        const problem = refusalProblem(outcome.error, kind.namedPath?.(path) ?? path);
        if (problem) failures.push(`${label}: ${problem}`);
        if (expectation === 'valid')
          failures.push(`${label}: a valid file was refused: ${outcome.error.message}`);
        break;
      }
      case 'accepted': {
        accepted++;
        codes.accepted = (codes.accepted ?? 0) + 1;
        if (expectation === 'refuse') failures.push(`${label}: accepted, expected a refusal`);
        const wrong = kind.judge(outcome.value, bytes, seed);
        if (wrong) failures.push(`${label}: silently accepted: ${wrong}`);
        break;
      }
    }
    rmSync(caseDir, { recursive: true, force: true });
    peakRssBytes = Math.max(peakRssBytes, process.memoryUsage.rss());
    if (peakRssBytes > FUZZ_LIMITS.rssBytes)
      failures.push(`${label}: the process reached ${peakRssBytes} bytes`);
    return outcome;
  };

  try {
    // Plain copies: a Buffer's slice() is a view, and a mutation must never reach the seed.
    const seeds = (await kind.seeds(dir)).map((seed) => ({ ...seed, bytes: new Uint8Array(seed.bytes) }));
    for (const seed of seeds) {
      const outcome = await one(`seed ${seed.name}`, seed.bytes, 'valid', undefined);
      if (outcome.kind === 'accepted') seed.reference = outcome.value;
    }
    for (const c of kind.crafted(seeds.map((seed) => ({ ...seed, bytes: seed.bytes.slice() })))) {
      await one(`crafted ${c.name}`, c.bytes, c.expect, undefined);
    }
    const rng = new Rng(options.seed);
    for (let i = 0; i < options.mutants; i++) {
      const seed = seeds[i % seeds.length]!;
      const bytes = mutate(seed.bytes, rng, kind.mutations);
      await one(`mutant ${i} of ${seed.name} (seed ${options.seed})`, bytes, 'either', seed);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { kind: kind.id, inputs, accepted, refused, failures, peakRssBytes, codes };
}

/** Same bytes? */
export function sameBytes(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}
