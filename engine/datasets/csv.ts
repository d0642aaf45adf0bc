import { VetbenchError } from '../errors.js';

export interface CsvRow {
  /** 1-based line where the row starts, for messages. */
  readonly line: number;
  /** 1-based line where it ends (later than `line` when a quoted field holds line breaks). */
  readonly endLine: number;
  readonly fields: readonly string[];
}

/**
 * RFC 4180 CSV: quoted fields may hold commas, quotes (doubled) and line breaks; CRLF or LF; a leading BOM is
 * dropped; rows that are entirely blank are skipped. Lenient where spreadsheets are sloppy: a quote inside an
 * unquoted field is kept as a character. A quote that is never closed is refused, naming the line it opens on:
 * read leniently it would swallow every row after it into one field.
 */
export function parseCsv(text: string, sourceName = 'the CSV'): CsvRow[] {
  const source = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const rows: CsvRow[] = [];
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  let fieldStarted = false;
  let line = 1;
  let rowLine = 1;
  let quoteLine = 1;

  const endField = (): void => {
    fields.push(field);
    field = '';
    fieldStarted = false;
  };
  const endRow = (): void => {
    endField();
    const endLine = Math.max(rowLine, line - 1);
    if (!(fields.length === 1 && fields[0]!.trim() === '')) rows.push({ line: rowLine, endLine, fields });
    fields = [];
    rowLine = line;
  };

  for (let i = 0; i < source.length; i++) {
    const ch = source[i]!;
    if (quoted) {
      if (ch === '"') {
        if (source[i + 1] === '"') {
          field += '"';
          i++;
        } else {
          quoted = false;
        }
      } else {
        // Line breaks inside quotes are counted as outside them: CRLF, LF or a lone CR.
        if (ch === '\n' || (ch === '\r' && source[i + 1] !== '\n')) line++;
        field += ch;
      }
      continue;
    }
    if (ch === '"' && (!fieldStarted || field.trim() === '')) {
      // `a, "b, c"`: spaces before an opening quote are padding, not part of the value
      quoted = true;
      quoteLine = line;
      field = '';
      fieldStarted = true;
    } else if (ch === ',') {
      endField();
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && source[i + 1] === '\n') i++;
      line++;
      endRow();
    } else {
      field += ch;
      fieldStarted = true;
    }
  }
  if (quoted) {
    throw new VetbenchError(
      'csv-unterminated-quote',
      `${sourceName} line ${quoteLine}: the quote opened on this line is never closed (everything after it would be read as one field)`,
      'Close the quote, write a quote inside a quoted field as "", or remove the stray quote.',
    );
  }
  if (field !== '' || fields.length > 0 || fieldStarted) {
    line++;
    endRow();
  }
  return rows;
}
