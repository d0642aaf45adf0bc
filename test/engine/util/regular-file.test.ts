import { execFileSync } from 'node:child_process';
import { mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSafetensors } from '../../../engine/clip/safetensors.js';
import { VetbenchError } from '../../../engine/errors.js';
import { readNpy } from '../../../engine/tensor/npy.js';
import { readRegularFile } from '../../../engine/util/regular-file.js';

const dir = mkdtempSync(join(tmpdir(), 'vetbench-regular-'));

async function refusal(promise: Promise<unknown>): Promise<VetbenchError> {
  const e = await promise.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(VetbenchError);
  return e as VetbenchError;
}

describe('only regular files are read where a file is expected', () => {
  it.skipIf(process.platform === 'win32')('refuses a named pipe at once instead of hanging', async () => {
    const fifo = join(dir, 'weights.safetensors');
    execFileSync('mkfifo', [fifo]);
    const started = Date.now();
    for (const read of [readSafetensors(fifo), readNpy(fifo), readRegularFile(fifo)]) {
      const e = await refusal(read);
      expect(e.code).toBe('file-not-regular');
      expect(e.message).toContain(`${fifo} is a named pipe`);
    }
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it.skipIf(process.platform === 'win32')('refuses a device', async () => {
    expect((await refusal(readRegularFile('/dev/zero'))).message).toMatch(/is a device/);
  });

  it('follows a symlink to a regular file, refuses folders and reports missing files', async () => {
    const file = join(dir, 'real.bin');
    writeFileSync(file, 'abc');
    const link = join(dir, 'link.bin');
    symlinkSync(file, link);
    expect((await readRegularFile(link)).toString()).toBe('abc');
    expect((await refusal(readRegularFile(dir))).code).toBe('file-is-directory');
    expect((await refusal(readRegularFile(join(dir, 'absent')))).code).toBe('file-not-found');
    expect((await refusal(readRegularFile(file, { maxBytes: 2 }))).code).toBe('file-too-large');
  });
});
