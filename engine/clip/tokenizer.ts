/**
 * The CLIP byte-level BPE tokenizer, id for id equal to OpenAI's `simple_tokenizer.SimpleTokenizer`
 * (METHODS.md section 1.4). Node has no ftfy, so cleaning is the spec's: HTML-unescape twice, NFC, collapse
 * white space, lowercase. Text that ftfy would rewrite (curly quotes, ligatures, fullwidth forms, control
 * characters, mojibake) can therefore tokenize differently from the Python reference.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { decode as decodeHtmlEntities } from 'html-entities';
import { VetbenchError } from '../errors.js';

export const SOT_TOKEN = 49406;
export const EOT_TOKEN = 49407;
export const DEFAULT_CONTEXT_LENGTH = 77;

const VOCAB_FILE_NAME = 'bpe_simple_vocab_16e6.txt.gz';
/** OpenAI keeps `merges[1 : 49152 - 256 - 2 + 1]`: line 0 is a header, the tail of the file is unused. */
const MERGE_COUNT = 49152 - 256 - 2;
const START_OF_TEXT = '<|startoftext|>';
const END_OF_TEXT = '<|endoftext|>';
const END_OF_WORD = '</w>';
/** Bounds memory when a caller streams many distinct words through one tokenizer. */
const MAX_CACHED_PIECES = 200_000;

/**
 * OpenAI's pre-split pattern (Python `regex`, IGNORECASE) rewritten so that JavaScript splits identically.
 * Text is already lowercase, so the only case folding left that matters is U+017F (long s) folding to 's',
 * spelled out here; JavaScript's own case-insensitive mode would instead count U+0345 as a letter (it folds to
 * iota), where the reference matches it with no branch and so drops it. `\p{White_Space}` is the reference's
 * `\s` (JavaScript's `\s` also matches U+FEFF, which the reference keeps as a symbol).
 */
const PIECE_PATTERN =
  /<\|[s\u017f]tartoftext\|>|<\|endoftext\|>|'[s\u017f]|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\p{White_Space}\p{L}\p{N}\u0345]+/gu;
const WHITESPACE_RUN = /\p{White_Space}+/gu;
/** Python's `str.strip()` also removes the separators U+001C..U+001F. */
// eslint-disable-next-line no-control-regex -- matching those control characters is the point
const EDGE_WHITESPACE = /^[\p{White_Space}\u001c-\u001f]+|[\p{White_Space}\u001c-\u001f]+$/gu;

/**
 * GPT-2's reversible byte -> printable character table. Insertion order matters: it is the order of the
 * first 256 vocabulary entries (printable bytes first, then the rest shifted to U+0100 upwards).
 */
function bytesToUnicode(): Map<number, string> {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const table = new Map<number, string>();
  for (const b of printable) table.set(b, String.fromCharCode(b));
  let shifted = 0;
  for (let b = 0; b < 256; b++) {
    if (!table.has(b)) table.set(b, String.fromCharCode(256 + shifted++));
  }
  return table;
}

/** Python's `html._invalid_charrefs`: C1 references read as Windows-1252, as browsers do. */
// prettier-ignore
const WINDOWS_1252_CHARREFS: ReadonlyMap<number, string> = new Map([
  [0x00, '\ufffd'], [0x0d, '\r'], [0x80, '\u20ac'], [0x81, '\x81'], [0x82, '\u201a'], [0x83, '\u0192'],
  [0x84, '\u201e'], [0x85, '\u2026'], [0x86, '\u2020'], [0x87, '\u2021'], [0x88, '\u02c6'], [0x89, '\u2030'],
  [0x8a, '\u0160'], [0x8b, '\u2039'], [0x8c, '\u0152'], [0x8d, '\x8d'], [0x8e, '\u017d'], [0x8f, '\x8f'],
  [0x90, '\x90'], [0x91, '\u2018'], [0x92, '\u2019'], [0x93, '\u201c'], [0x94, '\u201d'], [0x95, '\u2022'],
  [0x96, '\u2013'], [0x97, '\u2014'], [0x98, '\u02dc'], [0x99, '\u2122'], [0x9a, '\u0161'], [0x9b, '\u203a'],
  [0x9c, '\u0153'], [0x9d, '\x9d'], [0x9e, '\u017e'], [0x9f, '\u0178'],
]);

