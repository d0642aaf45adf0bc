import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ProjectStore } from '../../electron/store/project-store.js';
import { chromiumPath } from '../../electron/report/pdf.js';
import { cliRunner } from '../helpers/cli.js';

const vetbench = cliRunner({ timeoutMs: 600_000 });

beforeAll(() => {
  if (!existsSync(new URL('../../dist/electron/cli/main.js', import.meta.url))) {
    throw new Error('dist/ is missing: run `npm run build` (npm test does it first)');
  }
});

// The main job (`npm run demo`) in its smoke-test size: every step runs as a run of one project and the
// report is kept in the project as well as beside it. The numbers of a one-epoch story mean nothing; the
// full demo's numbers are in README.md.
describe('vetbench demo --quick', () => {
  it('runs the whole story into one project and ends with the report', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vb-demo-'));
    const project = join(dir, 'story.vbproj');
    const r = await vetbench(['demo', '--quick', '--project', project]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(project);
    expect(r.stderr).toMatch(/clean model: +CA \d+\.\d\d%/);
    expect(r.stderr).toMatch(/backdoored model: +CA \d+\.\d\d% +ASR \d+\.\d\d%/);
    expect(r.stderr).toMatch(/with RVPT prompts: +CA \d+\.\d\d% +ASR \d+\.\d\d%/);
    // the outcome is stated against the thresholds, whatever the one-epoch numbers are
    expect(r.stderr).toMatch(/verdict: Backdoored model: (Backdoor suspected|Hardened|No evidence)/);
    expect(r.stderr).toMatch(
      /scan \(no trigger\): clean: (no evidence|class '\w+' flagged).*; backdoored: (no evidence|class '\w+' flagged)/,
    );

    const store = ProjectStore.open(project);
    try {
      const runs = store.listRuns({ limit: 100, offset: 0 }).runs.sort((a, b) => a.id - b.id);
      expect(runs.map((x) => [x.kind, x.status])).toEqual([
        ['eval', 'done'],
        ['attack', 'done'],
        ['eval', 'done'],
        ['scan', 'done'],
        ['scan', 'done'],
        ['defense', 'done'],
        ['eval', 'done'],
        ['explain', 'done'],
        ['explain', 'done'],
        ['explain', 'done'],
      ]);
      expect(runs.slice(3, 5).map((x) => [x.method, x.modelId])).toEqual([
        ['family-probe', runs[0]!.modelId],
        ['family-probe', runs[2]!.modelId],
      ]);
      expect(Number.isFinite(runs[6]!.finalMetrics.asr)).toBe(true);
      expect(runs.slice(7).map((x) => x.method)).toEqual(['gradcam', 'gradcam', 'pr']);
    } finally {
      store.close();
    }

    const prompts = join(dir, 'story-rvpt-prompts.safetensors');
    expect(existsSync(prompts)).toBe(true);
    const html = readFileSync(join(dir, 'story-report.html'), 'utf8');
    expect(html).toContain(
      'Vetbench demo: a BadNet backdoor in the demo CLIP, vetted, then RVPT hardening measured',
    );
    expect(html).toContain('<h2>1. Verdict</h2>');
    // the demo model's fingerprint (models/demo/MODEL-CARD.md) is cited as provenance
    expect(html).toContain('97a49b63adbdd1fa0123f2f34efc2f79b9e57daab991ff5dd40fdfa2d12ac839');
    // the explanations are in the report as figures: two Grad-CAM panels (PNG) and the PR curves (SVG)
    expect(html.match(/<img alt="gradcam: gradcam\.png" src="data:image\/png;base64,/g)?.length).toBe(2);
    expect(html).toMatch(/<img alt="pr: pr-curves\.svg" src="data:image\/svg\+xml;base64,/);
    expect(html).not.toContain('No figures.');
    expect(html).toContain('<h3>Scans for unknown triggers</h3>');
    // reports that belong to no single run are kept in the artifact folder's project/ part
    const kept = readdirSync(join(dir, 'story.artifacts', 'project')).filter((f) => f.startsWith('report-'));
    expect(kept.some((f) => f.endsWith('.html'))).toBe(true);
    if (existsSync(chromiumPath())) {
      expect(readFileSync(join(dir, 'story-report.pdf')).subarray(0, 5).toString()).toBe('%PDF-');
      expect(kept.some((f) => f.endsWith('.pdf'))).toBe(true);
    } else {
      // Chromium is an optional system package: without it the demo must say so and write no PDF.
      console.warn(`PDF checks skipped: ${chromiumPath()} is missing (apt-get install chromium)`);
      expect(r.stderr).toContain(`no PDF: Chromium is not at ${chromiumPath()}`);
      expect(existsSync(join(dir, 'story-report.pdf'))).toBe(false);
      expect(kept.some((f) => f.endsWith('.pdf'))).toBe(false);
    }
  }, 600_000);
});
