import { existsSync, statSync } from 'node:fs';
import { copyFile, constants as fsConstants, mkdir } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { VetbenchError } from '../../engine/errors.js';
import { TRIGGER_FAMILIES } from '../../engine/methods/registry.js';
import { vetSweep } from '../../engine/methods/vet-sweep.js';
import { parseRunIds } from '../report/from-store.js';
import { modelDossiers } from '../report/model-dossier.js';
import { storeProjectReport } from '../report/project-report.js';
import type { PdfRenderer } from '../report/pdf-renderer.js';
import { JOB_KINDS } from '../jobs/kinds/index.js';
import type { JobHost } from '../jobs/job-host.js';
import { apiParamSpecs } from '../jobs/param-specs.js';
import { importDatasetInto, importModelInto } from '../store/imports.js';
import type { ProjectStore } from '../store/project-store.js';
import { projectNameOf } from '../store/recent-projects.js';
import { AllowedRoots } from './allowed-roots.js';
import { buildComparison, describeTrigger } from './compare-runs.js';
import {
  API_METHODS,
  describeIssues,
  type ApiError,
  type Comparison,
  type ApiMethodName,
  type ApiParsedRequest,
  type ApiReply,
  type ApiResponse,
  type ProjectInfo,
  type RecentProject,
} from './contract.js';

/** One handler per API call, receiving the validated request. */
export type ApiHandlers = {
  readonly [M in ApiMethodName]: (request: ApiParsedRequest<M>) => Promise<ApiResponse<M>>;
};

export interface ServiceOptions {
  /** Folders whose files may be imported or written (anything else is refused). */
  readonly allowedRoots: AllowedRoots;
  /** How the transport lets the renderer fetch a file: an artifact, or an image of a dataset. */
  readonly fileUrl: (file: { artifactId: number } | { datasetId: number; imageId: string }) => string;
  /** Switching projects (recent list, open, create); without it only the one project is listed. */
  readonly projects?: ProjectSwitcher;
  /** How exportReport prints PDFs: Electron's printToPDF in the app; Playwright's Chromium when left out. */
  readonly renderPdf?: PdfRenderer;
}

/** What the service needs to list and switch projects (see ProjectSessions). */
export interface ProjectSwitcher {
  list(): RecentProject[];
  /** `path` was checked against the allowed folders already. */
  open(path: string, create: boolean): Promise<ProjectInfo>;
}

/** The folder artifacts are exported to when no destination is given: beside the project file. */
export function defaultExportFolder(projectPath: string): string {
  return join(dirname(projectPath), `${projectNameOf(projectPath)}-exports`);
}

/** `wanted`, or the same name with -2, -3 ... before the extension: an export never overwrites a file. */
export function freeFileName(wanted: string): string {
  if (!existsSync(wanted)) return wanted;
  const ext = extname(wanted);
  const stem = wanted.slice(0, wanted.length - ext.length);
  for (let n = 2; ; n++) if (!existsSync(`${stem}-${n}${ext}`)) return `${stem}-${n}${ext}`;
}