/** Python's `html._invalid_codepoints`: numeric references to these decode to nothing. */
function isDroppedCodePoint(code: number): boolean {
  return (
    (code >= 0x01 && code <= 0x08) ||
    code === 0x0b ||
    (code >= 0x0e && code <= 0x1f) ||
    (code >= 0x7f && code <= 0x9f) ||
    (code >= 0xfdd0 && code <= 0xfdef) ||
    (code & 0xfffe) === 0xfffe
  );
}

/** Python's `html._charref`: numeric references, or a name of up to 32 characters. */
const CHARREF = /&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)/g;

/**
 * One pass of Python's `html.unescape`. Numeric references follow Python's rules by hand (html-entities keeps
 * control characters and lone surrogates that Python drops or replaces); named ones, including the legacy
 * forms without ';' and the longest-prefix rule, go to html-entities, which agrees with Python on them.
 */
function unescapeHtml(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(CHARREF, (match: string, reference: string) => {
    if (!reference.startsWith('#')) return decodeHtmlEntities(match, { level: 'html5', scope: 'body' });
    const digits = reference.replace(/;$/, '');
    const isHex = digits[1] === 'x' || digits[1] === 'X';
    const code = isHex ? parseInt(digits.slice(2), 16) : parseInt(digits.slice(1), 10);
    const windows1252 = WINDOWS_1252_CHARREFS.get(code);
    if (windows1252 !== undefined) return windows1252;
    if ((code >= 0xd800 && code <= 0xdfff) || code > 0x10ffff) return '\ufffd';
    if (isDroppedCodePoint(code)) return '';
    return String.fromCodePoint(code);
  });
}

/** The reference's `basic_clean` + `whitespace_clean` + `lower()`, without ftfy. */
export function cleanText(text: string): string {
  const unescaped = unescapeHtml(unescapeHtml(text)).normalize('NFC');
  return unescaped.replace(WHITESPACE_RUN, ' ').replace(EDGE_WHITESPACE, '').toLowerCase();
}

function moduleRelativeVocabCandidates(): string[] {
  // Sources run from engine/clip/, the build from dist/engine/clip/: the models folder is 2 or 3 levels up.
  return ['../../models/', '../../../models/'].map((dir) =>
    fileURLToPath(new URL(dir + VOCAB_FILE_NAME, import.meta.url)),
  );
}

function locateDefaultVocab(): string {
  const candidates = moduleRelativeVocabCandidates();
  const found = candidates.find((path) => existsSync(path));
  if (found === undefined) {
    throw new VetbenchError(
      'tokenizer-vocab-missing',
      `The CLIP BPE vocabulary '${VOCAB_FILE_NAME}' was not found (looked at ${candidates.join(', ')}).`,
      `Reinstall Vetbench, or pass the path of ${VOCAB_FILE_NAME} explicitly.`,
    );
  }
  return found;
}

function readMerges(vocabPath: string): string[] {
  let text: string;
  try {
    text = gunzipSync(readFileSync(vocabPath)).toString('utf8');
  } catch (error) {
    throw new VetbenchError(
      'tokenizer-vocab-unreadable',
      `Could not read the CLIP BPE vocabulary '${vocabPath}': ${(error as Error).message}`,
      `Point to the gzip file ${VOCAB_FILE_NAME} shipped with CLIP.`,
    );
  }
  // Only the first fifth of the file is used: walk line by line instead of splitting all of it.
  const lines: string[] = [];
  let lineStart = text.indexOf('\n') + 1;
  while (lineStart > 0 && lines.length < MERGE_COUNT) {
    const lineEnd = text.indexOf('\n', lineStart);
    lines.push(text.slice(lineStart, lineEnd === -1 ? text.length : lineEnd));
    lineStart = lineEnd + 1;
  }
  const isMergeLine = (line: string): boolean => {
    const space = line.indexOf(' ');
    return space > 0 && space < line.length - 1 && line.indexOf(' ', space + 1) === -1;
  };
  if (lines.length !== MERGE_COUNT || !lines.every(isMergeLine)) {
    throw new VetbenchError(
      'tokenizer-vocab-invalid',
      `'${vocabPath}' is not a CLIP BPE vocabulary: expected ${MERGE_COUNT} merge lines of two symbols.`,
      `Use the original ${VOCAB_FILE_NAME}.`,
    );
  }
  return lines;
}

