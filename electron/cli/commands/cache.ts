import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { VetbenchError } from '../../../engine/errors.js';
import {
  clearFeatureCache,
  FeatureCacheDb,
  featureCacheBytesFromEnv,
  featureCacheFile,
  featureCacheFolder,
} from '../../store/feature-cache-db.js';
import { projectPath } from '../../store/open-project.js';
import { emit } from '../output.js';

function mib(bytes: number): string {
  return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}

export function registerCache(program: Command): void {
  program
    .command('cache')
    .description(
      "the project's feature cache (image embeddings and class tokens keyed by model, pixels and prompts)",
    )
    .option('--project <file>', 'project file (default: default.vbproj in the user data folder)')
    .option('--stats', 'print entries, size and bound (the default)')
    .option('--clear', 'delete the cache (features are recomputed when next needed)')
    .option('--json', 'print JSON')
    .action((opts: { project?: string; stats?: boolean; clear?: boolean; json?: boolean }) => {
      if (opts.stats && opts.clear)
        throw new VetbenchError('bad-option', '--stats and --clear go separately', 'Pass one of them.');
      const project = projectPath(opts.project);
      const file = featureCacheFile(project);
      if (opts.clear) {
        clearFeatureCache(project);
        emit(opts.json === true, { project, cleared: featureCacheFolder(project) }, () => `cleared ${file}`);
        return;
      }
      if (!existsSync(file)) {
        emit(
          opts.json === true,
          { project, file, entries: 0, bytes: 0, maxBytes: featureCacheBytesFromEnv() },
          () => `no feature cache yet for ${project}`,
        );
        return;
      }
      const cache = FeatureCacheDb.open(file);
      try {
        const s = cache.stats();
        emit(
          opts.json === true,
          { project, ...s },
          () => `${s.file}: ${s.entries} entries, ${mib(s.bytes)} of ${mib(s.maxBytes)}`,
        );
      } finally {
        cache.close();
      }
    });
}
