import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readSafetensors, writeSafetensors, type WritableTensor } from '../../clip/safetensors.js';
import { VetbenchError } from '../../errors.js';
import type { HostTensor } from '../../tensor/host-tensor.js';
import type { OptimizerState } from '../../train/optimizers.js';
import type { RngState } from '../../util/rng.js';

/**
 * End-of-epoch checkpoint of a baseline defense: trained tensors and optimizer buffers in one safetensors
 * file, the loop state (epoch, step, RNG, metrics so far) in state.json, written last, so a checkpoint counts
 * only when both are complete. `signature` records what the run was started with; resuming with other
 * settings is refused rather than silently mixing two runs.
 */
export interface LoopState {
  readonly method: string;
  readonly signature: string;
  readonly epoch: number;
  readonly step: number;
  readonly rng: RngState;
  readonly optimizer: { readonly kind: OptimizerState['kind']; readonly step: number };
  readonly epochMetrics: readonly Readonly<Record<string, number>>[];
}

export interface Checkpoint {
  readonly vars: Record<string, HostTensor>;
  readonly optimizer: OptimizerState;
  readonly state: LoopState;
}

const TENSORS_FILE = 'baseline-checkpoint.safetensors';
const STATE_FILE = 'baseline-state.json';

export async function saveCheckpoint(
  dir: string,
  vars: Readonly<Record<string, HostTensor>>,
  optimizer: OptimizerState,
  state: LoopState,
): Promise<void> {
  await mkdir(dir, { recursive: true });
  const tensors: WritableTensor[] = Object.entries(vars).map(([name, t]) => ({
    name: `param.${name}`,
    shape: t.shape,
    data: t.data,
  }));
  for (const [name, buffers] of Object.entries(optimizer.buffers)) {
    buffers.forEach((data, k) =>
      tensors.push({ name: `opt${k}.${name}`, shape: vars[name]?.shape ?? [data.length], data }),
    );
  }
  await writeSafetensors(join(dir, TENSORS_FILE), tensors, { kind: 'vetbench-baseline-checkpoint' });
  const tmp = join(dir, `${STATE_FILE}.${process.pid}.tmp`);
  await writeFile(tmp, JSON.stringify(state));
  await rename(tmp, join(dir, STATE_FILE));
}

/** The last complete checkpoint in `dir`, or null; refuses one made by another method or other settings. */
export async function loadCheckpoint(
  dir: string,
  method: string,
  signature: string,
): Promise<Checkpoint | null> {
  if (!existsSync(join(dir, STATE_FILE))) return null;
  const state = JSON.parse(await readFile(join(dir, STATE_FILE), 'utf8')) as LoopState;
  if (state.method !== method || state.signature !== signature) {
    throw new VetbenchError(
      'checkpoint-mismatch',
      `the checkpoint in ${dir} was made by ${state.method} with ${state.signature}, not ${method} with ${signature}`,
      'Resume with the same method, model, data and parameters, or delete the checkpoint folder to start over.',
    );
  }
  const file = await readSafetensors(join(dir, TENSORS_FILE));
  const vars: Record<string, HostTensor> = {};
  const buffers: Record<string, Float32Array[]> = {};
  for (const t of file.tensors) {
    if (t.name.startsWith('param.')) {
      vars[t.name.slice('param.'.length)] = { data: t.data, shape: t.shape };
      continue;
    }
    const m = /^opt(\d+)\.(.+)$/.exec(t.name);
    if (!m) continue;
    const list = (buffers[m[2]!] ??= []);
    list[Number(m[1])] = t.data;
  }
  return {
    vars,
    optimizer: { kind: state.optimizer.kind, step: state.optimizer.step, buffers },
    state,
  };
}
