/**
 * Splits a streamed top-level JSON array into the source text of its elements without holding
 * the whole file: feed chunks, collect `{ line, text }` for every complete element.
 * Tracks strings and escapes so brackets inside strings do not count.
 */
export class JsonArraySplitter {
  /** An element over the size cap or nested deeper than the depth cap, with the line it starts on. */
  static LimitError = class JsonArrayLimitError extends Error {
    readonly kind: 'size' | 'depth';
    readonly line: number;
    constructor(kind: 'size' | 'depth', line: number) {
      super(`line ${line}: array element ${kind === 'size' ? 'too large' : 'nested too deep'}`);
      this.kind = kind;
      this.line = line;
    }
  };

  private state: 'before' | 'between' | 'inside' | 'after' = 'before';
  private depth = 0;
  private inString = false;
  private escaped = false;
  private line = 1;
  private elementLine = 1;
  private parts: string[] = [];
  private partsLength = 0;
  private readonly fileName: string;
  private readonly maxElementChars: number;
  private readonly maxDepth: number;

  constructor(fileName: string, limits: { maxElementChars?: number; maxDepth?: number } = {}) {
    this.fileName = fileName;
    this.maxElementChars = limits.maxElementChars ?? Infinity;
    this.maxDepth = limits.maxDepth ?? Infinity;
  }

  /** Returns the elements completed by this chunk. Throws a plain Error with a line number on malformed structure. */
  push(chunk: string): { line: number; text: string }[] {
    const out: { line: number; text: string }[] = [];
    let start = -1;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i);
      if (c === 10) this.line++;
      if (this.state === 'inside') {
        if (this.inString) {
          if (this.escaped) this.escaped = false;
          else if (c === 92) this.escaped = true;
          else if (c === 34) this.inString = false;
          continue;
        }
        if (c === 34) this.inString = true;
        else if (c === 123 || c === 91) {
          if (++this.depth > this.maxDepth) throw new JsonArraySplitter.LimitError('depth', this.elementLine);
        } else if (c === 125 || c === 93) {
          if (this.depth === 0 && c === 93) {
            // the array's closing bracket ends a scalar element
            this.parts.push(chunk.slice(start === -1 ? 0 : start, i));
            out.push({ line: this.elementLine, text: this.takeElement() });
            start = -1;
            this.state = 'after';
            continue;
          }
          this.depth--;
        } else if (c === 44 && this.depth === 0) {
          this.parts.push(chunk.slice(start === -1 ? 0 : start, i));
          out.push({ line: this.elementLine, text: this.takeElement() });
          start = -1;
          this.state = 'between';
        }
        continue;
      }
      if (c === 32 || c === 9 || c === 10 || c === 13 || c === 0xfeff) continue;
      if (this.state === 'before') {
        if (c !== 91) throw new Error(`line ${this.line}: expected '[' to open a JSON array`);
        this.state = 'between';
        continue;
      }
      if (this.state === 'after') throw new Error(`line ${this.line}: unexpected text after the closing ']' of the JSON array`);
      // between elements
      if (c === 93) {
        this.state = 'after';
        continue;
      }
      if (c === 44) throw new Error(`line ${this.line}: unexpected ',' (empty array element)`);
      this.state = 'inside';
      this.elementLine = this.line;
      start = i;
      this.depth = 0;
      if (c === 34) this.inString = true;
      else if (c === 123 || c === 91) this.depth = 1;
    }
    if (this.state === 'inside') {
      const rest = chunk.slice(start === -1 ? 0 : start);
      this.partsLength += rest.length;
      if (this.partsLength > this.maxElementChars) throw new JsonArraySplitter.LimitError('size', this.elementLine);
      this.parts.push(rest);
    }
    // depth counts the element's own brackets; an element is complete when it returns to 0
    return out.map((element) => ({ line: element.line, text: element.text.trim() }));
  }

  private takeElement(): string {
    const text = this.parts.join('');
    this.parts = [];
    this.partsLength = 0;
    if (text.length > this.maxElementChars) throw new JsonArraySplitter.LimitError('size', this.elementLine);
    return text;
  }

  /** Call at end of input. */
  end(): void {
    if (this.state !== 'after') throw new Error(`${this.fileName} ends before the JSON array is closed (line ${this.line}); the file may be truncated`);
  }
}
