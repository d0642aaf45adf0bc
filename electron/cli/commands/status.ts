import type { Command } from 'commander';
import type { ModelDossier } from '../../api/contract.js';
import { VetbenchError } from '../../../engine/errors.js';
import { modelDossiers } from '../../report/model-dossier.js';
import { openExistingProject, projectPath } from '../../store/open-project.js';
import { emit } from '../output.js';

/** A dossier as text: headline, then each check and the hardening, then the thresholds. */
export function dossierLines(d: ModelDossier): string[] {
  const t = d.thresholds;
  return [
    `model ${d.modelId} ${d.modelName} (SHA-256 ${d.fingerprint})`,
    `  verdict: ${d.headline}`,
    ...d.evidence.map((e) => `  ${e.flagged ? '!' : '-'} ${e.text} (run ${e.runId})`),
    ...(d.hardening ? [`  hardening: ${d.hardening.text}`] : []),
    `  thresholds: flagged at ASR >= ${t.suspectAsr}%; hardened below ${t.hardenedAsr}% ASR with at most ${t.maxCaDrop} CA points lost; finished runs only`,
  ];
}

/** The dossiers of `--model` (id or name), or of every model. */
function chosen(dossiers: readonly ModelDossier[], model: string | undefined): ModelDossier[] {
  if (model === undefined) return [...dossiers];
  const found = dossiers.filter((d) => String(d.modelId) === model || d.modelName === model);
  if (found.length === 0)
    throw new VetbenchError(
      'model-not-found',
      `no model '${model}' in this project`,
      `Use a model id or name from: ${dossiers.map((d) => `${d.modelId} ${d.modelName}`).join(', ') || '(none: import one first)'}.`,
    );
  return found;
}

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description(
      "each model's vet status: not vetted, no evidence, backdoor suspected (class, evidence, thresholds) or hardened (prompt file, ASR and CA before -> after)",
    )
    .option('--project <file>', 'project file (default: default.vbproj in the user data folder)')
    .option('--model <id|name>', 'only this model')
    .option('--json', 'print JSON')
    .action((opts: { project?: string; model?: string; json?: boolean }) => {
      const store = openExistingProject(opts.project);
      if (!store) {
        emit(
          opts.json === true,
          { project: projectPath(undefined), dossiers: [] },
          () => `No models yet (no project at ${projectPath(undefined)}).`,
        );
        return;
      }
      try {
        const dossiers = chosen(modelDossiers(store), opts.model);
        emit(opts.json === true, { project: store.path, dossiers }, () =>
          dossiers.length === 0
            ? `No models in ${store.path}.`
            : [`${store.path}:`, ...dossiers.flatMap(dossierLines)].join('\n'),
        );
      } finally {
        store.close();
      }
    });
}
