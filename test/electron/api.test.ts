import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IpcMainInvokeEvent } from 'electron';
import { describe, expect, it } from 'vitest';
import { AllowedRoots } from '../../electron/api/allowed-roots.js';
import { createApiClient } from '../../electron/api/client.js';
import { buildComparison, describeTrigger } from '../../electron/api/compare-runs.js';
import {
  ApiCallError,
  IPC_CHANNEL_PREFIX,
  IPC_EVENT_CHANNEL,
  type ApiEvent,
  type ApiReply,
  type RunSummary,
} from '../../electron/api/contract.js';
import {
  forwardEvents,
  registerIpcApi,
  sameOriginAs,
  type IpcMainLike,
} from '../../electron/api/ipc-transport.js';
import { createApiService, dispatch } from '../../electron/api/service.js';
import { JobHost } from '../../electron/jobs/job-host.js';
import { LATEST_SCHEMA_VERSION } from '../../electron/store/migrations.js';
import { ProjectStore } from '../../electron/store/project-store.js';

type Handler = (event: IpcMainInvokeEvent, payload: unknown) => Promise<unknown>;

/** ipcMain as far as the transport uses it. */
function fakeIpcMain(): IpcMainLike & { handlers: Map<string, Handler> } {
  const handlers = new Map<string, Handler>();
  return {
    handlers,
    handle: (channel: string, listener: Handler) => void handlers.set(channel, listener),
    removeHandler: (channel: string) => void handlers.delete(channel),
  } as IpcMainLike & { handlers: Map<string, Handler> };
}

/** An event from the main frame of a window showing `url`. */
const fromFrame = (url: string) => {
  const frame = { url, parent: null };
  return { senderFrame: frame, sender: { mainFrame: frame } } as unknown as IpcMainInvokeEvent;
};

function service(): { store: ProjectStore; host: JobHost; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'vetbench-api-'));
  const store = ProjectStore.open(join(dir, 'p.vbproj'));
  return { store, host: new JobHost(store, { workerModule: '/nonexistent' }), dir };
}

describe('Electron IPC transport', () => {
  it('answers only the app page, validates payloads, and feeds a client built on it', async () => {
    const { store, host, dir } = service();
    const handlers = createApiService(store, host, {
      allowedRoots: new AllowedRoots([dir]),
      fileUrl: (f) => ('artifactId' in f ? `app://files/artifact/${f.artifactId}` : 'app://x'),
    });
    const ipc = fakeIpcMain();
    const unregister = registerIpcApi(ipc, handlers, sameOriginAs('app://vetbench/index.html'));
    const getProject = ipc.handlers.get(`${IPC_CHANNEL_PREFIX}getProject`)!;

    const trusted = (await getProject(fromFrame('app://vetbench/index.html#/runs'), {})) as ApiReply;
    expect(trusted.ok).toBe(true);
    for (const url of [
      'https://evil.example/',
      'file:///tmp/x.html',
      'app://other/index.html',
      'not a url',
    ]) {
      const reply = (await getProject(fromFrame(url), {})) as ApiReply;
      expect(reply.ok === false && reply.error.code).toBe('forbidden-sender');
    }
    const noFrame = (await getProject(
      { senderFrame: null } as unknown as IpcMainInvokeEvent,
      {},
    )) as ApiReply;
    expect(noFrame.ok).toBe(false);
    // A subframe showing our own page, or a frame that is not the sender's main frame, is refused too.
    const main = { url: 'app://vetbench/index.html', parent: null };
    const sub = { url: 'app://vetbench/index.html', parent: main };
    for (const event of [
      { senderFrame: sub, sender: { mainFrame: main } },
      { senderFrame: { ...main }, sender: { mainFrame: main } },
      { senderFrame: main, sender: {} },
    ]) {
      const reply = (await getProject(event as unknown as IpcMainInvokeEvent, {})) as ApiReply;
      expect(reply.ok === false && reply.error.code).toBe('forbidden-sender');
    }

    const getRun = ipc.handlers.get(`${IPC_CHANNEL_PREFIX}getRun`)!;
    const malformed = (await getRun(fromFrame('app://vetbench/'), { runId: -3 })) as ApiReply;
    expect(malformed.ok === false && malformed.error.code).toBe('bad-request');
    expect(malformed.ok === false && malformed.error.message).toMatch(/runId/);

    // The renderer's side: an ApiClient over the same channels, validating replies.
    const api = createApiClient({
      call: (method, payload) =>
        ipc.handlers.get(`${IPC_CHANNEL_PREFIX}${method}`)!(fromFrame('app://vetbench/'), payload),
      listen: () => () => undefined,
    });
    expect((await api.getProject({})).schemaVersion).toBe(LATEST_SCHEMA_VERSION);
    await expect(api.getRun({ runId: 42 })).rejects.toBeInstanceOf(ApiCallError);
    await expect(api.importModel({ path: '/etc/passwd' })).rejects.toThrow(/outside the folders/);

    unregister();
    expect(ipc.handlers.size).toBe(0);
    store.close();
  });

  it('forwards events to the window until it is gone', () => {
    const sent: [string, ApiEvent][] = [];
    let destroyed = false;
    const listeners = new Set<(e: ApiEvent) => void>();
    const subscribe = (l: (e: ApiEvent) => void) => {
      listeners.add(l);
      return () => listeners.delete(l);
    };
    const stop = forwardEvents(subscribe, {
      send: (channel: string, event: ApiEvent) => void sent.push([channel, event]),
      isDestroyed: () => destroyed,
    } as never);
    const event: ApiEvent = { type: 'run-metric', runId: 1, series: 'loss', step: 1, value: 0.5 };
    for (const l of listeners) l(event);
    destroyed = true;
    for (const l of listeners) l(event);
    expect(sent).toEqual([[IPC_EVENT_CHANNEL, event]]);
    stop();
    expect(listeners.size).toBe(0);
  });

  it('dispatch: unknown calls are 404, user errors keep their code, unexpected ones become internal', async () => {
    const { store, host, dir } = service();
    const handlers = createApiService(store, host, {
      allowedRoots: new AllowedRoots([dir]),
      fileUrl: () => '',
    });
    expect((await dispatch(handlers, 'toString', {})).status).toBe(404); // no prototype keys as calls
    expect((await dispatch(handlers, 'getRun', { runId: 5 })).status).toBe(404);
    const broken = { ...handlers, getProject: async () => Promise.reject(new Error('boom')) };
    const r = await dispatch(broken, 'getProject', {});
    expect(r.status).toBe(500);
    expect(r.reply.ok === false && r.reply.error.code).toBe('internal');
    store.close();
  });
});

