import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BrowserWindowConstructorOptions, PrintToPDFOptions } from 'electron';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { VetbenchError } from '../../engine/errors.js';
import { AllowedRoots } from '../../electron/api/allowed-roots.js';
import { createApiService } from '../../electron/api/service.js';
import {
  createElectronPdfRenderer,
  guardPdfSession,
  REPORT_PDF_PARTITION,
  type PdfWindow,
} from '../../electron/app/electron-pdf.js';
import { JobHost } from '../../electron/jobs/job-host.js';
import { chromiumPath, playwrightPdfOptions } from '../../electron/report/pdf.js';
import { REPORT_PAGE } from '../../electron/report/pdf-renderer.js';
import { importDatasetInto, importModelInto } from '../../electron/store/imports.js';
import { ProjectStore } from '../../electron/store/project-store.js';
import { FIXTURE_DIR } from '../helpers/compare.js';
import { hasCommand } from '../helpers/system-tools.js';

const PDF_BYTES = Buffer.from('%PDF-1.7 printed by the fake window');

/** What a fake window saw: the options it was made with, the URL it loaded, what it printed with. */
interface WindowLog {
  options?: BrowserWindowConstructorOptions;
  loadedUrl?: string;
  /** The HTML file's content at load time, and whether the print session let its URL through then. */
  htmlAtLoad?: string;
  allowedAtLoad?: boolean;
  printOptions?: PrintToPDFOptions;
  destroyCalls: number;
}

type Step = 'ok' | 'fail' | 'hang';

/** A BrowserWindow as far as the renderer uses it; `load` and `print` choose how each step ends. */
function fakeWindows(
  load: Step,
  print: Step,
  allows: () => (url: string) => boolean,
): { open: (o: BrowserWindowConstructorOptions) => PdfWindow; log: WindowLog } {
  const log: WindowLog = { destroyCalls: 0 };
  const settle = <T>(step: Step, value: T, error: string): Promise<T> =>
    step === 'ok'
      ? Promise.resolve(value)
      : step === 'fail'
        ? Promise.reject(new Error(error))
        : new Promise<T>(() => {});
  const open = (options: BrowserWindowConstructorOptions): PdfWindow => {
    log.options = options;
    let destroyed = false;
    return {
      webContents: {
        loadURL: async (url: string) => {
          log.loadedUrl = url;
          log.htmlAtLoad = readFileSync(fileURLToPath(url), 'utf8');
          // the same file however escaped is let through; its folder, a sibling or another scheme is not
          const sameFileEscaped = url.replace(/report\.html$/, 'report%2Ehtml');
          const folder = url.replace(/\/report\.html$/, '/');
          log.allowedAtLoad =
            allows()(url) &&
            allows()(sameFileEscaped) &&
            !allows()(folder) &&
            !allows()(folder + 'other.html') &&
            !allows()(url.replace(/^file:/, 'https:'));
          return settle(load, undefined, "ERR_FILE_NOT_FOUND (-6) loading 'file:///gone/report.html'");
        },
        printToPDF: async (o: PrintToPDFOptions) => {
          log.printOptions = o;
          return settle(print, PDF_BYTES, 'Printing failed');
        },
      },
      isDestroyed: () => destroyed,
      destroy: () => {
        destroyed = true;
        log.destroyCalls++;
      },
    };
  };
  return { open, log };
}

function rendererWith(load: Step, print: Step, timeoutMs = 5_000) {
  const tempRoot = mkdtempSync(join(tmpdir(), 'vb-electron-pdf-'));
  let allows: (url: string) => boolean = () => false;
  const windows = fakeWindows(load, print, () => allows);
  const renderer = createElectronPdfRenderer({ openWindow: windows.open, tempRoot, timeoutMs });
  allows = (url) => renderer.allows(url);
  return { renderer, log: windows.log, tempRoot };
}

async function failureOf(work: Promise<unknown>): Promise<VetbenchError> {
  const error = await work.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(VetbenchError);
  return error as VetbenchError;
}

