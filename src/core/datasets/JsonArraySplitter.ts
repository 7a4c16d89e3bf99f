/**
 * Splits a streamed top-level JSON array into the source text of its elements without holding
 * the whole file: feed chunks, collect `{ line, text }` for every complete element.
 * Tracks strings and escapes so brackets inside strings do not count.
 */
export class JsonArraySplitter {
  private state: 'before' | 'between' | 'inside' | 'after' = 'before';
  private depth = 0;
  private inString = false;
  private escaped = false;
  private line = 1;
  private elementLine = 1;
  private parts: string[] = [];
  private readonly fileName: string;

  constructor(fileName: string) {
    this.fileName = fileName;
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
        else if (c === 123 || c === 91) this.depth++;
        else if (c === 125 || c === 93) {
          if (this.depth === 0 && c === 93) {
            // the array's closing bracket ends a scalar element
            this.parts.push(chunk.slice(start === -1 ? 0 : start, i));
            out.push({ line: this.elementLine, text: this.parts.join('') });
            this.parts = [];
            start = -1;
            this.state = 'after';
            continue;
          }
          this.depth--;
        } else if (c === 44 && this.depth === 0) {
          this.parts.push(chunk.slice(start === -1 ? 0 : start, i));
          out.push({ line: this.elementLine, text: this.parts.join('') });
          this.parts = [];
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
    if (this.state === 'inside') this.parts.push(chunk.slice(start === -1 ? 0 : start));
    // depth counts the element's own brackets; an element is complete when it returns to 0
    return out.map((element) => ({ line: element.line, text: element.text.trim() }));
  }

  /** Call at end of input. */
  end(): void {
    if (this.state !== 'after') throw new Error(`${this.fileName} ends before the JSON array is closed (line ${this.line}); the file may be truncated`);
  }
}