const loadedTokenizers = new Map<string, ClipTokenizer>();
let defaultTokenizer: ClipTokenizer | undefined;

export class ClipTokenizer {
  readonly vocabSize: number;
  readonly vocabPath: string;
  private readonly byteEncoder: readonly string[];
  private readonly byteDecoder: ReadonlyMap<string, number>;
  private readonly encoder: ReadonlyMap<string, number>;
  private readonly decoder: readonly string[];
  /** Merge rank keyed by the merge line itself ("a b"): byte symbols never contain a space. */
  private readonly mergeRanks: ReadonlyMap<string, number>;
  private readonly pieceCache = new Map<string, readonly number[]>();
  private readonly utf8 = new TextEncoder();

  private constructor(vocabPath: string, merges: readonly string[]) {
    this.vocabPath = vocabPath;
    const byteTable = bytesToUnicode();
    const byteEncoder: string[] = new Array<string>(256);
    for (const [byte, symbol] of byteTable) byteEncoder[byte] = symbol;
    this.byteEncoder = byteEncoder;
    this.byteDecoder = new Map([...byteTable].map(([byte, symbol]) => [symbol, byte]));

    // Plain loops: ~100k map entries built without intermediate [key, value] arrays keep loading fast.
    const byteSymbols = [...byteTable.values()];
    const vocab = byteSymbols.concat(byteSymbols.map((symbol) => symbol + END_OF_WORD));
    const mergeRanks = new Map<string, number>();
    for (let rank = 0; rank < merges.length; rank++) {
      const merge = merges[rank] as string;
      mergeRanks.set(merge, rank);
      vocab.push(merge.replace(' ', ''));
    }
    vocab.push(START_OF_TEXT, END_OF_TEXT);
    const encoder = new Map<string, number>();
    for (let id = 0; id < vocab.length; id++) encoder.set(vocab[id] as string, id);
    this.decoder = vocab;
    this.encoder = encoder;
    this.mergeRanks = mergeRanks;
    this.vocabSize = vocab.length;
    if (vocab.length !== EOT_TOKEN + 1 || encoder.get(START_OF_TEXT) !== SOT_TOKEN) {
      throw new VetbenchError(
        'tokenizer-vocab-invalid',
        `'${vocabPath}' gives a vocabulary of ${vocab.length} tokens, not CLIP's 49408.`,
        `Use the original ${VOCAB_FILE_NAME}.`,
      );
    }
  }

  /** Reads a vocabulary (the shipped one when no path is given); each file is read once per process. */
  static load(vocabPath?: string): ClipTokenizer {
    if (vocabPath === undefined) {
      defaultTokenizer ??= ClipTokenizer.load(locateDefaultVocab());
      return defaultTokenizer;
    }
    const absolutePath = resolve(vocabPath);
    let tokenizer = loadedTokenizers.get(absolutePath);
    if (tokenizer === undefined) {
      tokenizer = new ClipTokenizer(absolutePath, readMerges(absolutePath));
      loadedTokenizers.set(absolutePath, tokenizer);
    }
    return tokenizer;
  }

  /** The tokenizer of the vocabulary shipped in models/. */
  static default(): ClipTokenizer {
    return ClipTokenizer.load();
  }

  /** BPE ids of the cleaned text, without SOT/EOT. Literal special-token strings map to their ids. */
  encodeText(text: string): number[] {
    const ids: number[] = [];
    for (const match of cleanText(text).matchAll(PIECE_PATTERN)) {
      for (const id of this.encodePiece(match[0])) ids.push(id);
    }
    return ids;
  }

  /** `[SOT, ...bpe, EOT]`, unpadded and untruncated. */
  tokenize(text: string): number[] {
    return [SOT_TOKEN, ...this.encodeText(text), EOT_TOKEN];
  }

