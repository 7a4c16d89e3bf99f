import { useEffect, useState, type Dispatch, type SetStateAction } from 'react';

const prefix = 'facet:';

function read<T>(key: string, initial: T): T {
  try {
    const stored = localStorage.getItem(prefix + key);
    if (stored === null) return initial;
    const parsed = JSON.parse(stored) as unknown;
    // a stored value of another shape (an older version of the form) falls back to the default
    const fits = initial === null || parsed === null || (typeof parsed === typeof initial && Array.isArray(parsed) === Array.isArray(initial));
    return fits ? (parsed as T) : initial;
  } catch {
    return initial;
  }
}

/**
 * `useState` whose value survives leaving the page, a reload and a restart of the engine: it is
 * kept in the browser's localStorage under `facet:<key>`. For form fields (model, SAE, datasets,
 * thresholds), not for data the engine owns.
 */
export function usePersistentState<T>(key: string, initial: T): [T, Dispatch<SetStateAction<T>>] {
  const [value, setValue] = useState<T>(() => read(key, initial));
  useEffect(() => {
    try {
      localStorage.setItem(prefix + key, JSON.stringify(value));
    } catch {
      // storage full or disabled: the form still works, it just is not remembered
    }
  }, [key, value]);
  return [value, setValue];
}