/** The API on top of the project store and the job host; both transports call these handlers. */
export function createApiService(store: ProjectStore, host: JobHost, options: ServiceOptions): ApiHandlers {
  const allowed = (path: string): string => (path === 'demo' ? path : options.allowedRoots.check(path));
  /** An artifact as comparisons name it: file name and the run that made it. */
  const artifactName = (artifactId: number): string => {
    const a = store.getArtifact(artifactId);
    return a.runId === null ? a.name : `${a.name} (run ${a.runId})`;
  };
  const comparisonOf = (
    runIds: readonly number[],
    onlyDifferences: boolean,
    id: number | null,
    name: string | null,
  ): Comparison => {
    const models = new Map(store.listModels().map((m) => [m.id, m.name]));
    const datasets = new Map(store.listDatasets().map((d) => [d.id, d.name]));
    const details = runIds.map((runId) => store.runDetails(runId));
    return buildComparison(
      store.getRuns(runIds),
      details.map((d) => d.params),
      { model: (i) => models.get(i) ?? `model ${i}`, dataset: (i) => datasets.get(i) ?? `dataset ${i}` },
      onlyDifferences,
      id,
      name,
      details.map((d) => ({
        trigger: describeTrigger(d.trigger, artifactName),
        prompts: d.promptsArtifactId === null ? null : artifactName(d.promptsArtifactId),
      })),
    );
  };
  return {
    getProject: async () => store.info(),
    listProjects: async () => ({
      projects: options.projects?.list() ?? [
        {
          path: store.path,
          name: projectNameOf(store.path),
          openedAt: Date.now(),
          exists: true,
          current: true,
          activeRuns: store.info().counts.running,
        },
      ],
    }),
    openProject: async (r) => {
      if (!options.projects)
        throw new VetbenchError(
          'project-switch-unavailable',
          'this Vetbench serves one project only',
          'Restart it with --project <file> to work on another project.',
        );
      return options.projects.open(
        r.create ? options.allowedRoots.checkWritable(r.path) : allowed(r.path),
        r.create,
      );
    },
    listModels: async () => ({ models: store.listModels() }),
    listModelDossiers: async () => ({ dossiers: modelDossiers(store) }),
    importModel: async (r) => importModelInto(store, allowed(r.path), r.name),
    listDatasets: async () => ({ datasets: store.listDatasets() }),
    importDataset: async (r) => importDatasetInto(store, allowed(r.path), r.name ? { name: r.name } : {}),
    datasetImageUrl: async (r) => {
      store.getDataset(r.datasetId);
      return { url: options.fileUrl({ datasetId: r.datasetId, imageId: r.imageId }), mediaType: 'image/png' };
    },
    listMethods: async () => ({
      methods: JOB_KINDS.flatMap((k) => k.methods()),
      triggers: TRIGGER_FAMILIES.map((t) => ({
        id: t.id,
        title: t.title,
        summary: t.summary,
        paper: t.paper,
        params: apiParamSpecs(t.params),
        needsModel: t.needsModel,
        sweep: vetSweep(t.id),
      })),
    }),
    startRun: async (r) => host.submit(r),
    listRuns: async (r) => store.listRuns(r),
    getRun: async ({ runId }) => {
      const summary = store.getRun(runId);
      return {
        ...summary,
        ...store.runDetails(runId),
        series: store.series(runId),
        artifacts: store.listArtifacts(runId),
        checkpointStep: store.lastCheckpoint(runId)?.step ?? null,
        log: store.logTail(runId),
      };
    },
    cancelRun: async ({ runId }) => host.cancel(runId),
    resumeRun: async ({ runId }) => host.resume(runId),
    compareRuns: async (r) => {
      const id = r.saveAs ? store.saveComparison(r.saveAs, r.runIds) : null;
      return comparisonOf(r.runIds, r.onlyDifferences, id, r.saveAs ?? null);
    },
    listComparisons: async () => ({ comparisons: store.listComparisons().reverse() }),
    openComparison: async (r) => {
      const saved = store.listComparisons().find((c) => c.id === r.comparisonId);
      if (!saved)
        throw new VetbenchError(
          'comparison-not-found',
          `there is no saved comparison ${r.comparisonId} in this project`,
          'Pick one from the list of saved comparisons.',
        );
      return comparisonOf(saved.runIds, r.onlyDifferences, saved.id, saved.name);
    },
    listArtifacts: async ({ runId }) => {
      store.getRun(runId);
      return { artifacts: store.listArtifacts(runId) };
    },
    artifactUrl: async ({ artifactId }) => {
      const a = store.getArtifact(artifactId);
      return { url: options.fileUrl({ artifactId }), mediaType: a.mediaType };
    },
    exportArtifact: async (r) => {
      const a = store.getArtifact(r.artifactId);
      const fileName = `${a.runId === null ? 'project' : `run-${a.runId}`}-${basename(a.name)}`;
      let destination: string;
      if (r.path === undefined) {
        const folder = options.allowedRoots.checkWritable(defaultExportFolder(store.path));
        await mkdir(folder, { recursive: true });
        destination = freeFileName(join(folder, fileName));
      } else {
        const given = options.allowedRoots.checkWritable(r.path);
        destination =
          existsSync(given) && statSync(given).isDirectory() ? freeFileName(join(given, fileName)) : given;
        if (!existsSync(dirname(destination)))
          throw new VetbenchError(
            'folder-not-found',
            `the folder ${dirname(destination)} does not exist`,
            'Export into an existing folder, or leave the destination empty to use the exports folder beside the project.',
          );
      }
      options.allowedRoots.checkWritable(destination);
      if (!existsSync(a.path))
        throw new VetbenchError(
          'artifact-missing',
          `the file of artifact ${a.id} (${a.name}) is gone from the project folder`,
          'Run the job again to recreate it.',
        );
      await copyFile(a.path, destination, fsConstants.COPYFILE_EXCL).catch((e: unknown) => {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST')
          throw new VetbenchError(
            'file-exists',
            `${destination} exists already; exports never overwrite`,
            'Choose another file name, or give a folder (a free name is picked inside it).',
          );
        throw e;
      });
      return { path: destination };
    },
    exportReport: async (r) => {
      const runIds = r.runIds === 'all' ? parseRunIds('all', store) : r.runIds;
      const { artifact } = await storeProjectReport(store, runIds, r.format, {
        ...(options.renderPdf ? { renderPdf: options.renderPdf } : {}),
      }).catch((e: unknown) => {
        // the Playwright renderer's hint speaks of CLI options; say what to do from the app instead
        if (e instanceof VetbenchError && e.code === 'chromium-missing')
          throw new VetbenchError(
            'chromium-missing',
            e.message,
            'Export as HTML instead, or install Chromium (Debian/Ubuntu: apt-get install chromium) or set VETBENCH_CHROMIUM to a Chromium binary, then restart Vetbench.',
          );
        throw e;
      });
      return {
        artifactId: artifact.id,
        url: options.fileUrl({ artifactId: artifact.id }),
        mediaType: artifact.mediaType,
        path: artifact.path,
        sha256: artifact.sha256,
      };
    },
  };
}

