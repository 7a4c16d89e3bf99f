/**
 * Streaming RFC 4180 CSV parser: quoted fields may hold commas, doubled quotes and newlines.
 * Feed chunks; get back complete records with the line each started on.
 */
export class CsvParser {
  /** A row longer than the cap, with the line it starts on. */
  static RecordTooLarge = class CsvRecordTooLarge extends Error {
    readonly line: number;
    constructor(line: number) {
      super(`line ${line}: CSV row too large`);
      this.line = line;
    }
  };
  private readonly maxRecordChars: number;
  private recordChars = 0;

  constructor(options: { maxRecordChars?: number } = {}) {
    this.maxRecordChars = options.maxRecordChars ?? Infinity;
  }

  private field: string[] = [];
  private record: string[] = [];
  private inQuotes = false;
  private quotePending = false;
  private line = 1;
  private recordLine = 1;
  private fieldStarted = false;

  push(chunk: string): { line: number; fields: string[] }[] {
    const out: { line: number; fields: string[] }[] = [];
    for (let i = 0; i < chunk.length; i++) {
      const ch = chunk[i] as string;
      if (++this.recordChars > this.maxRecordChars) throw new CsvParser.RecordTooLarge(this.recordLine);
      if (this.inQuotes) {
        if (this.quotePending) {
          this.quotePending = false;
          if (ch === '"') {
            this.field.push('"');
            continue;
          }
          this.inQuotes = false;
          // fall through: this character follows a closing quote
        } else {
          if (ch === '"') this.quotePending = true;
          else {
            if (ch === '\n') this.line++;
            this.field.push(ch);
          }
          continue;
        }
      }
      if (ch === '"' && !this.fieldStarted) {
        this.inQuotes = true;
        this.fieldStarted = true;
      } else if (ch === ',') {
        this.endField();
      } else if (ch === '\n') {
        this.endField();
        out.push({ line: this.recordLine, fields: this.record });
        this.record = [];
        this.recordChars = 0;
        this.line++;
        this.recordLine = this.line;
      } else if (ch === '\r') {
        // CRLF: the \n ends the record
      } else {
        this.fieldStarted = true;
        this.field.push(ch);
      }
    }
    return out;
  }

  /** Flushes a last record without a trailing newline. */
  end(): { line: number; fields: string[] }[] {
    if (this.inQuotes && !this.quotePending) throw new Error(`line ${this.recordLine}: a quoted field is not closed before the end of the file`);
    this.inQuotes = false;
    this.quotePending = false;
    if (this.record.length === 0 && this.field.length === 0 && !this.fieldStarted) return [];
    this.endField();
    const last = { line: this.recordLine, fields: this.record };
    this.record = [];
    return [last];
  }

  private endField(): void {
    this.record.push(this.field.join(''));
    this.field = [];
    this.fieldStarted = false;
  }
}
