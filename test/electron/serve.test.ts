import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiCallError, type ApiEvent, type ApiReply } from '../../electron/api/contract.js';
import { createHttpApiClient } from '../../electron/api/http-client.js';
import { writeJobFixtures } from './jobs-fixture.js';

// Runs the built CLI (dist/): `npm run build` first (npm test does).
const BIN = new URL('../../bin/vetbench.js', import.meta.url).pathname;

let child: ChildProcess;
let url: URL;
let origin: string;
let token: string;
let dir: string;
let fixtures: { model: string; dataset: string };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vetbench-serve-'));
  fixtures = await writeJobFixtures(dir);
  child = spawn(process.execPath, [BIN, 'serve', '--project', join(dir, 'p.vbproj'), '--allow-root', dir], {
    stdio: ['ignore', 'pipe', 'inherit'],
    // no Chromium: PDF export must fail with a clear error (HTML needs none)
    // XDG_DATA_HOME: serve records recent projects in the user data folder; keep the real one untouched.
    env: {
      ...process.env,
      VETBENCH_CHROMIUM: join(dir, 'no-chromium'),
      XDG_DATA_HOME: join(dir, 'data-home'),
    },
  });
  const first = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}`)));
  });
  url = new URL(first);
  origin = url.origin;
  token = url.searchParams.get('token')!;
}, 60_000);

afterAll(() => {
  child?.kill('SIGTERM');
});

async function post(
  call: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; reply: ApiReply }> {
  const r = await fetch(`${origin}/api/${call}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-vetbench-token': token, ...headers },
    body: JSON.stringify(body),
  });
  return { status: r.status, reply: (await r.json()) as ApiReply };
}