const STATUS_BY_CODE: Record<string, number> = {
  'bad-request': 400,
  'path-not-allowed': 403,
  'run-active': 409,
  'run-done': 409,
  'disk-full': 507,
  'project-read-only': 503,
  internal: 500,
};

/** HTTP-style status of an error code (the IPC transport ignores it). */
export function statusOf(code: string): number {
  if (code.endsWith('-not-found') || code === 'unknown-call') return 404;
  return STATUS_BY_CODE[code] ?? 400;
}

/**
 * Validates the payload of a call, runs its handler, and wraps the outcome in the reply envelope.
 * Malformed payloads get `bad-request` naming the field; user errors keep their code, message and hint;
 * anything unexpected becomes `internal` without internals.
 */
export async function dispatch(
  handlers: ApiHandlers,
  method: string,
  payload: unknown,
): Promise<{ status: number; reply: ApiReply }> {
  const fail = (error: ApiError): { status: number; reply: ApiReply } => ({
    status: statusOf(error.code),
    reply: { ok: false, error },
  });
  if (!Object.hasOwn(API_METHODS, method))
    return fail({
      code: 'unknown-call',
      message: `there is no API call '${method}'`,
      hint: `Calls: ${Object.keys(API_METHODS).join(', ')}.`,
    });
  const name = method as ApiMethodName;
  const parsed = API_METHODS[name].request.safeParse(payload);
  if (!parsed.success)
    return fail({
      code: 'bad-request',
      message: `${name}: malformed request: ${describeIssues(parsed.error)}`,
      hint: 'Send the fields the API contract (electron/api/contract.ts) describes.',
    });
  try {
    const handler = handlers[name] as (request: unknown) => Promise<unknown>;
    return { status: 200, reply: { ok: true, result: await handler(parsed.data) } };
  } catch (e) {
    if (e instanceof VetbenchError) return fail({ code: e.code, message: e.message, hint: e.hint });
    return fail({
      code: 'internal',
      message: `${name} failed unexpectedly: ${(e as Error).message}`,
      hint: 'Report this with the steps that led to it.',
    });
  }
}
