import { readFile, writeFile } from 'node:fs/promises';
import { dirname, extname, resolve } from 'node:path';
import type { Command } from 'commander';
import { VetbenchError } from '../../../engine/errors.js';
import type { ReportInput } from '../../../engine/report/report-input.js';
import { parseReportInputJson } from '../../../engine/report/report-input-schema.js';
import { renderReportHtml } from '../../../engine/report/render-html.js';
import { softwareVersions } from '../../../engine/report/software-versions.js';
import { parseRunIds } from '../../report/from-store.js';
import { renderPdf } from '../../report/pdf.js';
import { storeProjectReport } from '../../report/project-report.js';
import { ProjectStore } from '../../store/project-store.js';

interface ReportCliOptions {
  project?: string;
  runs: string;
  input?: string;
  title?: string;
  summary?: string;
  out: string;
}

/** A ReportInput JSON file, images given as base64 or paths relative to the file. */
export async function readReportInputFile(path: string): Promise<ReportInput> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    throw new VetbenchError(
      'report-input-invalid',
      `cannot read ${path}: ${(e as Error).message}`,
      'Pass a JSON file.',
    );
  }
  const json = parseReportInputJson(raw, path);
  const images = await Promise.all(
    json.images.map(async (img) => {
      const file = img.path === undefined ? null : resolve(dirname(path), img.path);
      const bytes = file
        ? new Uint8Array(
            await readFile(file).catch(() => {
              throw new VetbenchError(
                'report-image-missing',
                `${path}: image '${img.title}' points at ${file}, which cannot be read`,
                'Fix the path (relative to the JSON file) or embed the image as base64.',
              );
            }),
          )
        : new Uint8Array(Buffer.from(img.base64 ?? '', 'base64'));
      const mime =
        img.mime ?? (file && extname(file).toLowerCase() === '.svg' ? 'image/svg+xml' : 'image/png');
      return {
        title: img.title,
        mime,
        bytes,
        ...(img.caption !== undefined ? { caption: img.caption } : {}),
        ...(img.runId !== undefined ? { runId: img.runId } : {}),
      };
    }),
  );
  const { images: _images, createdAt, software, ...rest } = json;
  void _images;
  return {
    ...rest,
    createdAt: createdAt ?? new Date().toISOString(),
    software: { ...softwareVersions(), ...software },
    images,
  } as ReportInput;
}

export function registerReport(program: Command): void {
  program
    .command('report')
    .description(
      'audit report (HTML, or PDF rendered by Chromium) from runs of a project or a report-input JSON',
    )
    .option('--project <file>', 'project file (.vbproj) whose runs are reported')
    .option('--runs <ids|all>', "run ids (e.g. 3,4,7) or 'all'", 'all')
    .option('--input <file>', 'a ReportInput JSON instead of a project (docs/explanations.md)')
    .option('--title <text>', 'report title')
    .option('--summary <text>', 'a verdict paragraph shown at the top')
    .requiredOption('--out <file>', 'report.pdf or report.html')
    .action(async (opts: ReportCliOptions) => {
      if ((opts.project === undefined) === (opts.input === undefined)) {
        throw new VetbenchError(
          'bad-option',
          'give exactly one of --project and --input',
          'Report the runs of a project (--project file --runs all) or a prepared ReportInput (--input file.json).',
        );
      }
      const format = extname(opts.out).toLowerCase();
      if (format !== '.pdf' && format !== '.html') {
        throw new VetbenchError(
          'bad-option',
          `--out must end in .pdf or .html, got '${opts.out}'`,
          'Pass e.g. --out report.pdf.',
        );
      }
      const overrides = {
        ...(opts.title !== undefined ? { title: opts.title } : {}),
        ...(opts.summary !== undefined ? { summary: opts.summary } : {}),
      };
      let input: ReportInput;
      if (opts.project !== undefined) {
        // the project keeps a copy of every report it produced, with the runs it covers
        const store = ProjectStore.open(opts.project, { mustExist: true });
        try {
          const ids = parseRunIds(opts.runs, store);
          const report = await storeProjectReport(store, ids, format === '.pdf' ? 'pdf' : 'html', overrides);
          input = report.input;
          await writeFile(opts.out, report.content);
        } finally {
          store.close();
        }
      } else {
        input = { ...(await readReportInputFile(opts.input!)), ...overrides };
        const html = renderReportHtml(input);
        await writeFile(opts.out, format === '.pdf' ? await renderPdf(html) : html);
      }
      console.log(
        `wrote ${opts.out}: ${input.runs.length} run(s), ${input.metrics.length} metric row(s), ${input.images.length} figure(s)`,
      );
    });
}
