/**
 * The worker process of one job: started by the job host (child_process.fork in the CLI and serve mode,
 * utilityProcess in the app), receives `start`, runs the job kind, streams events, and exits. A `cancel`
 * aborts the job's AbortSignal: the engine stops at the next step and its last epoch checkpoint stays for a
 * resume. If the host disappears the worker exits at once (nobody would record its results).
 */
import { engineConfig } from '../../engine/config.js';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { loadClipWeights } from '../../engine/clip/load-weights.js';
import { VetbenchError } from '../../engine/errors.js';
import { packageVersion, vetbenchVersion } from '../../engine/paths.js';
import type { ApiError } from '../api/contract.js';
import { hashFile, syncFolder } from '../store/atomic-file.js';
import { FeatureCacheDb } from '../store/feature-cache-db.js';
import { modelArchitecture } from '../store/model-architecture.js';
import type { JobContext } from './job-kind.js';
import { findJobKind } from './kinds/index.js';
import { HostMessageSchema, type JobSpec, type WorkerMessage } from './worker-protocol.js';

interface ParentPort {
  send(message: WorkerMessage): Promise<void>;
  onMessage(listener: (message: unknown) => void): void;
  onDisconnect(listener: () => void): void;
}

interface ElectronParentPort {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (e: { data: unknown }) => void): void;
}

function parentPort(): ParentPort {
  const electronPort = (process as unknown as { parentPort?: ElectronParentPort }).parentPort;
  if (electronPort) {
    return {
      send: async (message) => electronPort.postMessage(message),
      onMessage: (listener) => electronPort.on('message', (e) => listener(e.data)),
      onDisconnect: () => {
        // utilityProcess children are ended by Electron with their parent
      },
    };
  }
  const send = process.send?.bind(process);
  if (!send) {
    console.error('vetbench worker: start me through the job host (no IPC channel)');
    process.exit(2);
  }
  return {
    send: (message) =>
      new Promise((resolve) => {
        if (!process.connected) return resolve();
        send(message, undefined, undefined, () => resolve());
      }),
    onMessage: (listener) => process.on('message', listener),
    onDisconnect: (listener) => process.on('disconnect', listener),
  };
}

function toApiError(e: unknown): ApiError {
  if (e instanceof VetbenchError) return { code: e.code, message: e.message, hint: e.hint };
  const err = e instanceof Error ? e : new Error(String(e));
  return {
    code: 'internal',
    message: err.message,
    hint: 'This is unexpected; the run log holds the stack trace. Report it, then resume the run.',
  };
}

function versions(): Record<string, string> {
  const out: Record<string, string> = { vetbench: vetbenchVersion(), node: process.versions.node };
  for (const name of ['onnxruntime-node', '@tensorflow/tfjs', 'sharp']) {
    const v = packageVersion(name);
    if (v) out[name] = v;
  }
  if (process.versions.electron) out.electron = process.versions.electron;
  return out;
}

function context(spec: JobSpec, port: ParentPort, signal: AbortSignal): JobContext {
  const send = (m: WorkerMessage): void => void port.send(m);
  let cache: FeatureCacheDb | null | undefined;
  return {
    spec,
    signal,
    progress: (p) => send({ type: 'progress', ...p }),
    metric: (series, step, value) => {
      if (Number.isFinite(value)) send({ type: 'metric', series, step, value });
    },
    log: (line, level = 'info') => send({ type: 'log', at: Date.now(), level, line }),
    async writeArtifact(kind, name, mediaType, write) {
      await mkdir(spec.runFolder, { recursive: true });
      const final = join(spec.runFolder, name);
      const tmp = join(spec.runFolder, `.${name}.${process.pid}.tmp`);
      try {
        await write(tmp);
        const handle = await open(tmp, 'r+');
        await handle.sync();
        await handle.close();
        await rename(tmp, final);
      } catch (e) {
        await rm(tmp, { force: true });
        throw e;
      }
      await syncFolder(spec.runFolder);
      const { sha256, bytes } = await hashFile(final);
      send({ type: 'artifact', kind, relPath: `${spec.artifactPrefix}/${name}`, mediaType, sha256, bytes });
      return final;
    },
    async registerModel(path, name) {
      const weights = await loadClipWeights(path);
      const relPath = `${spec.artifactPrefix}/${path.slice(spec.runFolder.length + 1)}`;
      send({
        type: 'model',
        relPath,
        name,
        fingerprint: weights.source.fingerprint,
        fileBytes: weights.source.fileBytes,
        architecture: modelArchitecture(weights),
        warnings: [...weights.source.warnings],
      });
    },
    checkpoint: (step) => send({ type: 'checkpoint', step, dir: spec.checkpointDir }),
    featureCache() {
      if (cache === undefined) {
        try {
          cache = spec.featureCachePath ? FeatureCacheDb.open(spec.featureCachePath) : null;
        } catch (e) {
          // A broken cache must not fail the run: it only saves time.
          send({
            type: 'log',
            at: Date.now(),
            level: 'warn',
            line: `feature cache off: ${(e as Error).message}`,
          });
          cache = null;
        }
      }
      return cache;
    },
  };
}

async function runJob(spec: JobSpec, port: ParentPort, abort: AbortController): Promise<void> {
  await port.send({
    type: 'started',
    versions: versions(),
    executor: spec.executor ?? engineConfig().trainExecutor ?? 'onnx',
  });
  try {
    const result = await findJobKind(spec.kind).run(context(spec, port, abort.signal));
    await port.send({ type: 'done', result });
  } catch (e) {
    if (abort.signal.aborted) await port.send({ type: 'cancelled' });
    else {
      if (!(e instanceof VetbenchError) && e instanceof Error && e.stack)
        await port.send({ type: 'log', at: Date.now(), level: 'error', line: e.stack });
      await port.send({ type: 'failed', error: toApiError(e) });
    }
  }
}

const port = parentPort();
const abort = new AbortController();
let started = false;
port.onDisconnect(() => process.exit(3));
port.onMessage((raw) => {
  const parsed = HostMessageSchema.safeParse(raw);
  if (!parsed.success) return;
  const message = parsed.data;
  if (message.type === 'cancel') abort.abort();
  else if (!started) {
    started = true;
    void runJob(message.spec, port, abort).finally(() => process.exit(0));
  }
});
