import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cliRunner } from '../helpers/cli.js';
import { encodePng } from '../../engine/demo/png.js';
import { importDatasetInto, importModelInto } from '../../electron/store/imports.js';
import { ProjectStore } from '../../electron/store/project-store.js';
import { chromiumPath } from '../../electron/report/pdf.js';
import { FIXTURE_DIR } from '../helpers/compare.js';
import { hasCommand } from '../helpers/system-tools.js';

const MODEL = `${FIXTURE_DIR}model.safetensors`;

const vetbench = cliRunner({ timeoutMs: 120_000 });

let dir: string;
let project: string;
let modelFingerprint: string;
let datasetFingerprint: string;

/** A small project: the fixture model, the demo dataset, two seeds of one defense with metrics and an image. */
beforeAll(async () => {
  if (!existsSync(new URL('../../dist/electron/cli/main.js', import.meta.url))) {
    throw new Error('dist/ is missing: run `npm run build` (npm test does it first)');
  }
  dir = mkdtempSync(join(tmpdir(), 'vb-report-'));
  project = join(dir, 'audit.vbproj');
  const store = ProjectStore.open(project);
  const model = await importModelInto(store, MODEL, 'fixture-tiny');
  const dataset = await importDatasetInto(store, 'demo');
  modelFingerprint = model.fingerprint;
  datasetFingerprint = dataset.fingerprint;
  for (const seed of [1, 2]) {
    const id = store.createRun({
      label: `rvpt seed ${seed}`,
      kind: 'defense',
      method: 'rvpt',
      modelId: model.id,
      datasetId: dataset.id,
      target: 'banana',
      trigger: null,
      promptsArtifactId: null,
      seed,
      params: { alpha: 2, depth: 1, shots: 16 },
    });
    store.recordMetrics(
      [0, 1, 2].flatMap((step) => [
        { runId: id, series: 'CA', step, value: 88 + step + seed },
        { runId: id, series: 'ASR', step, value: 60 - 25 * step + seed },
        { runId: id, series: 'loss', step, value: 2 - 0.4 * step },
      ]),
    );
    const png = encodePng(4, 4, new Uint8Array(48).fill(seed * 100));
    await store.writeArtifact(id, 'image', 'gradcam.png', png, 'image/png');
    store.finishRun(id, 'done', { attemptMs: 5 }); // only finished runs count in a report
  }
  store.close();
}, 120_000);

describe('vetbench report', () => {
  it('reports the runs of a project as HTML: fingerprints, mean ± sd over seeds, charts and images', async () => {
    const out = join(dir, 'report.html');
    const r = await vetbench(['report', '--project', project, '--runs', 'all', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('2 run(s), 1 metric row(s), 2 figure(s)');
    const html = readFileSync(out, 'utf8');
    expect(html).toContain(modelFingerprint);
    expect(html).toContain(datasetFingerprint);
    // final CA 91 and 92 (step 2) -> 91.50 ± 0.71; ASR 11 and 12 -> 11.50 ± 0.71
    expect(html).toMatch(/91\.50% <span class="sd">± 0\.71<\/span>/);
    expect(html).toMatch(/11\.50% <span class="sd">± 0\.71<\/span>/);
    expect(html).toContain('<b>alpha</b> = 2');
    expect(html).toContain('rvpt (defense, seed 2)');
    expect((html.match(/data:image\/png;base64,/g) ?? []).length).toBe(2);
    expect((html.match(/data:image\/svg\+xml;base64,/g) ?? []).length).toBe(4); // rates + loss, per run
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    // the project keeps a copy among its artifacts
    const kept = readdirSync(join(`${project.replace(/\.vbproj$/, '')}.artifacts`, 'project')).filter((f) =>
      /^report-\d+\.html$/.test(f),
    );
    expect(kept).toHaveLength(1);
    expect(
      readFileSync(join(`${project.replace(/\.vbproj$/, '')}.artifacts`, 'project', kept[0]!), 'utf8'),
    ).toBe(html);
  });

  it('reports chosen runs from a JSON input too, and refuses bad options', async () => {
    const input = join(dir, 'input.json');
    writeFileSync(
      input,
      JSON.stringify({
        project: { name: 'json' },
        models: [{ id: 'm', label: 'm', path: 'm.safetensors', fingerprint: 'f'.repeat(64) }],
        datasets: [],
        runs: [
          { id: 'r1', method: 'badnet', kind: 'attack', params: { patchSize: 16 }, seed: 3, status: 'done' },
        ],
        images: [
          { title: 'preview', base64: Buffer.from(encodePng(1, 1, new Uint8Array(3))).toString('base64') },
        ],
      }),
    );
    const out = join(dir, 'json.html');
    const r = await vetbench(['report', '--input', input, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(out, 'utf8')).toContain('f'.repeat(64));
    const both = await vetbench(['report', '--input', input, '--project', project, '--out', out]);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('exactly one of --project and --input');
    const txt = await vetbench(['report', '--input', input, '--out', join(dir, 'r.txt')]);
    expect(txt.stderr).toContain('--out must end in .pdf or .html');
    const badRuns = await vetbench(['report', '--project', project, '--runs', 'x', '--out', out]);
    expect(badRuns.stderr).toContain("--runs must be 'all' or run ids");
  });

  it('renders a PDF with Chromium whose pages convert to PNG', async (ctx) => {
    if (!existsSync(chromiumPath())) {
      console.warn(`skipped: ${chromiumPath()} is missing (apt-get install chromium)`);
      ctx.skip();
    }
    if (!hasCommand('pdftoppm')) {
      console.warn('skipped: pdftoppm is missing (apt-get install poppler-utils)');
      ctx.skip();
    }
    const out = join(dir, 'report.pdf');
    const r = await vetbench(['report', '--project', project, '--runs', '1,2', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(out).subarray(0, 5).toString()).toBe('%PDF-');
    execFileSync('pdftoppm', ['-png', '-r', '30', out, join(dir, 'page')]);
    const pages = readdirSync(dir).filter((f) => /^page-\d+\.png$/.test(f));
    expect(pages.length).toBeGreaterThanOrEqual(2);
  });
});
