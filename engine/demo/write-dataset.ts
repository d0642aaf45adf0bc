import { createHash } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** One generated image with its place in the ImageFolder layout and its caption. */
export interface GeneratedImage {
  readonly split: 'train' | 'test';
  readonly className: string;
  readonly relativePath: string;
  readonly caption: string;
  readonly png: Uint8Array;
}

function csvField(value: string): string {
  return /[",\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/**
 * Writes generated images into `root` (replacing it atomically): `<split>/<class>/*.png`, `captions.csv`
 * (path,label,caption) and `VERSION`. Returns the image count and a content digest.
 */
export async function writeGeneratedDataset(
  root: string,
  images: Iterable<GeneratedImage>,
  version: number | string,
): Promise<{ images: number; digest: string }> {
  const staging = `${root}.staging-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  const digest = createHash('sha256');
  const rows = ['path,label,caption'];
  let count = 0;
  for (const image of images) {
    const file = join(staging, image.relativePath);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, image.png);
    digest.update(image.relativePath).update(image.png);
    rows.push([image.relativePath, image.className, image.caption].map(csvField).join(','));
    count++;
  }
  await writeFile(join(staging, 'captions.csv'), `${rows.join('\n')}\n`);
  await writeFile(join(staging, 'VERSION'), `${version}\n`);
  await rm(root, { recursive: true, force: true });
  await rename(staging, root);
  return { images: count, digest: digest.digest('hex') };
}
