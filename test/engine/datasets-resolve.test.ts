import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DEMO_DATASET_VERSION } from '../../engine/demo/demo-dataset.js';
import { defaultDemoRoot, resolveDataset } from '../../engine/datasets/resolve.js';
import { projectRoot } from '../../engine/paths.js';

// Generating the real demo dataset takes tens of seconds of CPU; resolveDataset's job is only to decide when to
// generate, so the generator is replaced by one that writes a VERSION file and counts its calls.
const generator = vi.hoisted(() => ({ calls: [] as string[] }));
vi.mock('../../engine/demo/demo-dataset.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../engine/demo/demo-dataset.js')>();
  const { mkdir, writeFile } = await import('node:fs/promises');
  return {
    ...original,
    writeDemoDataset: async (root: string) => {
      generator.calls.push(root);
      await mkdir(root, { recursive: true });
      await writeFile(`${root}/VERSION`, `${original.DEMO_DATASET_VERSION}\n`);
      return { images: 3720, digest: 'test' };
    },
  };
});

let scratch: string;

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'vetbench-resolve-'));
});

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

describe('resolveDataset', () => {
  it('"demo" lives in <projectRoot>/datasets/demo', () => {
    expect(defaultDemoRoot()).toBe(join(projectRoot(), 'datasets', 'demo'));
  });

  it('generates the demo dataset when it is missing, reuses it, and regenerates a stale version', async () => {
    const demoRoot = join(scratch, 'demo');
    const first = await resolveDataset('demo', { demoRoot });
    expect(first).toEqual({
      root: demoRoot,
      manifest: null,
      builtIn: 'demo',
      generated: true,
      generatedImages: 3720,
    });
    expect(readFileSync(join(demoRoot, 'VERSION'), 'utf8').trim()).toBe(String(DEMO_DATASET_VERSION));

    const second = await resolveDataset('demo', { demoRoot });
    expect(second.generated).toBe(false);
    expect(generator.calls).toEqual([demoRoot]);

    writeFileSync(join(demoRoot, 'VERSION'), `${DEMO_DATASET_VERSION + 1}\n`);
    const third = await resolveDataset('demo', { demoRoot });
    expect(third.generated).toBe(true);
    expect(generator.calls).toEqual([demoRoot, demoRoot]);
  });

  it('a path is a folder, or a CSV manifest in its folder; a missing one is a clear error', async () => {
    const folder = join(scratch, 'mine');
    mkdirSync(folder);
    writeFileSync(join(folder, 'list.csv'), 'a.png,x\n');
    expect(await resolveDataset(folder)).toMatchObject({
      root: folder,
      manifest: null,
      builtIn: null,
      generated: false,
    });
    expect(await resolveDataset(join(folder, 'list.csv'))).toMatchObject({
      root: folder,
      manifest: join(folder, 'list.csv'),
    });
    await expect(resolveDataset(join(scratch, 'nope'))).rejects.toMatchObject({
      code: 'dataset-not-found',
      hint: expect.stringMatching(/demo/) as unknown as string,
    });
  });
});