  /**
   * Row-major [texts.length, contextLength] ids, zero padded, as `clip.tokenize`. Too-long input is cut with
   * its last slot set to EOT, so the argmax of every row is its EOT position (EOT is the largest id).
   */
  tokenizeBatch(
    texts: readonly string[],
    contextLength: number = DEFAULT_CONTEXT_LENGTH,
    truncate = true,
  ): Int32Array {
    if (!Number.isInteger(contextLength) || contextLength < 2) {
      throw new Error(
        `contextLength must be an integer of at least 2 (room for SOT and EOT), got ${contextLength}`,
      );
    }
    const batch = new Int32Array(texts.length * contextLength);
    texts.forEach((text, row) => {
      const ids = this.tokenize(text);
      if (ids.length > contextLength) {
        if (!truncate) {
          const preview = text.length > 60 ? `${text.slice(0, 60)}...` : text;
          throw new Error(
            `Input ${row} is ${ids.length} tokens long, more than the context length ${contextLength}: "${preview}"`,
          );
        }
        ids.length = contextLength;
        ids[contextLength - 1] = EOT_TOKEN;
      }
      batch.set(ids, row * contextLength);
    });
    return batch;
  }

  /**
   * Text for ids, as the reference decodes: every end of word becomes a space (so "a dog." reads "a dog . "),
   * special tokens are spelled out, and padding zeros would read as '!', so strip them first.
   */
  decode(ids: readonly number[]): string {
    const bytes: number[] = [];
    for (const id of ids) {
      const token = this.decoder[id];
      if (token === undefined) {
        throw new Error(`Token id ${id} is outside the CLIP vocabulary (0..${this.vocabSize - 1})`);
      }
      for (const symbol of token) {
        // Special tokens are plain ASCII, so every symbol has a byte.
        bytes.push(this.byteDecoder.get(symbol) ?? 0);
      }
    }
    return new TextDecoder('utf-8').decode(new Uint8Array(bytes)).replaceAll(END_OF_WORD, ' ');
  }

  private encodePiece(piece: string): readonly number[] {
    const cached = this.pieceCache.get(piece);
    if (cached !== undefined) return cached;
    let ids: readonly number[];
    if (piece === START_OF_TEXT) ids = [SOT_TOKEN];
    else if (piece === END_OF_TEXT) ids = [EOT_TOKEN];
    else {
      let byteSymbols = '';
      for (const byte of this.utf8.encode(piece)) byteSymbols += this.byteEncoder[byte];
      ids = this.bytePairEncode(byteSymbols).map((token) => {
        const id = this.encoder.get(token);
        // Every merge result is in the vocabulary, so this only fires on a corrupt vocabulary.
        if (id === undefined) throw new Error(`BPE produced '${token}', which is not in the CLIP vocabulary`);
        return id;
      });
    }
    if (this.pieceCache.size >= MAX_CACHED_PIECES) this.pieceCache.clear();
    this.pieceCache.set(piece, ids);
    return ids;
  }

  /** Greedy BPE: repeatedly merge every occurrence of the lowest-ranked adjacent pair, left to right. */
  private bytePairEncode(byteSymbols: string): string[] {
    // Byte symbols are all in the BMP, so one UTF-16 unit is one symbol.
    let word = byteSymbols.split('');
    word[word.length - 1] += END_OF_WORD;
    while (word.length > 1) {
      let bestRank = Infinity;
      let bestPair: [string, string] | undefined;
      for (let i = 0; i < word.length - 1; i++) {
        const left = word[i] as string;
        const right = word[i + 1] as string;
        const rank = this.mergeRanks.get(`${left} ${right}`);
        if (rank !== undefined && rank < bestRank) {
          bestRank = rank;
          bestPair = [left, right];
        }
      }
      if (bestPair === undefined) break;
      const [first, second] = bestPair;
      const merged: string[] = [];
      for (let i = 0; i < word.length; i++) {
        if (word[i] === first && word[i + 1] === second) {
          merged.push(first + second);
          i++;
        } else {
          merged.push(word[i] as string);
        }
      }
      word = merged;
    }
    return word;
  }
}
