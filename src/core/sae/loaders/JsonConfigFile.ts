import { readFile } from 'node:fs/promises';
import { FacetError } from '../../../shared/FacetError.ts';

/**
 * A JSON config file of an SAE (`cfg.json`, `hyperparams.json`, …) with typed field access whose
 * errors name the file and the field (`SAE_FILE_INVALID`).
 */
export class JsonConfigFile {
  readonly path: string;
  readonly fields: Record<string, unknown>;

  constructor(path: string, fields: Record<string, unknown>) {
    this.path = path;
    this.fields = fields;
  }

  static async read(path: string): Promise<JsonConfigFile> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      throw new FacetError('SAE_FILE_INVALID', `Cannot read ${path}: ${(error as Error).message}. The SAE folder needs this file.`, { file: path }, { cause: error });
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new FacetError('SAE_FILE_INVALID', `${path} is not valid JSON (${(error as Error).message}). Fix or re-download the file.`, { file: path });
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new FacetError('SAE_FILE_INVALID', `${path} must hold a JSON object.`, { file: path });
    return new JsonConfigFile(path, value as Record<string, unknown>);
  }

  /** A positive integer field; `SAE_FILE_INVALID` when missing or not one. */
  integer(field: string): number {
    const value = this.fields[field];
    if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
      throw new FacetError('SAE_FILE_INVALID', `${this.path}: field '${field}' must be a positive integer (got ${JSON.stringify(value)}). Fix the config file.`, { file: this.path, field });
    }
    return value;
  }

  /** A finite number field, or null. */
  number(field: string): number | null {
    const value = this.fields[field];
    return typeof value === 'number' && Number.isFinite(value) ? value : null;
  }

  /** A non-empty string field, or null. */
  string(field: string): string | null {
    const value = this.fields[field];
    return typeof value === 'string' && value !== '' ? value : null;
  }

  /** A nested object field as its own view (same file), or null. */
  object(field: string): JsonConfigFile | null {
    const value = this.fields[field];
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? new JsonConfigFile(this.path, value as Record<string, unknown>) : null;
  }
}
