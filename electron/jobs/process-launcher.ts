import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { projectRoot } from '../../engine/paths.js';

/** A running worker process as the host sees it, whatever started it (child_process or utilityProcess). */
export interface WorkerProcess {
  readonly pid: number | undefined;
  send(message: unknown): void;
  onMessage(listener: (message: unknown) => void): void;
  /** Called once when the process is gone; `signal` is set when it was killed. */
  onExit(listener: (code: number | null, signal: string | null) => void): void;
  /** Ends it now (SIGKILL where there are signals). */
  kill(): void;
}

/** Starts the worker module in a new process. */
export interface ProcessLauncher {
  launch(workerModule: string): WorkerProcess;
}

/** The compiled worker: beside this module when running from dist/, else in the build output. */
export function defaultWorkerModule(): string {
  const beside = fileURLToPath(new URL('./worker.js', import.meta.url));
  return existsSync(beside) ? beside : join(projectRoot(), 'dist', 'electron', 'jobs', 'worker.js');
}

/** child_process.fork: used by the CLI and serve mode. Worker stdout goes to our stderr (stdout is for results). */
export const forkLauncher: ProcessLauncher = {
  launch(workerModule: string): WorkerProcess {
    const child = fork(workerModule, [], {
      stdio: ['ignore', process.stderr, 'inherit', 'ipc'],
      serialization: 'json',
      execArgv: [],
    });
    let exited = false;
    let channelClosed = false;
    let status: [number | null, string | null] = [null, null];
    const exitListeners: ((code: number | null, signal: string | null) => void)[] = [];
    // Report the exit only once the IPC channel is closed too, so every message sent before it was read.
    const maybeReport = (): void => {
      if (exited && channelClosed) for (const l of exitListeners.splice(0)) l(...status);
    };
    child.on('exit', (code, signal) => {
      exited = true;
      status = [code, signal];
      maybeReport();
    });
    child.on('disconnect', () => {
      channelClosed = true;
      maybeReport();
    });
    child.on('error', () => {
      if (child.pid !== undefined) return; // errors of a running child end in 'exit'
      exited = channelClosed = true; // never started
      status = [null, 'spawn-failed'];
      queueMicrotask(maybeReport);
    });
    return {
      pid: child.pid,
      send(message: unknown): void {
        if (!exited && child.connected) child.send(message as object);
      },
      onMessage(listener): void {
        child.on('message', (m) => listener(m));
      },
      onExit(listener): void {
        exitListeners.push(listener);
      },
      kill(): void {
        if (!exited) child.kill('SIGKILL');
      },
    };
  },
};
