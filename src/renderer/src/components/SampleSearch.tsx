import { useEffect, useState } from 'react';

/** The search box over a dataset's samples; the query lives in the URL (`q`), set as the user types (debounced) or on Enter. */
export function SampleSearch({ query, onQuery }: { query: string; onQuery(query: string): void }) {
  const [text, setText] = useState(query);
  useEffect(() => setText(query), [query]);
  useEffect(() => {
    if (text.trim() === query) return;
    const timer = setTimeout(() => onQuery(text.trim()), 350);
    return () => clearTimeout(timer);
  }, [text, query, onQuery]);
  return (
    <form
      className="form-row sample-search"
      role="search"
      onSubmit={(event) => {
        event.preventDefault();
        onQuery(text.trim());
      }}
    >
      <label className="grow">
        Search samples <input type="search" className="wide" value={text} placeholder="text in any turn, answer or label (not case-sensitive)" onChange={(event) => setText(event.target.value)} data-testid="sample-search" />
      </label>
      {query !== '' ? (
        <button type="button" onClick={() => onQuery('')} data-testid="sample-search-clear">
          Show all
        </button>
      ) : null}
    </form>
  );
}
