/**
 * The app's PDF renderer for the audit report: Electron's own webContents.printToPDF in a hidden, sandboxed
 * window with JavaScript off (the report has no script), no preload and its own in-memory session that lets
 * through only the report file being printed. The main process writes the HTML to a private temporary folder
 * and loads that file: no path or URL from a web page ever reaches loadURL.
 *
 * Only types come from 'electron' here, so the logic runs (and is tested) without Electron's binary; main.ts
 * passes the real BrowserWindow and session.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BrowserWindowConstructorOptions, PrintToPDFOptions, Session, WebContents } from 'electron';
import { VetbenchError } from '../../engine/errors.js';
import { MM_PER_INCH, REPORT_PAGE, type PdfRenderer } from '../report/pdf-renderer.js';
import { denyAllPermissions } from './security.js';

/** The session report windows print in; without a "persist:" prefix it lives in memory only. */
export const REPORT_PDF_PARTITION = 'vetbench-report-pdf';

/** Loading and printing a large report takes seconds; a minute means something is stuck. */
export const DEFAULT_PDF_TIMEOUT_MS = 60_000;

/** What printing needs of a BrowserWindow: the app passes real ones, tests fake ones. */
export interface PdfWindow {
  readonly webContents: Pick<WebContents, 'loadURL' | 'printToPDF'>;
  isDestroyed(): boolean;
  destroy(): void;
}

export interface ElectronPdfOptions {
  /** `new BrowserWindow(options)` in the app. */
  readonly openWindow: (options: BrowserWindowConstructorOptions) => PdfWindow;
  /** Limit for loading plus printing one report. */
  readonly timeoutMs?: number;
  /** Where the private folders holding the HTML are made (the system's temporary folder by default). */
  readonly tempRoot?: string;
}

export interface ElectronPdfRenderer {
  readonly renderPdf: PdfRenderer;
  /** True only for the file URL of a report being printed now: the one request the print session allows. */
  allows(url: string): boolean;
}

/** The hidden window a report is printed in: sandboxed, isolated, no Node, no preload, no script. */
export function reportWindowOptions(): BrowserWindowConstructorOptions {
  return {
    show: false,
    width: 800,
    height: 1100,
    webPreferences: {
      partition: REPORT_PDF_PARTITION,
      sandbox: true,
      contextIsolation: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      javascript: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      spellcheck: false,
      devTools: false,
      // a hidden window must still lay out and paint at full speed for printing
      backgroundThrottling: false,
    },
  };
}

/** printToPDF options giving the page Playwright prints in the CLI (REPORT_PAGE; Electron wants inches). */
export function reportPrintOptions(): PrintToPDFOptions {
  const inches = (mm: number): number => mm / MM_PER_INCH;
  const { marginsMm } = REPORT_PAGE;
  return {
    pageSize: REPORT_PAGE.format,
    printBackground: REPORT_PAGE.printBackground,
    margins: {
      top: inches(marginsMm.top),
      bottom: inches(marginsMm.bottom),
      left: inches(marginsMm.left),
      right: inches(marginsMm.right),
    },
    displayHeaderFooter: REPORT_PAGE.displayHeaderFooter,
    headerTemplate: REPORT_PAGE.headerTemplate,
    footerTemplate: REPORT_PAGE.footerTemplate,
    preferCSSPageSize: false,
  };
}

/** The print session: every permission denied, every request cancelled but the report being printed. */
export function guardPdfSession(
  session: Pick<
    Session,
    | 'webRequest'
    | 'setPermissionRequestHandler'
    | 'setPermissionCheckHandler'
    | 'setDevicePermissionHandler'
    | 'setDisplayMediaRequestHandler'
  >,
  allows: (url: string) => boolean,
): void {
  denyAllPermissions(session as Session);
  session.webRequest.onBeforeRequest((details, callback) => callback({ cancel: !allows(details.url) }));
}

/**
 * The file a file: URL names, comparable however the URL was escaped (Chromium and Node may escape it, or
 * case a Windows drive letter, differently); null for any other URL.
 */
function fileKey(url: string): string | null {
  try {
    const path = fileURLToPath(url);
    return process.platform === 'win32' ? path.toLowerCase() : path;
  } catch {
    return null;
  }
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Rejects with `onTimeout()` when `work` has not settled within `ms`. */
async function within<T>(work: Promise<T>, ms: number, onTimeout: () => VetbenchError): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Loads the report file, then prints it; failures of either step become VetbenchErrors that say which. */
async function loadAndPrint(window: PdfWindow, url: string): Promise<Uint8Array> {
  try {
    await window.webContents.loadURL(url);
  } catch (e) {
    throw new VetbenchError(
      'report-pdf-load-failed',
      `the report could not be loaded for printing: ${messageOf(e)}`,
      'Export the report as HTML instead, and report this with the steps that led to it.',
    );
  }
  let pdf: Uint8Array;
  try {
    pdf = await window.webContents.printToPDF(reportPrintOptions());
  } catch (e) {
    throw new VetbenchError(
      'report-pdf-failed',
      `printing the report to PDF failed: ${messageOf(e)}`,
      'Export the report as HTML instead, and report this with the steps that led to it.',
    );
  }
  return new Uint8Array(pdf.buffer, pdf.byteOffset, pdf.byteLength);
}

export function createElectronPdfRenderer(options: ElectronPdfOptions): ElectronPdfRenderer {
  const timeoutMs = options.timeoutMs ?? DEFAULT_PDF_TIMEOUT_MS;
  /** fileKey of the reports being printed now. */
  const printing = new Set<string>();
  const renderPdf: PdfRenderer = async (html) => {
    const folder = await mkdtemp(join(options.tempRoot ?? tmpdir(), 'vetbench-report-pdf-'));
    const file = join(folder, 'report.html');
    const url = pathToFileURL(file).href;
    const key = fileKey(url) ?? file;
    let window: PdfWindow | null = null;
    try {
      await writeFile(file, html, { encoding: 'utf8', mode: 0o600 });
      printing.add(key);
      window = options.openWindow(reportWindowOptions());
      return await within(
        loadAndPrint(window, url),
        timeoutMs,
        () =>
          new VetbenchError(
            'report-pdf-timeout',
            `printing the report to PDF took longer than ${timeoutMs / 1000} s and was stopped`,
            'Report fewer runs at once, or export the report as HTML and print it from a browser.',
          ),
      );
    } finally {
      printing.delete(key);
      if (window !== null && !window.isDestroyed()) window.destroy();
      await rm(folder, { recursive: true, force: true });
    }
  };
  return {
    renderPdf,
    allows: (url) => {
      const key = fileKey(url);
      return key !== null && printing.has(key);
    },
  };
}