/** A raw request with a chosen Host header (fetch does not allow setting it). */
function rawGet(path: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: Number(url.port), path, headers }, (res) => {
      res.resume();
      resolve(res.statusCode!);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('vetbench serve', () => {
  it('prints a 127.0.0.1 URL carrying a long random token first', () => {
    expect(url.hostname).toBe('127.0.0.1');
    expect(token.length).toBeGreaterThanOrEqual(40);
  });

  it('refuses requests without the token, with a wrong token, from another origin or for another host', async () => {
    expect((await fetch(`${origin}/`)).status).toBe(401);
    expect((await fetch(`${origin}/?token=nope`)).status).toBe(401);
    const missing = await fetch(`${origin}/api/getProject`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(missing.status).toBe(401);
    expect(((await missing.json()) as ApiReply).ok).toBe(false);
    expect((await post('getProject', {}, { 'x-vetbench-token': `${token.slice(0, -1)}x` })).status).toBe(401);
    const foreign = await post('getProject', {}, { origin: 'http://evil.example' });
    expect(foreign.status).toBe(403);
    expect(foreign.reply.ok === false && foreign.reply.error.code).toBe('forbidden-origin');
    expect(await rawGet(`/?token=${token}`, { host: 'evil.example' })).toBe(403); // DNS rebinding
    expect((await fetch(`${origin}/api/events`)).status).toBe(401);
    // With the token: the page (renderer or the "not built" page) and the API answer.
    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(page.headers.get('set-cookie')).toMatch(/SameSite=Strict/);
    expect((await post('getProject', {}, { origin })).status).toBe(200);
  });

  it('rejects malformed payloads with a clear error naming the field', async () => {
    const badKind = await post('startRun', { kind: 'nope', method: 'x', modelId: 1, datasetId: 1, seed: 1 });
    expect(badKind.status).toBe(400);
    expect(badKind.reply.ok === false && badKind.reply.error.message).toMatch(/kind/);
    const badId = await post('getRun', { runId: 'one' });
    expect(badId.status).toBe(400);
    expect(badId.reply.ok === false && badId.reply.error.code).toBe('bad-request');
    expect((await post('getRun', { runId: 1, extra: true })).status).toBe(404); // unknown keys dropped; no run 1
    expect((await post('listModels', { surprise: 1 })).status).toBe(400); // empty requests are strict
    expect((await post('noSuchCall', {})).status).toBe(404);
    const notJson = await fetch(`${origin}/api/getProject`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-vetbench-token': token },
      body: '{not json',
    });
    expect(notJson.status).toBe(400);
    expect((await fetch(`${origin}/api/getProject`, { headers: { 'x-vetbench-token': token } })).status).toBe(
      405,
    );
  });

  it('refuses file paths outside the allowed folders', async () => {
    for (const call of ['importModel', 'importDataset']) {
      const r = await post(call, { path: '/etc/passwd' });
      expect(r.status).toBe(403);
      expect(r.reply.ok === false && r.reply.error.code).toBe('path-not-allowed');
    }
    const traversal = await post('importDataset', { path: `${dir}/../../etc` });
    expect(traversal.status).toBe(403);
  });

  it('imports, runs jobs with events over SSE, compares runs and serves artifacts (through the HTTP client)', async () => {
    const api = createHttpApiClient({ baseUrl: origin, token });
    const model = await api.importModel({ path: fixtures.model });
    expect(model.architecture.vision.imageResolution).toBe(16);
    const dataset = await api.importDataset({ path: fixtures.dataset });
    expect(dataset.classes.map((c) => c.name)).toEqual(['blue', 'green', 'red', 'yellow']);
    expect(dataset.counts).toEqual({ train: 96, test: 32 });
    const image = await api.datasetImageUrl({ datasetId: dataset.id, imageId: dataset.sampleImageIds[0]! });
    const png = await fetch(new URL(image.url, origin));
    expect(png.headers.get('content-type')).toBe('image/png');
    expect(
      Buffer.from(await png.arrayBuffer())
        .subarray(1, 4)
        .toString(),
    ).toBe('PNG');
    const methods = await api.listMethods({});
    expect(methods.methods.map((m) => m.id)).toEqual(expect.arrayContaining(['badnet', 'backdoor-eval']));
    await expect(
      api.startRun({
        kind: 'attack',
        method: 'badnet',
        modelId: model.id,
        datasetId: dataset.id,
        seed: 1,
        params: { epochs: 0 },
      }),
    ).rejects.toThrow(ApiCallError);

    // Events over server-sent events while two evaluations run.
    const events: ApiEvent[] = [];
    const controller = new AbortController();
    const stream = await fetch(`${origin}/api/events?token=${token}`, { signal: controller.signal });
    const reading = (async () => {
      const decoder = new TextDecoder();
      let buffer = '';
      for await (const chunk of stream.body!) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (block.startsWith('data: ')) events.push(JSON.parse(block.slice(6)) as ApiEvent);
        }
      }
    })().catch(() => undefined);
    const base = {
      kind: 'eval' as const,
      method: 'backdoor-eval',
      modelId: model.id,
      datasetId: dataset.id,
      seed: 1,
    };
    const a = await api.startRun({ ...base, params: { template: 'a {} square.' } });
    const b = await api.startRun({ ...base, params: { template: 'a photo of a {}.' } });
    const finished = async (id: number) => {
      for (;;) {
        const run = await api.getRun({ runId: id });
        if (['done', 'failed', 'cancelled', 'interrupted'].includes(run.status)) return run;
        await new Promise((r) => setTimeout(r, 200));
      }
    };
    const runA = await finished(a.id);
    const runB = await finished(b.id);
    expect(runA.status).toBe('done');
    expect(runB.status).toBe('done');
    expect(runA.series.find((s) => s.name === 'ca')!.points).toHaveLength(1);
    expect(runA.versions.vetbench).toBeDefined();
    await new Promise((r) => setTimeout(r, 300));
    controller.abort();
    await reading;
    const statuses = events
      .filter((e) => e.type === 'run-status' && e.runId === a.id)
      .map((e) => (e as { status: string }).status);
    expect(statuses).toEqual(['queued', 'running', 'done']);
    expect(events.some((e) => e.type === 'run-metric' && e.runId === b.id && e.series === 'ca')).toBe(true);

    const comparison = await api.compareRuns({
      runIds: [a.id, b.id],
      onlyDifferences: true,
      saveAs: 'templates',
    });
    expect(comparison.id).not.toBeNull();
    expect(comparison.params.map((r) => r.key)).toEqual(['template']);
    for (const row of comparison.metrics) expect(row.differs).toBe(true);
    const all = await api.compareRuns({ runIds: [a.id, b.id] });
    const ca = all.metrics.find((r) => r.key === 'ca')!;
    expect(ca.values).toEqual([runA.finalMetrics.ca, runB.finalMetrics.ca]);

    const { artifacts } = await api.listArtifacts({ runId: a.id });
    const report = await api.artifactUrl({ artifactId: artifacts[0]!.id });
    const body = (await (await fetch(new URL(report.url, origin))).json()) as { ca: number };
    expect(body.ca).toBeCloseTo(runA.finalMetrics.ca!, 10);
    const exported = await api.exportArtifact({
      artifactId: artifacts[0]!.id,
      path: join(dir, 'exported.json'),
    });
    expect(exported.path).toBe(join(dir, 'exported.json'));
    await expect(
      api.exportArtifact({ artifactId: artifacts[0]!.id, path: `${dir}/../escaped.json` }),
    ).rejects.toThrow(/outside/);
    const listed = await api.listRuns({ status: ['done'] });
    expect(listed.total).toBe(2);

    // Export report: the HTML audit report of both runs, stored in the project and served like any artifact.
    const exportedReport = await api.exportReport({ runIds: [a.id, b.id], format: 'html' });
    expect(exportedReport.mediaType).toBe('text/html');
    expect(exportedReport.path.startsWith(dir)).toBe(true);
    const html = await (await fetch(new URL(exportedReport.url, origin))).text();
    expect(html).toContain(model.fingerprint);
    expect(html).toContain(dataset.fingerprint);
    expect(createHash('sha256').update(html).digest('hex')).toBe(exportedReport.sha256);
    const everyRun = await api.exportReport({ runIds: 'all', format: 'html' });
    expect(everyRun.artifactId).not.toBe(exportedReport.artifactId);
    const noChromium = await api.exportReport({ runIds: 'all', format: 'pdf' }).catch((e: unknown) => e);
    expect(noChromium).toBeInstanceOf(ApiCallError);
    expect((noChromium as ApiCallError).code).toBe('chromium-missing');
    expect((noChromium as ApiCallError).hint).toMatch(/HTML/);
    await expect(api.exportReport({ runIds: [9999], format: 'html' })).rejects.toThrow(ApiCallError);
  }, 120_000);

  it('serves /files/... only with the token and never outside the dataset or for unknown ids', async () => {
    const api = createHttpApiClient({ baseUrl: origin, token });
    const dataset = await api.importDataset({ path: fixtures.dataset });
    const imageId = dataset.sampleImageIds[0]!;
    const image = new URL((await api.datasetImageUrl({ datasetId: dataset.id, imageId })).url, origin);
    expect((await fetch(image)).status).toBe(200);
    // Without the token (or with a wrong one) nothing under /files is served, known ids or not.
    expect((await fetch(`${origin}${image.pathname}`)).status).toBe(401);
    expect((await fetch(`${origin}${image.pathname}?token=nope`)).status).toBe(401);
    expect((await fetch(`${origin}/files/artifact/1`)).status).toBe(401);
    const withToken = (path: string): Promise<Response> =>
      fetch(`${origin}${path}`, { headers: { 'x-vetbench-token': token } });
    // `..` (encoded, so that it reaches the route rather than being folded by the URL parser) leaves the
    // dataset's root: refused as a missing image, whatever the file outside holds.
    for (const escape of ['..%2Fp.vbproj', '..%2F..%2F..%2Fetc%2Fpasswd', '%2E%2E%2Fp.vbproj']) {
      const r = await withToken(`/files/dataset/${dataset.id}/${escape}`);
      expect(r.status, escape).toBe(404);
      expect(((await r.json()) as ApiReply).ok).toBe(false);
    }
    // Unknown datasets, images and artifacts are 404 with the token.
    expect((await withToken(`/files/dataset/9999/${encodeURIComponent(imageId)}`)).status).toBe(404);
    expect((await withToken(`/files/dataset/${dataset.id}/no-such.png`)).status).toBe(404);
    expect((await withToken('/files/artifact/9999')).status).toBe(404);
    // A path that leaves the renderer folder is refused too.
    expect((await withToken('/%2E%2E%2Fp.vbproj')).status).toBe(403);
  });

  it('resolves symlinks before serving dataset images, answers 400 to malformed escapes, never writes the install folder', async () => {
    const api = createHttpApiClient({ baseUrl: origin, token });
    const dataset = await api.importDataset({ path: fixtures.dataset, name: 'hostile-files' });
    const images = readdirSync(fixtures.dataset, { recursive: true, encoding: 'utf8' }).filter((f) =>
      f.endsWith('.png'),
    );
    const inside = images[0]!;
    const file = (id: string) =>
      fetch(`${origin}/files/dataset/${dataset.id}/${encodeURIComponent(id)}?token=${token}`);
    expect((await file(inside)).status).toBe(200);
    // A link planted in the dataset after import, pointing outside it: refused like the import refuses it.
    const outside = mkdtempSync(join(tmpdir(), 'vetbench-outside-'));
    copyFileSync(join(fixtures.dataset, inside), join(outside, 'secret.png'));
    symlinkSync(join(outside, 'secret.png'), join(fixtures.dataset, 'planted-link.png'));
    expect((await file('planted-link.png')).status).toBe(404);
    expect((await file('../p.vbproj')).status).toBe(404);
    expect((await fetch(`${origin}/files/dataset/${dataset.id}/%E0%A4%A?token=${token}`)).status).toBe(400);
    expect((await fetch(`${origin}/assets/%zz?token=${token}`)).status).toBe(400);
    // The install folder is readable (its demo data) but no export or new project goes there.
    const install = new URL('../..', import.meta.url).pathname;
    // (the runs of the previous test give a report to export)
    const report = await api.exportReport({ runIds: 'all', format: 'html' });
    const toInstall = await post('exportArtifact', {
      artifactId: report.artifactId,
      path: join(install, 'planted.json'),
    });
    expect(toInstall.status).toBe(403);
    expect(toInstall.reply.ok === false && toInstall.reply.error.message).toMatch(/install folder/);
    expect(existsSync(join(install, 'planted.json'))).toBe(false);
    const project = await post('openProject', { path: join(install, 'planted.vbproj'), create: true });
    expect(project.status).toBe(403);
  }, 60_000);
});
