import { existsSync } from 'node:fs';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { VetbenchError } from '../../../engine/errors.js';
import { DEFENSES } from '../../../engine/methods/registry.js';
import type { FamilyProbeReport } from '../../../engine/scan/family-probe.js';
import { chromiumPath } from '../../report/pdf.js';
import { modelDossiers } from '../../report/model-dossier.js';
import { storeProjectReport } from '../../report/project-report.js';
import type { RunSummary, StartRunRequest } from '../../api/contract.js';
import { followRun } from '../../jobs/follow-run.js';
import { JobHost } from '../../jobs/job-host.js';
import { userDataFolder } from '../../store/default-project.js';
import { importDatasetInto, importModelInto } from '../../store/imports.js';
import { openProject } from '../../store/open-project.js';
import type { ProjectStore } from '../../store/project-store.js';

/** The story's target class and seed (docs/attacks.md uses the same). */
const TARGET = 'banana';
const SEED = 1;

function pct(v: number | undefined): string {
  return v === undefined ? '-' : `${v.toFixed(2)}%`;
}

/** The runs this demo made, in order: its report covers these only, not other runs of the project. */
const demoRunIds: number[] = [];

async function runStep(host: JobHost, title: string, request: StartRunRequest): Promise<RunSummary> {
  process.stderr.write(`\n== ${title}\n`);
  const queued = host.submit({ ...request, params: request.params ?? {} });
  demoRunIds.push(queued.id);
  const run = await followRun(host, queued.id);
  if (run.status !== 'done')
    throw new VetbenchError(
      run.error?.code ?? 'demo-step-failed',
      `demo step "${title}" (run ${run.id}) ended ${run.status}${run.error ? `: ${run.error.message}` : ''}`,
      run.error?.hint ?? `Resume it with: vetbench resume ${run.id} --project <file>`,
    );
  return run;
}

