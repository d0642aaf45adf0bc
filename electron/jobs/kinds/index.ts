import type { MethodInfo, RunKind } from '../../api/contract.js';
import { VetbenchError } from '../../../engine/errors.js';
import type { JobKind } from '../job-kind.js';
import { attackJob } from './attack-job.js';
import { defenseJob } from './defense-job.js';
import { evalJob } from './eval-job.js';
import { explainJob } from './explain-job.js';
import { pretrainJob } from './pretrain-job.js';
import { scanJob } from './scan-job.js';

/** Every kind of job the host can run. A new kind is one file and one line here. */
export const JOB_KINDS: readonly JobKind[] = [
  attackJob,
  evalJob,
  defenseJob,
  explainJob,
  scanJob,
  pretrainJob,
];

export function findJobKind(kind: RunKind): JobKind {
  const found = JOB_KINDS.find((k) => k.kind === kind);
  if (!found)
    throw new VetbenchError(
      'kind-unavailable',
      `runs of kind '${kind}' are not available yet`,
      `Available: ${JOB_KINDS.map((k) => k.kind).join(', ')}.`,
    );
  return found;
}

export function findJobMethod(kind: RunKind, method: string): MethodInfo {
  const info = findJobKind(kind)
    .methods()
    .find((m) => m.id === method);
  if (!info)
    throw new VetbenchError(
      'method-unknown',
      `there is no ${kind} method '${method}'`,
      `Use one of: ${findJobKind(kind)
        .methods()
        .map((m) => m.id)
        .join(', ')}.`,
    );
  return info;
}
