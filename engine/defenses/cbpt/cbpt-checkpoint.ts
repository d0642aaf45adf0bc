import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readSafetensors, writeSafetensors } from '../../clip/safetensors.js';
import { VetbenchError } from '../../errors.js';
import type { HostTensor } from '../../tensor/host-tensor.js';
import type { OptimizerState } from '../../train/optimizers.js';
import type { RngState } from '../../util/rng.js';

/** What a CBPT run needs to continue exactly where it stopped (written after every epoch). */
export interface CbptCheckpointState {
  readonly epoch: number;
  readonly step: number;
  readonly rng: RngState;
  readonly optimizerStep: number;
  readonly epochMetrics: Record<string, number>[];
  /** The run's identity: resuming with other settings is refused. */
  readonly identity: string;
}

export interface CbptCheckpoint {
  readonly context: HostTensor;
  readonly optimizer: OptimizerState;
  readonly state: CbptCheckpointState;
}

const TENSORS = 'cbpt-checkpoint.safetensors';
const STATE = 'cbpt-state.json';

export async function saveCbptCheckpoint(dir: string, checkpoint: CbptCheckpoint): Promise<void> {
  await mkdir(dir, { recursive: true });
  const { context, optimizer, state } = checkpoint;
  const tensors = [{ name: 'context', shape: context.shape, data: context.data }];
  const momentum = optimizer.buffers.context?.[0];
  if (momentum) tensors.push({ name: 'sgd.context', shape: context.shape, data: momentum });
  await writeSafetensors(join(dir, TENSORS), tensors, { kind: 'vetbench-cbpt-checkpoint' });
  // The state is written last: a checkpoint counts only once both files are complete.
  const tmp = join(dir, `${STATE}.${process.pid}.tmp`);
  await writeFile(tmp, JSON.stringify(state));
  await rename(tmp, join(dir, STATE));
}

export async function loadCbptCheckpoint(dir: string, identity: string): Promise<CbptCheckpoint | null> {
  if (!existsSync(join(dir, STATE))) return null;
  const state = JSON.parse(await readFile(join(dir, STATE), 'utf8')) as CbptCheckpointState;
  if (state.identity !== identity) {
    throw new VetbenchError(
      'checkpoint-mismatch',
      `the CBPT checkpoint in ${dir} was made by a run with other settings (model, data, seed or parameters)`,
      'Resume with the same options, or delete the checkpoint folder to start over.',
    );
  }
  const file = await readSafetensors(join(dir, TENSORS));
  const byName = new Map(file.tensors.map((t) => [t.name, t]));
  const ctx = byName.get('context');
  if (!ctx)
    throw new VetbenchError(
      'checkpoint-invalid',
      `${dir}: the checkpoint has no context`,
      'Delete the folder to start over.',
    );
  const momentum = byName.get('sgd.context');
  return {
    context: { data: ctx.data, shape: ctx.shape },
    optimizer: {
      kind: 'sgd',
      step: state.optimizerStep,
      buffers: momentum ? { context: [momentum.data] } : {},
    },
    state,
  };
}

export async function removeCbptCheckpoint(dir: string): Promise<void> {
  await rm(join(dir, TENSORS), { force: true });
  await rm(join(dir, STATE), { force: true });
}
