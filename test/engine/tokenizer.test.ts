import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ClipTokenizer, EOT_TOKEN, SOT_TOKEN, cleanText } from '../../engine/clip/tokenizer.js';

interface TokenizerFixture {
  vocab_file: string;
  context_length: number;
  sot: number;
  eot: number;
  cases: { text: string; ids: number[] }[];
}

const fixture = JSON.parse(
  readFileSync(new URL('../../../shared/fixtures/tokenizer.json', import.meta.url), 'utf8'),
) as TokenizerFixture;
const shippedVocabPath = fileURLToPath(new URL('../../models/bpe_simple_vocab_16e6.txt.gz', import.meta.url));
const tokenizer = ClipTokenizer.default();
const CONTEXT = 77;

/**
 * Extra reference ids for corners the fixture does not cover, produced by OpenAI's simple_tokenizer.py
 * (with ftfy 6.3.1 and regex 2026.9.29; ftfy leaves every one of these strings unchanged).
 */
const EXTRA_REFERENCE_CASES: { text: string; ids: number[]; why: string }[] = [
  {
    why: "case-insensitive 's also takes U+017F (long s), even inside the special-token pattern",
    text: "it'\u017f <|\u017ftartoftext|>",
    ids: [49406, 585, 6, 129, 379, 27, 91, 129, 123, 2002, 6659, 18169, 91, 285, 49407],
  },
  {
    why: 'U+0345 matches no branch of the split pattern and is dropped',
    text: 'ab\u0345cd',
    ids: [49406, 3937, 4480, 49407],
  },
  {
    why: 'contractions after lowercasing',
    text: "dog's 'S 'LL we'VE",
    ids: [49406, 1929, 568, 568, 1342, 649, 1200, 49407],
  },
  {
    why: 'unicode white space separates words',
    text: 'x\u00a0y\u3000z\u2028w',
    ids: [49406, 343, 344, 345, 342, 49407],
  },
  {
    why: 'double and numeric entities, legacy names without ";", dropped control references',
    text: '&amp;lt;b&amp;gt; &#39;s &#x1F34C; &#128; &ampx &#1;',
    ids: [49406, 283, 321, 285, 568, 44987, 6309, 261, 343, 49407],
  },
  {
    why: 'every \\p{N} character is a piece of its own',
    text: '1,000,000 \u00bd \u00b2 \u00b3 \u0663 \u{1d7d9} \u2177',
    ids: [
      49406, 272, 267, 271, 271, 271, 267, 271, 271, 271, 33613, 41175, 126, 367, 149, 352, 6874, 253, 503,
      158, 227, 371, 49407,
    ],
  },
  {
    why: 'NFC composes e + combining acute',
    text: '\u00c5NGSTR\u00d6M e\u0301 \u03a9',
    ids: [49406, 23176, 10352, 807, 7255, 332, 4166, 38065, 49407],
  },
  { why: 'white space only', text: '   \t\n ', ids: [49406, 49407] },
  {
    why: 'zero-width space is a symbol, not white space',
    text: 'a\u200bb',
    ids: [49406, 320, 9844, 321, 49407],
  },
  {
    why: 'emoji with ZWJ, variation selector and skin tone',
    text: '\u{1f3f3}\ufe0f\u200d\u{1f308} \u{1f44d}\u{1f3fd} #1!!',
    ids: [49406, 32610, 43722, 258, 272, 748, 49407],
  },
  {
    why: 'full lowercase mapping (dotted I, final sigma) and sharp s',
    text: '\u0130stanbul \u03a3\u039f\u03a6\u039f\u03a3 stra\u00dfe',
    ids: [
      49406, 328, 16384, 11231, 139, 225, 138, 123, 139, 228, 138, 123, 139, 480, 1894, 127, 253, 324, 49407,
    ],
  },
  {
    why: 'special strings in the text become special ids',
    text: '<|endoftext|><|startoftext|>x',
    ids: [49406, 49407, 49406, 343, 49407],
  },
];

/** Index of the largest value, first one on ties (as torch.argmax picks the EOT position in CLIP). */
function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if ((values[i] as number) > (values[best] as number)) best = i;
  return best;
}

