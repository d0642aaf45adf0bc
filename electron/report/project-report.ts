import { VetbenchError } from '../../engine/errors.js';
import type { ReportInput } from '../../engine/report/report-input.js';
import { renderReportHtml } from '../../engine/report/render-html.js';
import type { ArtifactInfo } from '../api/contract.js';
import type { ProjectStore } from '../store/project-store.js';
import { reportInputFromStore } from './from-store.js';
import { renderPdf } from './pdf.js';
import type { PdfRenderer } from './pdf-renderer.js';

export type ProjectReportFormat = 'html' | 'pdf';

export interface ProjectReportOptions {
  readonly title?: string;
  readonly summary?: string;
  /** Prints the HTML to PDF: Electron's printToPDF in the app; Playwright's Chromium (the default) elsewhere. */
  readonly renderPdf?: PdfRenderer;
}

export interface StoredProjectReport {
  readonly input: ReportInput;
  /** The file's content (HTML text or PDF bytes), for callers that also write it elsewhere. */
  readonly content: Uint8Array | string;
  readonly artifact: ArtifactInfo & { readonly path: string };
  readonly reportId: number;
}

/**
 * Renders the audit report of some runs of a project (HTML, or PDF through options.renderPdf) and keeps it in the
 * project: an artifact file plus a row of the reports table naming the runs it covers. The CLI (`vetbench
 * report --project`) and the API (`exportReport`) both go through here.
 */
export async function storeProjectReport(
  store: ProjectStore,
  runIds: readonly number[],
  format: ProjectReportFormat,
  options: ProjectReportOptions = {},
): Promise<StoredProjectReport> {
  if (runIds.length === 0) {
    throw new VetbenchError(
      'report-no-runs',
      `${store.info().name} has no runs to report`,
      'Run an evaluation, attack or defense first.',
    );
  }
  const fromStore = await reportInputFromStore(store, runIds);
  const input: ReportInput = {
    ...fromStore,
    ...(options.title !== undefined ? { title: options.title } : {}),
    ...(options.summary !== undefined ? { summary: options.summary } : {}),
  };
  const html = renderReportHtml(input);
  const printPdf = options.renderPdf ?? ((page: string) => renderPdf(page));
  const content = format === 'pdf' ? await printPdf(html) : html;
  const written = await store.writeArtifact(
    null,
    'report',
    `report-${Date.now()}.${format}`,
    content,
    format === 'pdf' ? 'application/pdf' : 'text/html',
  );
  const reportId = store.addReport(input.title ?? `Audit report: ${input.project.name}`, written.id, runIds);
  return { input, content, artifact: store.getArtifact(written.id), reportId };
}
