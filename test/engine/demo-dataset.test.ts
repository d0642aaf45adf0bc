import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { renderDemoImage, withArticle } from '../../engine/demo/demo-dataset.js';
import { encodePng } from '../../engine/demo/png.js';
import { DEMO_CLASSES } from '../../engine/demo/shapes.js';
import { decodeImage } from '../../engine/image/decode.js';

describe('demo dataset generator', () => {
  it('draws byte-identical images on every machine (recorded digest of a sample)', () => {
    const h = createHash('sha256');
    DEMO_CLASSES.forEach((cls, c) => {
      for (const split of ['train', 'test'] as const) {
        for (let i = 0; i < 3; i++) {
          const image = renderDemoImage(cls, c, split, i);
          h.update(image.relativePath).update(image.caption).update(image.png);
        }
      }
    });
    // Recorded when version 1 of the generator was written; a change here means the demo model's card is stale.
    expect(h.digest('hex')).toBe('d46b9db1f8503fb85b45830b8e5e938592133a4f9e9d35a05e270f2a01717ef5');
  });

  it('has at least ten classes with natural names and varied images', async () => {
    expect(DEMO_CLASSES.length).toBeGreaterThanOrEqual(10);
    const images = Array.from({ length: 5 }, (_, i) => renderDemoImage(DEMO_CLASSES[0]!, 0, 'train', i));
    expect(new Set(images.map((i) => createHash('sha256').update(i.png).digest('hex'))).size).toBe(5);
    const decoded = await decodeImage(images[0]!.png);
    expect([decoded.width, decoded.height]).toEqual([32, 32]);
    for (const image of images) expect(image.caption).toMatch(/banana/);
  });

  it('writes PNGs that decode to the drawn pixels, and captions with the right article', async () => {
    const rgb = Uint8Array.from({ length: 4 * 3 * 3 }, (_, i) => (i * 37) % 256);
    const decoded = await decodeImage(encodePng(4, 3, rgb));
    expect([...decoded.data]).toEqual([...rgb]);
    expect(withArticle('apple')).toBe('an apple');
    expect(withArticle('red apple')).toBe('a red apple');
  });
});
