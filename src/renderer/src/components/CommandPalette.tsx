import { useEffect, useMemo, useRef, useState } from 'react';
import { pages, useNavigationStore, type PageName } from '../stores/useNavigationStore.ts';

interface Command {
  id: string;
  label: string;
  hint?: string;
  run(): void;
}

/** What each page is for, so the palette finds it by its purpose as well as its name. */
const pagePurpose: Record<PageName, string> = {
  Models: 'register a GGUF model, import or train an SAE',
  Datasets: 'import a dataset, browse samples',
  Features: 'feature table, spans, explanations',
  Coverage: 'measure FAC, missing features',
  Synthesis: 'synthesize samples for missing features',
  Compare: 'match features across model families',
  Evaluate: 'diversity report, probes, steering, drift',
  Jobs: 'follow, cancel and resume long work',
};

/** Alt+1 … Alt+8 open the pages in sidebar order. */
export function pageForShortcut(event: Pick<KeyboardEvent, 'altKey' | 'ctrlKey' | 'metaKey' | 'key'>): PageName | undefined {
  if (!event.altKey || event.ctrlKey || event.metaKey) return undefined;
  const index = Number(event.key) - 1;
  return Number.isInteger(index) && index >= 0 && index < pages.length ? pages[index] : undefined;
}

function commandsFor(query: string, go: (page: PageName, params?: Record<string, string>) => void): Command[] {
  const commands: Command[] = pages.map((page, i) => ({ id: `page-${page}`, label: `Go to ${page}`, hint: `${pagePurpose[page]} · Alt+${i + 1}`, run: () => go(page) }));
  commands.push(
    { id: 'import', label: 'Import a dataset', hint: 'Datasets', run: () => go('Datasets') },
    { id: 'coverage', label: 'Measure coverage (FAC)', hint: 'Coverage', run: () => go('Coverage') },
    { id: 'synthesize', label: 'Synthesize for missing features', hint: 'Synthesis', run: () => go('Synthesis') },
    { id: 'report', label: 'Make a diversity report', hint: 'Evaluate', run: () => go('Evaluate') },
  );
  const feature = /^#?\s*(\d+)$/.exec(query.trim());
  if (feature !== null) {
    const params = useNavigationStore.getState().params;
    commands.unshift({ id: 'feature', label: `Open feature ${feature[1]}`, hint: 'Features, in the open feature space', run: () => go('Features', { ...(params['space'] !== undefined ? { space: params['space'] } : {}), feature: feature[1]! }) });
  }
  const words = query.toLowerCase().split(/\s+/).filter((word) => word !== '' && !/^#?\d+$/.test(word));
  return commands.filter((command) => words.every((word) => `${command.label} ${command.hint ?? ''}`.toLowerCase().includes(word)));
}

/**
 * The command palette (Ctrl+K or ⌘K; "/" when no field has focus): pages by name or purpose, the
 * main actions, and a feature by its id (type the number). Arrow keys move, Enter runs, Escape
 * closes. Alt+1 … Alt+8 open the pages directly.
 */
export function CommandPalette() {
  const go = useNavigationStore((state) => state.go);
  const [open, setOpen] = useState(false);
  const [query, setQuery] = useState('');
  const [active, setActive] = useState(0);
  const input = useRef<HTMLInputElement>(null);
  const opener = useRef<Element | null>(null);
  const openRef = useRef(false);
  const commands = useMemo(() => commandsFor(query, go), [query, go]);

  useEffect(() => {
    // a fresh query each time the palette opens, set in the same update that opens it
    const show = (): void => {
      setQuery('');
      setActive(0);
      setOpen(true);
    };
    const onKey = (event: KeyboardEvent): void => {
      const typing = event.target instanceof HTMLElement && (event.target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(event.target.tagName));
      if ((event.key === 'k' || event.key === 'K') && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        if (openRef.current) setOpen(false);
        else show();
      } else if (event.key === '/' && !typing && !event.ctrlKey && !event.metaKey && !event.altKey) {
        event.preventDefault();
        show();
      } else {
        const page = pageForShortcut(event);
        if (page !== undefined) {
          event.preventDefault();
          go(page);
        }
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [go]);

  useEffect(() => {
    openRef.current = open;
    if (open) {
      opener.current = document.activeElement;
      input.current?.focus();
    } else if (opener.current instanceof HTMLElement) {
      opener.current.focus();
    }
  }, [open]);

  if (!open) return null;
  const run = (command: Command | undefined): void => {
    if (command === undefined) return;
    setOpen(false);
    command.run();
  };
  return (
    <div className="palette-backdrop" onClick={() => setOpen(false)} data-testid="command-palette">
      <div className="palette" role="dialog" aria-modal="true" aria-label="Command palette" onClick={(event) => event.stopPropagation()}>
        <input
          ref={input}
          className="palette-input"
          value={query}
          placeholder="Go to a page, run an action, or type a feature id…"
          aria-label="Command"
          aria-controls="palette-list"
          aria-activedescendant={commands[active] !== undefined ? `palette-${commands[active].id}` : undefined}
          onChange={(event) => {
            setQuery(event.target.value);
            setActive(0);
          }}
          onKeyDown={(event) => {
            if (event.key === 'ArrowDown') {
              event.preventDefault();
              setActive((current) => Math.min(commands.length - 1, current + 1));
            } else if (event.key === 'ArrowUp') {
              event.preventDefault();
              setActive((current) => Math.max(0, current - 1));
            } else if (event.key === 'Enter') {
              event.preventDefault();
              run(commands[active]);
            } else if (event.key === 'Escape') {
              event.preventDefault();
              setOpen(false);
            }
          }}
          data-testid="command-input"
        />
        <ul className="palette-list" id="palette-list" role="listbox">
          {commands.map((command, i) => (
            <li key={command.id} id={`palette-${command.id}`} role="option" aria-selected={i === active} className={i === active ? 'active' : ''} onMouseEnter={() => setActive(i)} onClick={() => run(command)} data-testid="command-option">
              <span>{command.label}</span>
              {command.hint !== undefined ? <span className="muted">{command.hint}</span> : null}
            </li>
          ))}
          {commands.length === 0 ? <li className="muted">Nothing matches “{query}”.</li> : null}
        </ul>
        <div className="palette-foot muted">
          <kbd>↑</kbd> <kbd>↓</kbd> move · <kbd>Enter</kbd> run · <kbd>Esc</kbd> close · <kbd>Alt</kbd>+<kbd>1</kbd>…<kbd>8</kbd> pages
        </div>
      </div>
    </div>
  );
}
