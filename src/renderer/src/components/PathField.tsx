import { useEffect, useId, useRef, useState } from 'react';
import { formatBytes } from '../../../shared/formatNumber.ts';
import type { PathEntry } from '../../../shared/registryTypes.ts';
import { api, connection } from '../api/connection.ts';

/**
 * A path on the engine's machine, typed with completion: the folders and matching files of the
 * typed folder (engine method `files.complete`, the same for desktop and browser) drop down under
 * the field; ↑/↓ move, Enter or Tab take one (a folder continues the completion), Escape closes.
 * On the desktop a Browse… button opens the native file dialog as well.
 */
export function PathField({
  value,
  onChange,
  extensions,
  placeholder,
  testId,
  label,
  pick,
}: {
  value: string;
  onChange(value: string): void;
  extensions: string[];
  placeholder: string;
  testId: string;
  label: string;
  /** Which native dialog the desktop's Browse… opens; none when absent. */
  pick?: 'model' | 'dataset';
}) {
  const [entries, setEntries] = useState<PathEntry[]>([]);
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(0);
  const listId = useId();
  const request = useRef(0);
  const extensionKey = extensions.join('|');

  useEffect(() => {
    if (!open) return;
    const mine = ++request.current;
    const timer = setTimeout(() => {
      api.call('files.complete', { prefix: value, extensions: extensionKey.split('|').filter((extension) => extension !== '') }).then(
        (completion) => {
          if (mine !== request.current) return;
          setEntries(completion.entries);
          setActive(0);
        },
        () => setEntries([]),
      );
    }, 120);
    return () => clearTimeout(timer);
  }, [value, open, extensionKey]);

  const choose = (entry: PathEntry): void => {
    onChange(entry.path);
    if (entry.kind === 'file') setOpen(false);
  };
  const shown = open && entries.length > 0 && !(entries.length === 1 && entries[0]?.path === value);

  return (
    <div className="path-field">
      <input
        className="wide"
        value={value}
        placeholder={placeholder}
        aria-label={label}
        role="combobox"
        aria-expanded={shown}
        aria-controls={listId}
        aria-autocomplete="list"
        autoComplete="off"
        spellCheck={false}
        data-testid={testId}
        onFocus={() => setOpen(true)}
        onBlur={() => setTimeout(() => setOpen(false), 150)}
        onChange={(event) => {
          onChange(event.target.value);
          setOpen(true);
        }}
        onKeyDown={(event) => {
          if (!shown) return;
          if (event.key === 'ArrowDown') setActive((index) => Math.min(entries.length - 1, index + 1));
          else if (event.key === 'ArrowUp') setActive((index) => Math.max(0, index - 1));
          else if (event.key === 'Escape') setOpen(false);
          else if ((event.key === 'Enter' || event.key === 'Tab') && entries[active] !== undefined) choose(entries[active]);
          else return;
          event.preventDefault();
        }}
      />
      {pick !== undefined && connection.desktop !== undefined ? (
        <button type="button" onClick={() => void connection.desktop?.pickFile(pick).then((chosen) => chosen && onChange(chosen))}>
          Browse…
        </button>
      ) : null}
      {shown ? (
        <ul className="path-options" role="listbox" id={listId} data-testid={`${testId}-options`}>
          {entries.map((entry, index) => (
            <li
              key={entry.path}
              role="option"
              aria-selected={index === active}
              className={index === active ? 'active' : ''}
              data-testid="path-option"
              onMouseDown={(event) => {
                event.preventDefault();
                choose(entry);
              }}
            >
              <span className={`path-kind path-kind-${entry.kind}`}>{entry.kind === 'folder' ? '▸' : '·'}</span>
              <span className="path-name">{entry.name}</span>
              <span className="muted">{entry.kind === 'file' ? formatBytes(entry.sizeBytes) : 'folder'}</span>
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}
