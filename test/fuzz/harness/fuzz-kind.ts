/**
 * One kind of hostile file the fuzz suite feeds to Vetbench: how valid seed files are made, which crafted
 * inputs to try, which mutations apply, how the engine loads it, and how an accepted input is judged. A new
 * reader (e.g. PyTorch pickles) joins the suite by adding one FuzzKind and a test file that runs it.
 */
import type { Mutation } from './mutate.js';

export interface Seed<T = unknown> {
  readonly name: string;
  readonly bytes: Uint8Array;
  /** What the loader returns for the unmodified seed (the reference an accepted mutant is compared to). */
  reference?: T;
}

export interface CraftedCase {
  readonly name: string;
  readonly bytes: Uint8Array;
  /** 'refuse': must end in a clean error; 'either': a clean error or a correct result. */
  readonly expect: 'refuse' | 'either';
}

export interface FuzzKind<T> {
  readonly id: string;
  /** Path, inside a fresh folder, each input is written to (the loaders look at extensions). */
  readonly fileName: string;
  seeds(dir: string): Promise<Seed<T>[]>;
  crafted(seeds: readonly Seed<T>[]): CraftedCase[];
  readonly mutations: readonly Mutation[];
  /** Puts what the input needs beside it (e.g. the images a manifest lists) into its folder. */
  prepare?(caseDir: string): void;
  /** What a refusal must name (default: the input file itself; a dataset names its folder). */
  namedPath?(path: string): string;
  /** Loads the file at `path` the way Vetbench does. */
  load(path: string): Promise<T>;
  /**
   * For an input the loader accepted: null when the result is correct, else what is wrong (silent acceptance
   * of corrupt content). `seed` is the valid file the input was derived from, when there is one.
   */
  judge(result: T, input: Uint8Array, seed: Seed<T> | undefined): string | null;
}