describe('run comparison', () => {
  const run = (id: number, metrics: Record<string, number>): RunSummary => ({
    id,
    label: `r${id}`,
    kind: 'attack',
    method: 'badnet',
    modelId: 1,
    datasetId: 1,
    target: 'banana',
    seed: 1,
    status: 'done',
    createdAt: 0,
    startedAt: 0,
    finishedAt: 0,
    runMs: 0,
    attempts: 1,
    progress: null,
    finalMetrics: metrics,
    error: null,
  });
  it('lines up params and final metrics per run and keeps only differing rows when asked', () => {
    const runs = [run(1, { asr: 90, ca: 80 }), run(2, { asr: 95, ca: 80 }), run(3, { ca: 80 })];
    const params: Record<string, number>[] = [
      { lr: 1e-4, epochs: 10 },
      { lr: 5e-4, epochs: 10 },
      { epochs: 10 },
    ];
    const names = { model: () => 'demo', dataset: () => 'demo' };
    const all = buildComparison(runs, params, names, false, null);
    expect(all.params.find((r) => r.key === 'lr')).toEqual({
      key: 'lr',
      values: [1e-4, 5e-4, null],
      differs: true,
    });
    expect(all.metrics.find((r) => r.key === 'ca')).toEqual({
      key: 'ca',
      values: [80, 80, 80],
      differs: false,
    });
    const diff = buildComparison(runs, params, names, true, 7);
    expect(diff.params.map((r) => r.key)).toEqual(['lr']);
    expect(diff.metrics.map((r) => r.key)).toEqual(['asr']);
    expect(diff.id).toBe(7);
  });
  it('shows the trigger and prompt file each run used, so runs that differ only there are told apart', () => {
    const runs = [run(1, { ca: 80 }), run(2, { ca: 80 })];
    const names = { model: () => 'demo', dataset: () => 'demo' };
    const artifactName = (id: number): string => `trigger.safetensors (run ${id})`;
    const inputs = [
      {
        trigger: describeTrigger(
          { source: 'family', family: 'badnet', params: { patchSize: 8 } },
          artifactName,
        ),
        prompts: null,
      },
      {
        trigger: describeTrigger({ source: 'artifact', artifactId: 4 }, artifactName),
        prompts: 'prompts.safetensors (run 3)',
      },
    ];
    const diff = buildComparison(runs, [{}, {}], names, true, null, null, inputs);
    expect(diff.params).toEqual([
      { key: 'trigger', values: ['badnet (patchSize=8)', 'trigger.safetensors (run 4)'], differs: true },
      { key: 'prompts', values: [null, 'prompts.safetensors (run 3)'], differs: true },
    ]);
    expect(describeTrigger({ source: 'family', family: 'sig', params: {} }, artifactName)).toBe('sig');
    expect(describeTrigger(null, artifactName)).toBeNull();
  });
});
