import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { VetbenchError } from '../../engine/errors.js';

/** Chromium used for PDFs outside the app: VETBENCH_CHROMIUM, else Debian's /usr/bin/chromium. */
export function chromiumPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.VETBENCH_CHROMIUM ?? '/usr/bin/chromium';
}

/**
 * Prints a self-contained HTML report to PDF with headless Chromium (Playwright), A4 with backgrounds. Every
 * network request is refused: the report must not need one.
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
    const pdf = await page.pdf({
      format: 'A4',
      printBackground: true,
      margin: { top: '12mm', bottom: '14mm', left: '10mm', right: '10mm' },
      displayHeaderFooter: true,
      headerTemplate: '<span></span>',
      footerTemplate:
        '<div style="font-size:7pt;color:#888;width:100%;text-align:center">page <span class="pageNumber"></span> of <span class="totalPages"></span></div>',
    });
    return new Uint8Array(pdf);
  } finally {
    await browser.close();
  }
}