describe('Electron printToPDF renderer (fake BrowserWindow)', () => {
  const html = '<!doctype html><html><body><h1>Audit report</h1></body></html>';

  it('prints the report file the main process wrote, in a locked-down hidden window, on the report page', async () => {
    const { renderer, log, tempRoot } = rendererWith('ok', 'ok');
    const pdf = await renderer.renderPdf(html);
    expect(Buffer.from(pdf).equals(PDF_BYTES)).toBe(true);

    // the window: hidden, sandboxed, isolated, no preload, no script, its own in-memory session
    expect(log.options?.show).toBe(false);
    const prefs = log.options?.webPreferences ?? {};
    expect(prefs).toMatchObject({
      sandbox: true,
      contextIsolation: true,
      nodeIntegration: false,
      javascript: false,
      webSecurity: true,
      partition: REPORT_PDF_PARTITION,
    });
    expect(prefs.preload).toBeUndefined();
    expect(REPORT_PDF_PARTITION.startsWith('persist:')).toBe(false);

    // the URL: a file inside the renderer's own temporary folder, holding the HTML, allowed while printing only
    const url = log.loadedUrl!;
    expect(url.startsWith('file://')).toBe(true);
    expect(fileURLToPath(url).startsWith(tempRoot)).toBe(true);
    expect(log.htmlAtLoad).toBe(html);
    expect(log.allowedAtLoad).toBe(true);
    expect(renderer.allows(url)).toBe(false);

    // the page: what Playwright prints in the CLI (pdf.ts), margins converted from mm to inches
    expect(log.printOptions).toMatchObject({
      pageSize: 'A4',
      printBackground: true,
      displayHeaderFooter: true,
      headerTemplate: REPORT_PAGE.headerTemplate,
      footerTemplate: REPORT_PAGE.footerTemplate,
      preferCSSPageSize: false,
    });
    const margins = log.printOptions!.margins!;
    expect(margins.top! * 25.4).toBeCloseTo(12, 10);
    expect(margins.bottom! * 25.4).toBeCloseTo(14, 10);
    expect(margins.left! * 25.4).toBeCloseTo(10, 10);
    expect(margins.right! * 25.4).toBeCloseTo(10, 10);

    // cleaned up: window destroyed once, temporary folder gone
    expect(log.destroyCalls).toBe(1);
    expect(readdirSync(tempRoot)).toEqual([]);
  });

  it('turns a load failure into a clear error, prints nothing, and still destroys the window', async () => {
    const { renderer, log, tempRoot } = rendererWith('fail', 'ok');
    const error = await failureOf(renderer.renderPdf(html));
    expect(error.code).toBe('report-pdf-load-failed');
    expect(error.message).toContain('ERR_FILE_NOT_FOUND');
    expect(error.hint).toMatch(/HTML/);
    expect(log.printOptions).toBeUndefined();
    expect(log.destroyCalls).toBe(1);
    expect(readdirSync(tempRoot)).toEqual([]);
  });

  it('turns a print failure into a clear error and destroys the window', async () => {
    const { renderer, log, tempRoot } = rendererWith('ok', 'fail');
    const error = await failureOf(renderer.renderPdf(html));
    expect(error.code).toBe('report-pdf-failed');
    expect(error.message).toContain('Printing failed');
    expect(log.destroyCalls).toBe(1);
    expect(readdirSync(tempRoot)).toEqual([]);
  });

  it('stops a load or a print that hangs after the timeout, destroying the window', async () => {
    for (const [load, print] of [
      ['hang', 'ok'],
      ['ok', 'hang'],
    ] as const) {
      const { renderer, log, tempRoot } = rendererWith(load, print, 50);
      const started = Date.now();
      const error = await failureOf(renderer.renderPdf(html));
      expect(error.code).toBe('report-pdf-timeout');
      expect(error.message).toContain('0.05 s');
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(log.destroyCalls).toBe(1);
      expect(renderer.allows(log.loadedUrl!)).toBe(false);
      expect(readdirSync(tempRoot)).toEqual([]);
    }
  });

  it('guards the print session: permissions denied, every request but the report cancelled', () => {
    const { renderer } = rendererWith('ok', 'ok');
    type Listener = (details: { url: string }, callback: (r: { cancel: boolean }) => void) => void;
    let listener: Listener | null = null;
    const denied: string[] = [];
    const fakeSession = {
      webRequest: { onBeforeRequest: (l: Listener) => void (listener = l) },
      setPermissionRequestHandler: () => void denied.push('request'),
      setPermissionCheckHandler: () => void denied.push('check'),
      setDevicePermissionHandler: () => void denied.push('device'),
      setDisplayMediaRequestHandler: () => void denied.push('display-media'),
    };
    const live = new Set(['file:///tmp/vetbench-report-pdf-x/report.html']);
    guardPdfSession(fakeSession as unknown as Parameters<typeof guardPdfSession>[0], (u) => live.has(u));
    expect(denied).toEqual(['request', 'check', 'device', 'display-media']);
    const cancelled = (url: string): boolean => {
      let answer: boolean | null = null;
      listener!({ url }, (r) => (answer = r.cancel));
      return answer!;
    };
    expect(cancelled('file:///tmp/vetbench-report-pdf-x/report.html')).toBe(false);
    for (const url of ['https://example.com/x.png', 'file:///etc/passwd', 'http://127.0.0.1:8080/'])
      expect(cancelled(url)).toBe(true);
    expect(renderer.allows('file:///tmp/vetbench-report-pdf-x/report.html')).toBe(false);
  });
});

/** The report HTML the service handed to the fake renderer (used again by the Chromium check below). */
let reportHtml: string | undefined;

