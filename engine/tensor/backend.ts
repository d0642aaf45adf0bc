import os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { VetbenchError } from '../errors.js';
import { packageVersion } from '../paths.js';
import { engineConfig } from '../config.js';

/**
 * TF.js backend selection, best first: tfjs-node-gpu (CUDA), tfjs-node (native CPU), wasm (SIMD), cpu (pure JS).
 * The native packages are optional peers: detected at run time, never required.
 */
export type TfBackendChoice = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';
export const TF_BACKEND_CHOICES: readonly TfBackendChoice[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

/** Environment variable that forces a backend (same values as the `--backend` flag). */
export const BACKEND_ENV = 'VETBENCH_BACKEND';

export interface BackendAttempt {
  readonly backend: TfBackendChoice;
  readonly ok: boolean;
  readonly reason: string;
}

export interface BackendReport {
  readonly selected: TfBackendChoice;
  /** Name TF.js uses for it ('tensorflow', 'wasm', 'cpu'). */
  readonly tfName: string;
  readonly forced: boolean;
  readonly attempts: readonly BackendAttempt[];
  readonly threads: number;
  readonly simd: boolean | null;
  readonly tfjsVersion: string;
}

let current: BackendReport | null = null;

async function tryNative(pkg: '@tensorflow/tfjs-node-gpu' | '@tensorflow/tfjs-node'): Promise<string | null> {
  if (packageVersion(pkg) === null)
    return `${pkg} is not installed (optional; \`npm install ${pkg}\` on a machine with internet)`;
  try {
    await import(pkg);
    if (!(await tf.setBackend('tensorflow'))) return `${pkg} loaded but its backend did not initialise`;
    return null;
  } catch (e) {
    return `${pkg} failed to load: ${(e as Error).message.split('\n')[0]}`;
  }
}

async function tryWasm(): Promise<string | null> {
  try {
    await import('@tensorflow/tfjs-backend-wasm');
    if (!(await tf.setBackend('wasm'))) return 'the wasm backend did not initialise';
    return null;
  } catch (e) {
    return `wasm backend failed: ${(e as Error).message.split('\n')[0]}`;
  }
}

async function attempt(choice: TfBackendChoice): Promise<string | null> {
  switch (choice) {
    case 'tensorflow-gpu':
      return tryNative('@tensorflow/tfjs-node-gpu');
    case 'tensorflow':
      return tryNative('@tensorflow/tfjs-node');
    case 'wasm':
      return tryWasm();
    case 'cpu':
      return (await tf.setBackend('cpu')) ? null : 'the cpu backend did not initialise';
  }
}

export function parseBackendChoice(value: string, source: string): TfBackendChoice {
  const v = value.trim().toLowerCase();
  const aliases: Record<string, TfBackendChoice> = {
    gpu: 'tensorflow-gpu',
    cuda: 'tensorflow-gpu',
    node: 'tensorflow',
  };
  const choice = (aliases[v] ?? v) as TfBackendChoice;
  if (!TF_BACKEND_CHOICES.includes(choice)) {
    throw new VetbenchError(
      'backend-unknown',
      `unknown TF.js backend '${value}' (from ${source})`,
      `Use one of: ${TF_BACKEND_CHOICES.join(', ')}.`,
    );
  }
  return choice;
}

/**
 * Initialises TF.js once per process. `forced` (flag) wins over the VETBENCH_BACKEND variable; a forced backend
 * that cannot start is an error, not a silent fallback.
 */
export async function initTfBackend(forced?: TfBackendChoice): Promise<BackendReport> {
  const envValue = engineConfig().tfBackend;
  const wanted = forced ?? (envValue ? parseBackendChoice(envValue, BACKEND_ENV) : undefined);
  if (current && (!wanted || current.selected === wanted)) return current;

  const order = wanted ? [wanted] : TF_BACKEND_CHOICES;
  const attempts: BackendAttempt[] = [];
  for (const choice of order) {
    const failure = await attempt(choice);
    attempts.push({ backend: choice, ok: failure === null, reason: failure ?? 'selected' });
    if (failure === null) {
      await tf.ready();
      current = {
        selected: choice,
        tfName: tf.getBackend(),
        forced: wanted !== undefined,
        attempts,
        threads: choice === 'wasm' ? wasmThreads() : os.availableParallelism(),
        simd: choice === 'wasm' ? tf.env().getBool('WASM_HAS_SIMD_SUPPORT') : null,
        tfjsVersion: tf.version.tfjs,
      };
      return current;
    }
  }
  const last = attempts[attempts.length - 1];
  throw new VetbenchError(
    'backend-unavailable',
    `TF.js backend '${wanted ?? 'any'}' is not available: ${last?.reason ?? 'no backend'}`,
    'Choose another with --backend or VETBENCH_BACKEND (wasm and cpu always work).',
  );
}

// tfjs-backend-wasm disables threads in Node (it hard-codes it), so the thread count is 1 unless it says otherwise.
function wasmThreads(): number {
  return tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT') ? os.availableParallelism() : 1;
}

export function currentBackend(): BackendReport | null {
  return current;
}

export { tf };
