import { describe, expect, it } from 'vitest';
import { encodePng } from '../../engine/demo/png.js';
import { VetbenchError } from '../../engine/errors.js';
import { defenseEffectiveness, meanSd } from '../../engine/report/metric-stats.js';
import type { ReportInput } from '../../engine/report/report-input.js';
import { parseReportInputJson } from '../../engine/report/report-input-schema.js';
import { renderReportHtml } from '../../engine/report/render-html.js';
import { lineChart } from '../../engine/report/svg-chart.js';

const MODEL_SHA = 'a'.repeat(63) + 'b';
const DATASET_SHA = 'c'.repeat(63) + 'd';
const PROMPT_SHA = 'e'.repeat(63) + 'f';

export function smallReportInput(): ReportInput {
  const png = encodePng(2, 2, Uint8Array.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255]));
  return {
    project: { name: 'demo <audit>', path: 'projects/demo.vbproj' },
    createdAt: '2026-01-02T03:04:05.000Z',
    summary: 'BadNet implanted; RVPT brought ASR down.',
    models: [
      {
        id: 'm1',
        label: 'backdoored',
        path: '/m/badnet.safetensors',
        fingerprint: MODEL_SHA,
        architecture: 'ViT 32px',
      },
    ],
    datasets: [{ id: 'd1', label: 'demo', root: '/d', fingerprint: DATASET_SHA, classes: 12, images: 3600 }],
    runs: [
      {
        id: '7',
        method: 'rvpt',
        kind: 'defense',
        params: { alpha: 2, depth: 1, lr: 0.002 },
        seed: 1,
        status: 'done',
        modelId: 'm1',
        datasetId: 'd1',
        backend: 'onnxruntime',
        wallMs: 61_000,
      },
      {
        id: '8',
        method: 'rvpt',
        kind: 'defense',
        params: { alpha: 2, depth: 1, lr: 0.002 },
        seed: 2,
        status: 'done',
        modelId: 'm1',
        datasetId: 'd1',
      },
    ],
    metrics: [
      {
        label: 'BadNet -> RVPT',
        runIds: ['7', '8'],
        seeds: [1, 2],
        values: { CA: [90, 92], ASR: [1, 3], DER: [0.95, 0.97] },
        denominators: { CA: 720, ASR: 660 },
      },
    ],
    series: [
      {
        runId: '7',
        name: 'loss',
        points: [
          [0, 2],
          [1, 1.5],
          [2, 1.2],
        ],
      },
      {
        runId: '7',
        name: 'ASR',
        points: [
          [0, 90],
          [1, 20],
          [2, 2],
        ],
      },
    ],
    images: [
      { title: 'Grad-CAM overlay', caption: 'triggered images', runId: '7', mime: 'image/png', bytes: png },
    ],
    promptFiles: [
      {
        path: 'rvpt.prompts.safetensors',
        sha256: PROMPT_SHA,
        kind: 'visual-deep',
        modelFingerprint: MODEL_SHA,
      },
    ],
    software: { vetbench: '0.1.0', node: 'v20', 'onnxruntime-node': '1.30.0' },
  };
}