function row(batch: Int32Array, index: number, contextLength = CONTEXT): number[] {
  return Array.from(batch.subarray(index * contextLength, (index + 1) * contextLength));
}

function padded(ids: readonly number[], contextLength = CONTEXT): number[] {
  return [...ids, ...new Array<number>(contextLength - ids.length).fill(0)];
}

describe('ClipTokenizer vocabulary', () => {
  it('has the CLIP size and special ids the fixture uses', () => {
    expect(tokenizer.vocabSize).toBe(49408);
    expect(SOT_TOKEN).toBe(fixture.sot);
    expect(EOT_TOKEN).toBe(fixture.eot);
    expect(fixture.context_length).toBe(CONTEXT);
    expect(tokenizer.encodeText('<|startoftext|>')).toEqual([SOT_TOKEN]);
    expect(tokenizer.encodeText('<|endoftext|>')).toEqual([EOT_TOKEN]);
  });

  it('puts byte symbols first, in bytes_to_unicode order', () => {
    expect(tokenizer.decode([0])).toBe('!');
    expect(tokenizer.decode([93])).toBe('~');
    // id 256 is '!' + '</w>', which decodes to '! '
    expect(tokenizer.decode([256])).toBe('! ');
  });

  it('caches one instance per vocabulary file', () => {
    expect(ClipTokenizer.load()).toBe(tokenizer);
    expect(ClipTokenizer.load(shippedVocabPath)).toBe(ClipTokenizer.load(shippedVocabPath));
  });

  it('reports a missing vocabulary file clearly', () => {
    expect(() => ClipTokenizer.load('/nonexistent/bpe.txt.gz')).toThrow(
      /Could not read the CLIP BPE vocabulary/,
    );
  });
});

describe('ClipTokenizer matches the OpenAI reference ids', () => {
  it.each(fixture.cases.map((c, index) => ({ ...c, index })))('fixture case $index', ({ text, ids }) => {
    expect(tokenizer.tokenize(text)).toEqual(ids);
  });

  it.each(EXTRA_REFERENCE_CASES)('$why', ({ text, ids }) => {
    expect(tokenizer.tokenize(text)).toEqual(ids);
  });

  it('covers every fixture case', () => {
    expect(fixture.cases.length).toBeGreaterThanOrEqual(31);
  });
});

describe('cleaning', () => {
  it('ignores case and white space layout', () => {
    expect(tokenizer.encodeText('  A   Photo\tOF\n a DOG ')).toEqual(
      tokenizer.encodeText('a photo of a dog'),
    );
    expect(cleanText('  A   Photo\tOF\n a DOG ')).toBe('a photo of a dog');
  });

  it('unescapes HTML entities twice', () => {
    expect(cleanText('fish &amp; chips')).toBe('fish & chips');
    expect(cleanText('&amp;lt;b&amp;gt;')).toBe('<b>');
    expect(tokenizer.encodeText('a dog&#39;s toy')).toEqual(tokenizer.encodeText("a dog's toy"));
    expect(tokenizer.encodeText('&lt;|endoftext|&gt;')).toEqual([EOT_TOKEN]);
  });

  it('keeps unicode letters, splits digits, encodes emoji as bytes', () => {
    expect(cleanText('Caf\u0065\u0301')).toBe('caf\u00e9');
    const digits = tokenizer.encodeText('2024');
    expect(digits).toEqual(['2', '0', '2', '4'].flatMap((d) => tokenizer.encodeText(d)));
    expect(digits).toHaveLength(4);
    const banana = tokenizer.encodeText('\u{1f34c}');
    expect(banana.every((id) => id < EOT_TOKEN - 1)).toBe(true);
    expect(tokenizer.decode(banana)).toBe('\u{1f34c} ');
    expect(tokenizer.decode(tokenizer.encodeText('\u65e5\u672c\u8a9e'))).toBe('\u65e5\u672c\u8a9e ');
  });
});

