import { homedir, platform } from 'node:os';
import { join } from 'node:path';

/**
 * The workspace folder: `FACET_HOME` when set, else the platform's user-data folder
 * (`~/.config/Facet` on Linux, `~/Library/Application Support/Facet` on macOS, `%APPDATA%\Facet`
 * on Windows), the same folder Electron's `app.getPath('userData')` gives for the app name Facet.
 */
export function resolveFacetHome(env: NodeJS.ProcessEnv = process.env): string {
  const override = env['FACET_HOME'];
  if (override !== undefined && override !== '') return override;
  switch (platform()) {
    case 'darwin':
      return join(homedir(), 'Library', 'Application Support', 'Facet');
    case 'win32':
      return join(env['APPDATA'] ?? join(homedir(), 'AppData', 'Roaming'), 'Facet');
    default:
      return join(env['XDG_CONFIG_HOME'] ?? join(homedir(), '.config'), 'Facet');
  }
}

/** The SQLite database inside a workspace. */
export function databasePath(home: string): string {
  return join(home, 'facet.db');
}
