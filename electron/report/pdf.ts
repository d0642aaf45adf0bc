import { existsSync } from 'node:fs';
import { chromium, type Page } from 'playwright-core';
import { VetbenchError } from '../../engine/errors.js';
import { REPORT_PAGE } from './pdf-renderer.js';

/** Chromium used for PDFs outside the app: VETBENCH_CHROMIUM, else Debian's /usr/bin/chromium. */
export function chromiumPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.VETBENCH_CHROMIUM ?? '/usr/bin/chromium';
}

/** page.pdf options for REPORT_PAGE (the app's Electron renderer prints the same page). */
export function playwrightPdfOptions(): NonNullable<Parameters<Page['pdf']>[0]> {
  const { marginsMm } = REPORT_PAGE;
  return {
    format: REPORT_PAGE.format,
    printBackground: REPORT_PAGE.printBackground,
    margin: {
      top: `${marginsMm.top}mm`,
      bottom: `${marginsMm.bottom}mm`,
      left: `${marginsMm.left}mm`,
      right: `${marginsMm.right}mm`,
    },
    displayHeaderFooter: REPORT_PAGE.displayHeaderFooter,
    headerTemplate: REPORT_PAGE.headerTemplate,
    footerTemplate: REPORT_PAGE.footerTemplate,
  };
}

/**
 * Prints a self-contained HTML report to PDF with headless Chromium (Playwright), on the page REPORT_PAGE
 * describes. Every network request is refused: the report must not need one. The CLI and serve mode use it
 * (a PdfRenderer); the desktop app prints with Electron instead (electron/app/electron-pdf.ts).
 */
export async function renderPdf(
  html: string,
  options: { readonly executablePath?: string } = {},
): Promise<Uint8Array> {
  const executablePath = options.executablePath ?? chromiumPath();
  if (!existsSync(executablePath)) {
    throw new VetbenchError(
      'chromium-missing',
      `PDF rendering needs Chromium, and ${executablePath} does not exist`,
      'Install it (Debian/Ubuntu: apt-get install chromium), point VETBENCH_CHROMIUM at a Chromium binary, or write HTML instead (--out report.html).',
    );
  }
  const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage();
    await page.route('**/*', (route) => route.abort());
    await page.setContent(html, { waitUntil: 'load' });
    const pdf = await page.pdf(playwrightPdfOptions());
    return new Uint8Array(pdf);
  } finally {
    await browser.close();
  }
}
