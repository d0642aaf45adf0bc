/**
 * Guards of the suite itself: every test must assert something (test/setup/every-test-asserts.ts is loaded
 * for every file), and no test or bench script names a folder of one machine: they resolve paths from the
 * repository root (`../shared` beside it), os.tmpdir() or the repository's own cache folder.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/shared-folder.js';

function filesUnder(dir: string, extensions: readonly string[]): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && extensions.some((x) => e.name.endsWith(x)))
    .map((e) => join(e.parentPath, e.name));
}

// A string literal that starts at a machine's workspace, home or temporary folder (built from parts so this
// file does not match itself). System programs (/usr/bin/chromium) and deliberately foreign paths
// (/etc/passwd in the path-traversal tests) are not folders of the machine the suite runs on.
const MACHINE_FOLDERS = ['work', 'tmp', 'home', 'root', 'Users', 'mnt'];
const ABSOLUTE_LITERAL = new RegExp(`(['"\`])/(${MACHINE_FOLDERS.join('|')})/`);

describe('test hygiene', () => {
  it('runs every test with expect.hasAssertions() (a test that asserts nothing fails)', () => {
    expect(expect.getState().isExpectingAssertions).toBe(true);
  });

  it('has no absolute paths of one machine in tests or bench scripts', () => {
    const files = [
      ...filesUnder(join(REPO_ROOT, 'test'), ['.ts', '.js']),
      ...filesUnder(join(REPO_ROOT, 'bench'), ['.js', '.ts', '.py']),
    ];
    expect(files.length).toBeGreaterThan(50);
    const offending = files.flatMap((file) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .flatMap((line, i) =>
          ABSOLUTE_LITERAL.test(line) ? [`${relative(REPO_ROOT, file)}:${i + 1}: ${line.trim()}`] : [],
        ),
    );
    expect(offending, 'resolve from the repository root, os.tmpdir() or .vetbench-cache instead').toEqual([]);
  });
});