describe('exportReport prints with the injected PDF renderer', () => {
  it('hands the report HTML to the renderer and stores the bytes it returns; HTML needs no renderer', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vb-export-pdf-'));
    const store = ProjectStore.open(join(dir, 'p.vbproj'));
    const model = await importModelInto(store, `${FIXTURE_DIR}model.safetensors`, 'fixture-tiny');
    const dataset = await importDatasetInto(store, 'demo');
    const runId = store.createRun({
      label: 'rvpt seed 1',
      kind: 'defense',
      method: 'rvpt',
      modelId: model.id,
      datasetId: dataset.id,
      target: 'banana',
      trigger: null,
      promptsArtifactId: null,
      seed: 1,
      params: { alpha: 2 },
    });
    store.recordMetrics([{ runId, series: 'CA', step: 0, value: 90 }]);
    store.finishRun(runId, 'done', { attemptMs: 5 }); // only finished runs count in a report

    const printed: string[] = [];
    let failWith: VetbenchError | null = null;
    const handlers = createApiService(store, new JobHost(store, { workerModule: '/nonexistent' }), {
      allowedRoots: new AllowedRoots([dir]),
      fileUrl: (f) => ('artifactId' in f ? `vetbench-file://artifact/${f.artifactId}` : 'x'),
      renderPdf: async (html) => {
        if (failWith) throw failWith;
        printed.push(html);
        return new Uint8Array(PDF_BYTES);
      },
    });

    const pdf = await handlers.exportReport({ runIds: 'all', format: 'pdf' });
    expect(printed).toHaveLength(1);
    expect(printed[0]).toContain(model.fingerprint);
    expect(printed[0]).toContain(dataset.fingerprint);
    reportHtml = printed[0];
    expect(pdf.mediaType).toBe('application/pdf');
    expect(readFileSync(pdf.path).equals(PDF_BYTES)).toBe(true);
    expect(pdf.sha256).toBe(createHash('sha256').update(PDF_BYTES).digest('hex'));
    expect(pdf.url).toBe(`vetbench-file://artifact/${pdf.artifactId}`);

    const html = await handlers.exportReport({ runIds: [runId], format: 'html' });
    expect(printed).toHaveLength(1);
    expect(html.mediaType).toBe('text/html');

    // the renderer's own errors reach the caller unchanged (code, message, hint)
    failWith = new VetbenchError('report-pdf-timeout', 'took too long', 'Export as HTML.');
    const error = await failureOf(handlers.exportReport({ runIds: [runId], format: 'pdf' }));
    expect(error.code).toBe('report-pdf-timeout');
    expect(error.hint).toBe('Export as HTML.');
    expect(existsSync(pdf.path)).toBe(true);
    store.close();
  }, 60_000);

  it('the report prints from a file URL with JavaScript off, as in the app window (real Chromium)', async (ctx) => {
    // Electron's binary is not installed here: this checks, in the system Chromium, that the report needs no
    // script: the app's window has `javascript: false`, and the page-number footer is Chromium's own template.
    if (!existsSync(chromiumPath())) {
      console.warn(`skipped: ${chromiumPath()} is missing (apt-get install chromium)`);
      ctx.skip();
    }
    if (!hasCommand('pdftotext')) {
      console.warn('skipped: pdftotext is missing (apt-get install poppler-utils)');
      ctx.skip();
    }
    expect(reportHtml).toBeDefined();
    const dir = mkdtempSync(join(tmpdir(), 'vb-nojs-pdf-'));
    const file = join(dir, 'report.html');
    writeFileSync(file, reportHtml!);
    const browser = await chromium.launch({ executablePath: chromiumPath(), args: ['--no-sandbox'] });
    const texts: string[] = [];
    try {
      for (const javaScriptEnabled of [false, true]) {
        const page = await browser.newPage({ javaScriptEnabled });
        const url = pathToFileURL(file).href;
        await page.route('**/*', (route) =>
          route.request().url() === url ? route.continue() : route.abort(),
        );
        await page.goto(url, { waitUntil: 'load' });
        const pdf = join(dir, `report-js-${javaScriptEnabled}.pdf`);
        writeFileSync(pdf, await page.pdf(playwrightPdfOptions()));
        texts.push(execFileSync('pdftotext', ['-layout', pdf, '-'], { encoding: 'utf8' }));
        await page.close();
      }
    } finally {
      await browser.close();
    }
    const [withoutScript, withScript] = texts as [string, string];
    const pages = withoutScript.split('\f').filter((p) => p.trim() !== '');
    expect(pages.length).toBeGreaterThanOrEqual(1);
    expect(withoutScript).toContain(`page 1 of ${pages.length}`);
    expect(withoutScript).toMatch(/Audit report/i);
    // the same text, page for page, as when scripts may run
    expect(withoutScript).toBe(withScript);
  }, 60_000);
});