function artifactOf(store: ProjectStore, runId: number, kind: string): number {
  const a = store.listArtifacts(runId).find((x) => x.kind === kind);
  if (!a)
    throw new VetbenchError(
      'demo-artifact-missing',
      `run ${runId} wrote no ${kind}`,
      'This is a bug; report it.',
    );
  return a.id;
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description(
      'the whole story on the built-in demo, headless, into a project: clean CA, implant BadNet, measure ASR, scan both models without the trigger, harden with RVPT, measure again, export the hardened prompts, explain (Grad-CAM, PR curves), write the audit report',
    )
    .option(
      '--project <file>',
      'project file (default: demo.vbproj in the user data folder, so the story stays out of the default project)',
    )
    .option('--quick', 'one epoch of poisoning and of RVPT, 4 shots (a smoke run, weaker numbers)')
    .action(async (opts: { project?: string; quick?: boolean }) => {
      const store = openProject(opts.project ?? join(userDataFolder(), 'demo.vbproj'));
      const host = new JobHost(store);
      host.start();
      try {
        process.stderr.write(`Project: ${store.path}\n`);
        const model = await importModelInto(store, 'demo');
        const dataset = await importDatasetInto(store, 'demo', {
          onGenerated: (root, images) =>
            process.stderr.write(`Generated the demo dataset (${images} images) in ${root}\n`),
        });
        const base = { modelId: model.id, datasetId: dataset.id, seed: SEED };
        const lines: string[] = [];

        const clean = await runStep(host, '1. clean accuracy of the demo model', {
          ...base,
          kind: 'eval',
          method: 'backdoor-eval',
          params: {},
        });
        lines.push(`clean model:       CA ${pct(clean.finalMetrics.ca)}   (run ${clean.id})`);

        const attack = await runStep(host, `2. implant a BadNet backdoor (target '${TARGET}')`, {
          ...base,
          kind: 'attack',
          method: 'badnet',
          target: TARGET,
          params: opts.quick ? { epochs: 1 } : {},
        });
        const backdoored = store.listModels().find((m) => m.sourceRunId === attack.id)!;
        const trigger = { source: 'artifact' as const, artifactId: artifactOf(store, attack.id, 'trigger') };

        const measured = await runStep(host, '3. attack success of the backdoored model', {
          ...base,
          modelId: backdoored.id,
          kind: 'eval',
          method: 'backdoor-eval',
          target: TARGET,
          trigger,
          params: {},
        });
        lines.push(
          `backdoored model:  CA ${pct(measured.finalMetrics.ca)}  ASR ${pct(measured.finalMetrics.asr)}   (runs ${attack.id}, ${measured.id})`,
        );

        // Vetting without the trigger: the family probe on the clean and on the backdoored model.
        const probeLines: string[] = [];
        for (const [who, modelId] of [
          ['clean', model.id],
          ['backdoored', backdoored.id],
        ] as const) {
          // The backdoored model is compared with the clean one it came from, as an analyst would with the
          // upstream checkpoint; the clean model has nothing to compare with.
          const against = who === 'backdoored';
          const probe = await runStep(
            host,
            `4. scan the ${who} model without its trigger (known-family probe${against ? ', against the clean model' : ''})`,
            {
              ...base,
              modelId,
              kind: 'scan',
              method: 'family-probe',
              params: against ? { referenceModel: model.id } : {},
              label: `Known-family probe, ${who} model${against ? ' against the clean model' : ''}`,
            },
          );
          const report = JSON.parse(
            await readFile(store.getArtifact(artifactOf(store, probe.id, 'json')).path, 'utf8'),
          ) as FamilyProbeReport;
          probeLines.push(
            report.suspect
              ? `${who}: class '${report.suspect.name}' flagged, ${pct(100 * report.suspect.share)} of the other classes' images under ${report.suspect.probe} (run ${probe.id})`
              : `${who}: no evidence, largest share under a probe ${pct(100 * report.score)} (run ${probe.id})`,
          );
        }
        lines.push(`scan (no trigger): ${probeLines.join('; ')}`);

        if (!DEFENSES.some((d) => d.id === 'rvpt')) {
          lines.push('RVPT: not available yet in this build (engine/defenses has no rvpt registered)');
        } else {
          const defense = await runStep(
            host,
            `5. harden with RVPT (${opts.quick ? 4 : 16} clean shots per class)`,
            {
              ...base,
              modelId: backdoored.id,
              kind: 'defense',
              method: 'rvpt',
              target: TARGET,
              trigger,
              params: opts.quick ? { shots: 4, epochs: 1 } : {},
            },
          );
          const prompts = artifactOf(store, defense.id, 'prompt');
          const hardened = await runStep(host, '6. attack success with the hardened prompts', {
            ...base,
            modelId: backdoored.id,
            kind: 'eval',
            method: 'backdoor-eval',
            target: TARGET,
            trigger,
            promptsArtifactId: prompts,
            params: {},
          });
          lines.push(
            `with RVPT prompts: CA ${pct(hardened.finalMetrics.ca)}  ASR ${pct(hardened.finalMetrics.asr)}   (runs ${defense.id}, ${hardened.id})`,
          );
          const exported = join(dirname(store.path), `${store.info().name}-rvpt-prompts.safetensors`);
          await copyFile(store.getArtifact(prompts).path, exported);
          lines.push(`hardened prompt file: ${exported}`);

          // The auditor's evidence (METHODS 5), stored as runs so the report shows the figures: where the
          // backdoored model looks on triggered images, with and without the hardened prompts, and how the
          // per-layer perturbation resistivity moves after hardening (triggered images included).
          const explained = {
            ...base,
            modelId: backdoored.id,
            kind: 'explain' as const,
            target: TARGET,
            trigger,
          };
          const camBefore = await runStep(host, '7. Grad-CAM on triggered images: backdoored model', {
            ...explained,
            method: 'gradcam',
            params: { count: 8 },
            label: 'Grad-CAM, backdoored model, triggered images',
          });
          const camAfter = await runStep(host, '8. Grad-CAM on triggered images: with the hardened prompts', {
            ...explained,
            method: 'gradcam',
            promptsArtifactId: prompts,
            params: { count: 8 },
            label: 'Grad-CAM, hardened prompts, triggered images',
          });
          const pr = await runStep(host, '9. perturbation resistivity per layer: backdoored vs hardened', {
            ...explained,
            method: 'pr',
            promptsArtifactId: prompts,
            params: { count: opts.quick ? 48 : 240 },
            label: 'PR per layer, backdoored vs hardened',
          });
          lines.push(
            `explanations:      Grad-CAM runs ${camBefore.id}, ${camAfter.id}; PR curves run ${pr.id}`,
          );
        }
        // The report is kept in the project (artifact + reports row, as `vetbench report --project` does) and
        // copied beside the project file so the analyst finds it without opening the app.
        const runIds = [...demoRunIds];
        // The outcome against the thresholds, not a claim: RVPT on the demo lowers ASR but rarely below 10%.
        const verdict = modelDossiers(store, runIds).find((d) => d.modelId === backdoored.id);
        const summary = verdict ? `Backdoored model: ${verdict.headline}` : undefined;
        if (summary) lines.push(`verdict: ${summary}`);
        const title =
          'Vetbench demo: a BadNet backdoor in the demo CLIP, vetted, then RVPT hardening measured';
        const reportPath = join(dirname(store.path), `${store.info().name}-report.html`);
        const html = await storeProjectReport(store, runIds, 'html', {
          title,
          ...(summary ? { summary } : {}),
        });
        await writeFile(reportPath, html.content);
        lines.push(`audit report: ${reportPath} (kept in the project as ${html.artifact.name})`);
        if (existsSync(chromiumPath())) {
          const pdfPath = reportPath.replace(/\.html$/, '.pdf');
          const pdf = await storeProjectReport(store, runIds, 'pdf', {
            title,
            ...(summary ? { summary } : {}),
          });
          await writeFile(pdfPath, pdf.content);
          lines.push(`audit report (PDF): ${pdfPath}`);
        } else {
          lines.push(
            `no PDF: Chromium is not at ${chromiumPath()} (apt-get install chromium, or set VETBENCH_CHROMIUM)`,
          );
        }
        process.stderr.write(`\n${lines.join('\n')}\n`);
        process.stdout.write(`${store.path}\n`);
      } finally {
        await host.close();
        store.close();
      }
    });
}