describe('tokenizeBatch', () => {
  const texts = ['a photo of a banana.', '', 'A PHOTO OF A DOG'];
  const batch = tokenizer.tokenizeBatch(texts);

  it('lays rows out contiguously, zero padded to the context length', () => {
    expect(batch).toBeInstanceOf(Int32Array);
    expect(batch.length).toBe(texts.length * CONTEXT);
    texts.forEach((text, index) => expect(row(batch, index)).toEqual(padded(tokenizer.tokenize(text))));
    expect(row(batch, 1).slice(0, 3)).toEqual([SOT_TOKEN, EOT_TOKEN, 0]);
  });

  it('has its argmax at the EOT position of every row', () => {
    const long = fixture.cases.reduce((a, b) => (b.ids.length > a.ids.length ? b : a));
    const all = [...texts, long.text];
    const withLong = tokenizer.tokenizeBatch(all);
    all.forEach((text, index) => {
      const eotPosition = Math.min(tokenizer.tokenize(text).length, CONTEXT) - 1;
      expect(row(withLong, index)[eotPosition]).toBe(EOT_TOKEN);
      expect(argmax(row(withLong, index))).toBe(eotPosition);
    });
  });

  it('truncates long input to the context length with EOT last', () => {
    const long = fixture.cases.find((c) => c.ids.length > CONTEXT);
    expect(long).toBeDefined();
    const { text, ids } = long as { text: string; ids: number[] };
    const truncated = row(tokenizer.tokenizeBatch([text]), 0);
    expect(truncated).toEqual([...ids.slice(0, CONTEXT - 1), EOT_TOKEN]);
    expect(() => tokenizer.tokenizeBatch(['a dog', text], CONTEXT, false)).toThrow(
      /Input 1 is \d+ tokens long, more than the context length 77/,
    );
  });

  it('fits input of exactly the context length without truncating', () => {
    const exact = new Array<string>(CONTEXT - 2).fill('a').join(' ');
    expect(tokenizer.tokenize(exact)).toHaveLength(CONTEXT);
    expect(row(tokenizer.tokenizeBatch([exact], CONTEXT, false), 0)).toEqual(tokenizer.tokenize(exact));
  });

  it('honours other context lengths and rejects impossible ones', () => {
    const short = tokenizer.tokenizeBatch(['a photo of a banana.'], 5);
    expect(Array.from(short)).toEqual([SOT_TOKEN, 320, 1125, 539, EOT_TOKEN]);
    expect(tokenizer.tokenizeBatch([]).length).toBe(0);
    expect(() => tokenizer.tokenizeBatch(['a'], 1)).toThrow(/contextLength/);
  });
});

describe('decode', () => {
  it('round-trips plain lowercase text, one space after each word', () => {
    for (const text of [
      'a photo of a banana',
      'supercalifragilisticexpialidocious',
      'the plushie crash helmet',
    ]) {
      expect(tokenizer.decode(tokenizer.encodeText(text))).toBe(`${text} `);
    }
  });

  it('spells out special tokens and rejects unknown ids', () => {
    expect(tokenizer.decode(tokenizer.tokenize('a dog'))).toBe('<|startoftext|>a dog <|endoftext|>');
    expect(() => tokenizer.decode([49408])).toThrow(/outside the CLIP vocabulary/);
  });
});

describe('speed', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'vetbench-tokenizer-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('loads a vocabulary in under 300 ms', () => {
    // A copy under a new path is not in the per-file cache, so this times a real load.
    const copy = join(scratch, 'bpe_simple_vocab_16e6.txt.gz');
    copyFileSync(shippedVocabPath, copy);
    const start = performance.now();
    const fresh = ClipTokenizer.load(copy);
    const elapsed = performance.now() - start;
    expect(fresh).not.toBe(tokenizer);
    expect(fresh.tokenize(fixture.cases[0]?.text ?? '')).toEqual(fixture.cases[0]?.ids);
    expect(elapsed).toBeLessThan(300);
  });

  it('tokenizes 10,000 short prompts in well under a second', () => {
    const classes = ['banana', 'samoyed', 'accordion', 'tench', 'goldfish', 'jack-o-lantern', 'hard disc'];
    const prompts = Array.from(
      { length: 10_000 },
      (_, i) => `a photo of a ${classes[i % classes.length]}, number ${i}.`,
    );
    const start = performance.now();
    const batch = tokenizer.tokenizeBatch(prompts);
    const elapsed = performance.now() - start;
    expect(batch.length).toBe(prompts.length * CONTEXT);
    expect(elapsed).toBeLessThan(500);
  });
});
