import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

// The layers of ARCHITECTURE.md: engine/ imports neither electron/ nor renderer/, the job layer not the CLI,
// the renderer only the API contract and client. ESLint enforces it on .ts files (eslint.config.js); this
// test shows the rule fires, and checks the renderer's .svelte files, which ESLint does not read.
const ROOT = resolve(dirname(new URL(import.meta.url).pathname), '..', '..');

async function lintErrors(filePath: string, code: string): Promise<string[]> {
  const eslint = new ESLint({ cwd: ROOT });
  const [result] = await eslint.lintText(code, { filePath: join(ROOT, filePath) });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

function filesUnder(dir: string, pattern: RegExp): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && pattern.test(e.name))
    .map((e) => join(e.parentPath, e.name));
}

describe('import layers', () => {
  it('ESLint refuses engine -> electron, jobs -> cli and renderer -> store imports, and allows the API', async () => {
    expect(
      await lintErrors(
        'engine/x/probe.ts',
        "import { a } from '../../electron/store/project-store.js';\nexport const b = a;\n",
      ),
    ).toHaveLength(1);
    expect(
      await lintErrors(
        'electron/jobs/kinds/probe.ts',
        "import { a } from '../../cli/cli-args.js';\nexport const b = a;\n",
      ),
    ).toHaveLength(1);
    expect(
      await lintErrors(
        'renderer/src/state/probe.ts',
        "import { a } from '../../../electron/store/project-store.js';\nexport const b = a;\n",
      ),
    ).toHaveLength(1);
    expect(
      await lintErrors(
        'renderer/src/state/probe.ts',
        "import { a } from '../../../engine/errors.js';\nexport const b = a;\n",
      ),
    ).toHaveLength(1);
    expect(
      await lintErrors(
        'renderer/src/state/probe.ts',
        "import { a } from '../../../electron/app/main.js';\nexport const b = a;\n",
      ),
    ).toHaveLength(1);
    expect(
      await lintErrors(
        'renderer/src/state/probe.ts',
        "import { a } from '../../../electron/api/contract.js';\nexport const b = a;\n",
      ),
    ).toEqual([]);
  });

  it('renderer files (.svelte included) import nothing outside renderer/ but electron/api/ and the bridge', () => {
    const outside: string[] = [];
    for (const file of filesUnder(join(ROOT, 'renderer', 'src'), /\.(svelte|ts)$/)) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/(?:import|export)[^'"`;]*?from\s+['"]([^'"]+)['"]/g)) {
        const spec = m[1] as string;
        if (!spec.startsWith('.')) continue;
        const target = relative(ROOT, resolve(dirname(file), spec));
        const allowed =
          target.startsWith('renderer/') ||
          target.startsWith('electron/api/') ||
          target === 'electron/app/bridge.js';
        if (!allowed) outside.push(`${relative(ROOT, file)} -> ${target}`);
      }
    }
    expect(outside).toEqual([]);
  });
});
