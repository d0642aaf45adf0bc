/**
 * What every PDF renderer of the audit report shares: its signature and the printed page. The app prints with
 * Electron's webContents.printToPDF (electron/app/electron-pdf.ts), the CLI and serve mode with Playwright's
 * Chromium (pdf.ts); both take their page from here so the two PDFs are laid out alike.
 */

/** Prints a self-contained HTML report (no script, no network) to PDF bytes. */
export type PdfRenderer = (html: string) => Promise<Uint8Array>;

/** Page margins in millimetres. */
export interface PageMarginsMm {
  readonly top: number;
  readonly bottom: number;
  readonly left: number;
  readonly right: number;
}

/** A4 with backgrounds, and a footer "page n of m" (Chromium fills the pageNumber/totalPages spans). */
export const REPORT_PAGE = {
  format: 'A4',
  printBackground: true,
  marginsMm: { top: 12, bottom: 14, left: 10, right: 10 } satisfies PageMarginsMm,
  displayHeaderFooter: true,
  headerTemplate: '<span></span>',
  footerTemplate:
    '<div style="font-size:7pt;color:#888;width:100%;text-align:center">page <span class="pageNumber"></span> of <span class="totalPages"></span></div>',
} as const;

export const MM_PER_INCH = 25.4;
