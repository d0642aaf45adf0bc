import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VetbenchError } from '../../engine/errors.js';
import {
  encodeSafetensors,
  float16Table,
  float32ToBfloat16Bits,
  float32ToFloat16Bits,
  parseSafetensors,
  readSafetensors,
  readSafetensorsHeader,
  sha256File,
  writeSafetensors,
} from '../../engine/clip/safetensors.js';
import { createHash } from 'node:crypto';
import { sharedPath } from '../helpers/shared-folder.js';

const FIXTURE = sharedPath('fixtures', 'clip-tiny-a', 'model.safetensors');

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vetbench-safetensors-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A safetensors file from a raw header object and data bytes, for making broken files. */
function rawFile(header: unknown, data: Uint8Array = new Uint8Array(0), headerText?: string): Uint8Array {
  const json = new TextEncoder().encode(headerText ?? JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function expectVetbenchError(run: () => unknown, code: string, messagePart: RegExp): VetbenchError {
  try {
    run();
  } catch (e) {
    expect(e).toBeInstanceOf(VetbenchError);
    const error = e as VetbenchError;
    expect(error.code).toBe(code);
    expect(error.message).toMatch(messagePart);
    expect(error.hint.length).toBeGreaterThan(10);
    return error;
  }
  throw new Error(`expected a VetbenchError '${code}'`);
}

/** Element-wise equality without vitest's slow deep comparison of large typed arrays. */
function expectSameValues(actual: Float32Array | undefined, expected: Float32Array, label: string): void {
  expect(actual, label).toBeDefined();
  expect(actual?.length, label).toBe(expected.length);
  let differing = 0;
  for (let i = 0; i < expected.length; i++) if (!Object.is(actual?.[i], expected[i])) differing++;
  expect(differing, `${label}: values that differ`).toBe(0);
}

/** Independent float16 decoder (DataView-free arithmetic), to check the lookup table. */
function referenceHalf(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * Math.pow(2, -24);
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * Math.pow(2, exponent - 15) * (1 + fraction / 1024);
}

describe('float16 / bfloat16 conversions', () => {
  it('the float16 table decodes all 65536 bit patterns', () => {
    const table = float16Table();
    const wrong: number[] = [];
    for (let h = 0; h < 65536; h++) {
      // Object.is tells -0 from 0 and treats NaN as equal to NaN.
      if (!Object.is(table[h], referenceHalf(h))) wrong.push(h);
    }
    expect(wrong).toEqual([]);
  });

  it('float32 -> float16 inverts the table for every half (NaN stays NaN)', () => {
    const table = float16Table();
    const wrong: number[] = [];
    for (let h = 0; h < 65536; h++) {
      const value = table[h] as number;
      const bits = float32ToFloat16Bits(value);
      const ok = Number.isNaN(value) ? (bits & 0x7c00) === 0x7c00 && (bits & 0x3ff) !== 0 : bits === h;
      if (!ok) wrong.push(h);
    }
    expect(wrong).toEqual([]);
  });

  it('float32 -> float16 rounds to nearest even, overflows to Inf and underflows to zero', () => {
    expect(float32ToFloat16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie -> even (1.0)
    expect(float32ToFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie -> even (up)
    expect(float32ToFloat16Bits(1 + 2 ** -11 + 2 ** -20)).toBe(0x3c01); // above the tie
    expect(float32ToFloat16Bits(65504)).toBe(0x7bff);
    expect(float32ToFloat16Bits(65519)).toBe(0x7bff);
    expect(float32ToFloat16Bits(65520)).toBe(0x7c00);
    expect(float32ToFloat16Bits(-1e9)).toBe(0xfc00);
    expect(float32ToFloat16Bits(2 ** -25)).toBe(0); // tie between 0 and the smallest subnormal -> 0
    expect(float32ToFloat16Bits(2 ** -25 * 1.5)).toBe(1);
    expect(float32ToFloat16Bits(3 * 2 ** -25)).toBe(2); // tie between 1 and 2 subnormal units -> even
    expect(float32ToFloat16Bits(-0)).toBe(0x8000);
    expect(float32ToFloat16Bits(1e-10)).toBe(0);
  });

  it('float32 -> bfloat16 rounds to nearest even and keeps NaN', () => {
    expect(float32ToBfloat16Bits(1)).toBe(0x3f80);
    expect(float32ToBfloat16Bits(1 + 2 ** -8)).toBe(0x3f80); // tie -> even
    expect(float32ToBfloat16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82); // tie -> even (up)
    expect(float32ToBfloat16Bits(-2)).toBe(0xc000);
    expect(float32ToBfloat16Bits(Infinity)).toBe(0x7f80);
    expect(float32ToBfloat16Bits(NaN) & 0x7fc0).toBe(0x7fc0);
    expect(float32ToBfloat16Bits(3.4e38)).toBe(0x7f80); // rounds past the largest bfloat16
  });
});

describe('reading the tiny CLIP fixture', () => {
  it('reads metadata, names, dtypes and shapes, and hashes the file while reading', async () => {
    const file = await readSafetensors(FIXTURE, { sha256: true });
    expect(file.metadata).toEqual({ format: 'pt', naming: 'openai' });
    expect(file.tensors).toHaveLength(86);
    expect(new Set(file.tensors.map((t) => t.dtype))).toEqual(new Set(['F16']));
    const conv = file.tensors.find((t) => t.name === 'visual.conv1.weight');
    expect(conv?.shape).toEqual([128, 3, 8, 8]);
    expect(conv?.data).toBeInstanceOf(Float32Array);
    expect(conv?.data.length).toBe(128 * 3 * 64);
    const logitScale = file.tensors.find((t) => t.name === 'logit_scale');
    expect(Math.exp(logitScale?.data[0] ?? 0)).toBeCloseTo(74.046, 1);
    const bytes = await readFile(FIXTURE);
    const digest = createHash('sha256').update(bytes).digest('hex');
    expect(file.sha256).toBe(digest);
    expect(await sha256File(FIXTURE)).toBe(digest);
    expect(file.fileBytes).toBe(bytes.length);
  });

  it('reads the header alone', async () => {
    const header = await readSafetensorsHeader(FIXTURE);
    expect(header.entries).toHaveLength(86);
    expect(header.metadata.naming).toBe('openai');
    expect(header.dataStart % 8).toBe(0);
  });

  it('decodes values exactly like an independent float16 decoder', async () => {
    const bytes = await readFile(FIXTURE);
    const parsed = parseSafetensors(bytes, 'fixture');
    const header = await readSafetensorsHeader(FIXTURE);
    const entry = header.entries.find((e) => e.name === 'visual.proj');
    const tensor = parsed.tensors.find((t) => t.name === 'visual.proj');
    if (!entry || !tensor) throw new Error('visual.proj missing');
    const view = new DataView(bytes.buffer, bytes.byteOffset + header.dataStart + entry.dataOffsets[0]);
    for (let i = 0; i < tensor.data.length; i++)
      expect(tensor.data[i]).toBe(referenceHalf(view.getUint16(2 * i, true)));
  });

  it('writes the fixture back bit for bit in F16 and reads it again', async () => {
    const original = await readSafetensors(FIXTURE);
    const path = join(dir, 'fixture-copy.safetensors');
    await writeSafetensors(
      path,
      original.tensors.map((t) => ({ name: t.name, shape: t.shape, data: t.data, dtype: 'F16' as const })),
      { ...original.metadata },
    );
    const copy = await readSafetensors(path);
    expect(copy.metadata).toEqual(original.metadata);
    const byName = new Map(copy.tensors.map((t) => [t.name, t]));
    for (const t of original.tensors) {
      expect(byName.get(t.name)?.shape).toEqual(t.shape);
      expectSameValues(byName.get(t.name)?.data, t.data, t.name);
    }
  });
});

describe('writing', () => {
  const values = Float32Array.from([1.5, -2.25, 3.140625, 0, -0.5, 1024]);

  it('round trips F32, F16 and BF16 with metadata, scalars and empty tensors', async () => {
    const path = join(dir, 'mixed.safetensors');
    await writeSafetensors(
      path,
      [
        { name: 'b.half', shape: [2, 3], data: values, dtype: 'F16' },
        { name: 'a.float', shape: [3, 2], data: values },
        { name: 'c.brain', shape: [6], data: values, dtype: 'BF16' },
        { name: 'scalar', shape: [], data: Float32Array.from([2.5]) },
        { name: 'empty', shape: [0, 4], data: new Float32Array(0) },
      ],
      { format: 'pt', note: 'hello' },
    );
    const file = await readSafetensors(path);
    expect(file.metadata).toEqual({ format: 'pt', note: 'hello' });
    const byName = new Map(file.tensors.map((t) => [t.name, t]));
    expect(byName.get('a.float')).toMatchObject({ dtype: 'F32', shape: [3, 2] });
    expect(byName.get('b.half')).toMatchObject({ dtype: 'F16', shape: [2, 3] });
    expect(byName.get('c.brain')).toMatchObject({ dtype: 'BF16', shape: [6] });
    // These values are exact in all three dtypes (at most 8 significant bits).
    expect(byName.get('a.float')?.data).toEqual(values);
    expect(byName.get('b.half')?.data).toEqual(values);
    expect(byName.get('c.brain')?.data).toEqual(values);
    expect(byName.get('scalar')).toMatchObject({ shape: [], data: Float32Array.from([2.5]) });
    expect(byName.get('empty')?.shape).toEqual([0, 4]);
  });

  it('pads the header with spaces to a multiple of 8 and lays tensors out contiguously, widest dtype first', async () => {
    const bytes = encodeSafetensors(
      [
        { name: 'h', shape: [3], data: values.subarray(0, 3), dtype: 'F16' },
        { name: 'f', shape: [1], data: values.subarray(0, 1) },
      ],
      { k: 'v' },
    );
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(headerLength % 8).toBe(0);
    const headerText = new TextDecoder().decode(bytes.subarray(8, 8 + headerLength));
    expect(headerText).toMatch(/} *$/);
    expect(headerText.trimEnd().length).toBeGreaterThan(headerLength - 8);
    const header = JSON.parse(headerText) as Record<string, { data_offsets: number[] }>;
    expect(Object.keys(header)).toEqual(['__metadata__', 'f', 'h']);
    expect(header.f?.data_offsets).toEqual([0, 4]);
    expect(header.h?.data_offsets).toEqual([4, 10]);
    expect(bytes.length).toBe(8 + headerLength + 10);
  });

  it('replaces an existing file atomically and leaves no temporary files', async () => {
    const sub = await mkdtemp(join(dir, 'atomic-'));
    const path = join(sub, 'w.safetensors');
    await writeSafetensors(path, [{ name: 'x', shape: [1], data: Float32Array.from([1]) }]);
    await writeSafetensors(path, [{ name: 'y', shape: [2], data: Float32Array.from([2, 3]) }]);
    expect(await readdir(sub)).toEqual(['w.safetensors']);
    expect((await readSafetensors(path)).tensors.map((t) => t.name)).toEqual(['y']);
  });

  it('refuses bad tensors before touching the disk', async () => {
    const sub = await mkdtemp(join(dir, 'refuse-'));
    const path = join(sub, 'bad.safetensors');
    await expect(
      writeSafetensors(path, [{ name: 'x', shape: [2, 2], data: new Float32Array(3) }]),
    ).rejects.toMatchObject({ code: 'safetensors-invalid-tensor' });
    await expect(
      writeSafetensors(path, [
        { name: 'x', shape: [1], data: new Float32Array(1) },
        { name: 'x', shape: [1], data: new Float32Array(1) },
      ]),
    ).rejects.toMatchObject({ code: 'safetensors-invalid-tensor' });
    expect(await readdir(sub)).toEqual([]);
  });

  it('reports an unwritable destination as a VetbenchError', async () => {
    await expect(
      writeSafetensors(join(dir, 'no-such-folder', 'x.safetensors'), [
        { name: 'x', shape: [1], data: new Float32Array(1) },
      ]),
    ).rejects.toMatchObject({ code: 'file-unwritable' });
  });
});

describe('other dtypes', () => {
  it('reads F64, I32 and I64 as float32 and refuses unknown dtypes', () => {
    const data = new Uint8Array(8 + 4 + 8);
    const view = new DataView(data.buffer);
    view.setFloat64(0, 0.25, true);
    view.setInt32(8, -7, true);
    view.setBigInt64(12, 123456789n, true);
    const file = parseSafetensors(
      rawFile(
        {
          d: { dtype: 'F64', shape: [1], data_offsets: [0, 8] },
          i: { dtype: 'I32', shape: [1], data_offsets: [8, 12] },
          l: { dtype: 'I64', shape: [1], data_offsets: [12, 20] },
        },
        data,
      ),
      'mixed',
    );
    expect(file.tensors.map((t) => [t.name, t.dtype, t.data[0]])).toEqual([
      ['d', 'F64', 0.25],
      ['i', 'I32', -7],
      ['l', 'I64', 123456792], // nearest float32
    ]);
    for (const dtype of ['F8_E4M3', 'BOOL', 'U8', 'complex']) {
      expectVetbenchError(
        () =>
          parseSafetensors(
            rawFile({ x: { dtype, shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1)),
            'odd',
          ),
        'safetensors-unknown-dtype',
        new RegExp(`'x'.*unknown or unsupported dtype '${dtype}'`),
      );
    }
  });

  it('reads tensors at unaligned offsets (headers from writers that do not pad)', () => {
    const values = Float32Array.from([1, 2, 3]);
    const data = new Uint8Array(1 + 12);
    data.set(new Uint8Array(values.buffer), 1);
    const headerText = JSON.stringify({
      pad: { dtype: 'F16', shape: [0], data_offsets: [0, 0] },
      x: { dtype: 'F32', shape: [3], data_offsets: [1, 13] },
    });
    const bytes = rawFile(null, data, headerText);
    expect(parseSafetensors(bytes, 'unaligned').tensors.find((t) => t.name === 'x')?.data).toEqual(values);
    // A Node Buffer too, whose slice() shares memory instead of copying.
    const fromBuffer = parseSafetensors(Buffer.from(bytes), 'unaligned buffer');
    expect(fromBuffer.tensors.find((t) => t.name === 'x')?.data).toEqual(values);
  });
});

describe('bad files', () => {
  const ok = { dtype: 'F32', shape: [2], data_offsets: [0, 8] };
  const eightBytes = new Uint8Array(8);

  it('a file shorter than 8 bytes', () => {
    expectVetbenchError(
      () => parseSafetensors(new Uint8Array(5), 'short'),
      'safetensors-too-short',
      /5 bytes/,
    );
    expectVetbenchError(
      () => parseSafetensors(new Uint8Array(0), 'empty'),
      'safetensors-too-short',
      /empty or truncated/,
    );
  });

  it('a header length beyond the end of the file', () => {
    const bytes = rawFile({ x: ok }, eightBytes).subarray(0, 20);
    expectVetbenchError(() => parseSafetensors(bytes, 'cut'), 'safetensors-truncated', /truncated/);
  });

  it('an absurd header length', () => {
    const bytes = new Uint8Array(64);
    new DataView(bytes.buffer).setBigUint64(0, 200_000_000n, true);
    expectVetbenchError(
      () => parseSafetensors(bytes, 'huge'),
      'safetensors-header-too-large',
      /200000000 bytes/,
    );
  });

  it('a header that is not JSON, not UTF-8, or not an object', () => {
    expectVetbenchError(
      () => parseSafetensors(rawFile(null, eightBytes, '{"x": '), 'broken'),
      'safetensors-header-not-json',
      /not JSON/,
    );
    const invalidUtf8 = rawFile(null, eightBytes, '{"x":1}');
    invalidUtf8[10] = 0xff;
    expectVetbenchError(() => parseSafetensors(invalidUtf8, 'latin'), 'safetensors-header-not-json', /UTF-8/);
    expectVetbenchError(
      () => parseSafetensors(rawFile([1, 2], eightBytes), 'array'),
      'safetensors-header-not-object',
      /not an object/,
    );
    expectVetbenchError(
      () => parseSafetensors(rawFile(null, eightBytes, '"text"'), 'string'),
      'safetensors-header-not-object',
      /not an object/,
    );
  });

  it('entries missing dtype, shape or data_offsets, or holding malformed values', () => {
    for (const key of ['dtype', 'shape', 'data_offsets']) {
      const entry: Record<string, unknown> = { ...ok };
      delete entry[key];
      expectVetbenchError(
        () => parseSafetensors(rawFile({ x: entry }, eightBytes), 'partial'),
        'safetensors-bad-entry',
        new RegExp(`'x'.*no ${key}`),
      );
    }
    expectVetbenchError(
      () => parseSafetensors(rawFile({ x: 3 }, eightBytes), 'p'),
      'safetensors-bad-entry',
      /'x'/,
    );
    expectVetbenchError(
      () => parseSafetensors(rawFile({ x: { ...ok, shape: [2, -1] } }, eightBytes), 'p'),
      'safetensors-bad-entry',
      /shape \[2,-1\]/,
    );
    expectVetbenchError(
      () => parseSafetensors(rawFile({ x: { ...ok, data_offsets: [0] } }, eightBytes), 'p'),
      'safetensors-bad-entry',
      /data_offsets/,
    );
    expectVetbenchError(
      () => parseSafetensors(rawFile({ __metadata__: { a: 1 }, x: ok }, eightBytes), 'p'),
      'safetensors-bad-metadata',
      /__metadata__/,
    );
  });

  it('offsets outside the data buffer or reversed', () => {
    expectVetbenchError(
      () => parseSafetensors(rawFile({ x: { ...ok, data_offsets: [4, 12] } }, eightBytes), 'out'),
      'safetensors-bad-offsets',
      /'x'.*outside the 8-byte data buffer/,
    );
    expectVetbenchError(
      () => parseSafetensors(rawFile({ x: { ...ok, data_offsets: [8, 0] } }, eightBytes), 'rev'),
      'safetensors-bad-offsets',
      /'x'.*reversed/,
    );
  });

  it('a byte length that does not match shape x dtype size', () => {
    expectVetbenchError(
      () => parseSafetensors(rawFile({ x: { ...ok, shape: [3] } }, new Uint8Array(16)), 'size'),
      'safetensors-size-mismatch',
      /'x' \(F32 \[3\]\) needs 12 bytes but its data_offsets span 8/,
    );
  });

  it('overlapping tensors', () => {
    expectVetbenchError(
      () =>
        parseSafetensors(
          rawFile(
            { a: { ...ok, data_offsets: [0, 8] }, b: { ...ok, data_offsets: [4, 12] } },
            new Uint8Array(12),
          ),
          'overlap',
        ),
      'safetensors-overlap',
      /'a'.*'b'.*overlap/,
    );
  });

  it('recognises PyTorch zip checkpoints and points to the safe reader', () => {
    const zip = new Uint8Array(64);
    zip.set([0x50, 0x4b, 0x03, 0x04]);
    const error = expectVetbenchError(
      () => parseSafetensors(zip, 'ViT-B-32.pt'),
      'safetensors-wrong-format',
      /not a safetensors file/,
    );
    expect(error.hint).toMatch(/vetbench convert <file> --out model\.safetensors/);
    expect(error.hint).not.toMatch(/torch\.load/);
  });

  it('reports missing files and folders as VetbenchErrors', async () => {
    await expect(readSafetensors(join(dir, 'absent.safetensors'))).rejects.toMatchObject({
      code: 'file-not-found',
    });
    await expect(readSafetensors(dir)).rejects.toMatchObject({ code: 'file-is-directory' });
  });

  it('reads a truncated file from disk with the same error', async () => {
    const path = join(dir, 'truncated.safetensors');
    const bytes = await readFile(FIXTURE);
    await writeFile(path, bytes.subarray(0, 4000));
    await expect(readSafetensors(path)).rejects.toMatchObject({ code: 'safetensors-truncated' });
    await expect(readSafetensorsHeader(path)).rejects.toMatchObject({ code: 'safetensors-truncated' });
    await writeFile(path, bytes.subarray(0, bytes.length - 100));
    await expect(readSafetensors(path)).rejects.toMatchObject({ code: 'safetensors-bad-offsets' });
  });
});