describe('audit report HTML', () => {
  const html = renderReportHtml(smallReportInput());

  it('shows fingerprints, the prompt file hash, hyperparameters, seeds and versions', () => {
    expect(html).toContain(MODEL_SHA);
    expect(html).toContain(DATASET_SHA);
    expect(html).toContain(PROMPT_SHA);
    expect(html).toContain('<b>alpha</b> = 2');
    expect(html).toContain('<b>lr</b> = 0.002');
    expect(html).toContain('rvpt (defense, seed 2)');
    expect(html).toContain('onnxruntime');
    expect(html).toContain('1.30.0');
    expect(html).toContain('2026-01-02T03:04:05.000Z');
  });

  it('has the metric table with mean ± sd over seeds and denominators', () => {
    // CA 90, 92 -> 91.00 ± 1.41; ASR 1, 3 -> 2.00 ± 1.41; DER 0.96 ± 0.014
    expect(html).toMatch(/91\.00% <span class="sd">± 1\.41<\/span>/);
    expect(html).toMatch(/2\.00% <span class="sd">± 1\.41<\/span>/);
    expect(html).toMatch(/0\.960 <span class="sd">± 0\.014<\/span>/);
    expect(html).toContain('CA n=720');
    expect(html).toContain('ASR n=660');
    expect(html).not.toContain('<th>PA</th>'); // no PA values were given
  });

  it('embeds images and charts and makes no external request', () => {
    expect(html).toContain('data:image/png;base64,');
    expect((html.match(/data:image\/svg\+xml;base64,/g) ?? []).length).toBe(2); // rates chart + loss chart
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(html).not.toContain('<script');
    expect(html).toContain('demo &lt;audit&gt;'); // escaped
  });

  it('mean ± sd and DER are computed as documented', () => {
    expect(meanSd([90, 92])).toEqual({ mean: 91, sd: Math.SQRT2, n: 2 });
    expect(meanSd([5]).sd).toBe(0);
    // ASR 95 -> 2, CA 93 -> 92: (0.93 - 0.01 + 1) / 2 = 0.96
    expect(defenseEffectiveness({ ca: 93, asr: 95 }, { ca: 92, asr: 2 })).toBeCloseTo(0.96, 12);
    // a defense that raises ASR and CA scores (0 - 0 + 1) / 2
    expect(defenseEffectiveness({ ca: 90, asr: 10 }, { ca: 95, asr: 20 })).toBe(0.5);
  });

  it('line charts are standalone SVG with one path per series', () => {
    const svg = lineChart({ title: 'PR', xLabel: 'block', yLabel: 'cos' }, [
      {
        label: 'a',
        points: [
          [0, 1],
          [1, 0.5],
        ],
      },
      {
        label: 'b',
        points: [
          [0, 0.9],
          [1, 0.2],
        ],
        dashed: true,
      },
    ]);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect((svg.match(/<path d="M/g) ?? []).length).toBe(2);
    expect(svg).toContain('stroke-dasharray');
  });

  it('a malformed JSON input is refused with the fields at fault', () => {
    expect(() =>
      parseReportInputJson(
        { project: { name: 'x' }, models: [], datasets: [], runs: [{ id: 1 }] },
        'in.json',
      ),
    ).toThrow(VetbenchError);
    try {
      parseReportInputJson(
        { project: { name: 'x' }, models: [], datasets: [], runs: [{ id: 1 }] },
        'in.json',
      );
    } catch (e) {
      expect((e as Error).message).toMatch(/runs\.0\.id/);
    }
  });
});

describe('audit report: scans for unknown triggers', () => {
  it('lists each scan with its model, verdict, class and evidence; no section without scans', () => {
    const input = smallReportInput();
    const html = renderReportHtml({
      ...input,
      scans: [
        {
          runId: '7',
          method: 'family-probe',
          modelId: 'm1',
          verdict: 'backdoor-suspected',
          suspect: 'banana',
          evidence: 'takes 89.5% of the other classes’ images under badnet patch 112/224',
        },
        {
          runId: '8',
          method: 'backdoor-scan',
          verdict: 'no-evidence',
          evidence: 'largest anomaly index 1.20',
        },
      ],
    });
    expect(html).toContain('<h3>Scans for unknown triggers</h3>');
    expect(html).toContain('<td>backdoored</td>'); // model m1's label
    expect(html).toContain('<b>backdoor suspected: banana</b>');
    expect(html).toContain('89.5%');
    expect(html).toMatch(/<td><code>8<\/code><\/td><td>backdoor-scan<\/td><td>—<\/td><td>no evidence<\/td>/);
    expect(renderReportHtml(input)).not.toContain('Scans for unknown triggers');
  });
});
