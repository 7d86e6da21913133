import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { asApiError, type ApiError } from "../api/client.ts";

export interface Loaded<T> {
  data: T | undefined;
  error: ApiError | null;
  loading: boolean;
  reload: () => Promise<void>;
}

/** Loads once per change of `deps`; a late answer for old deps is dropped. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<ApiError | null>(null);
  const [loading, setLoading] = useState(true);
  const generation = useRef(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  const reload = useCallback(async () => {
    const mine = ++generation.current;
    setLoading(true);
    try {
      const value = await loadRef.current();
      if (mine !== generation.current) return;
      setData(value);
      setError(null);
    } catch (e) {
      if (mine === generation.current) setError(asApiError(e));
    } finally {
      if (mine === generation.current) setLoading(false);
    }
  }, []);

  useEffect(() => {
    setData(undefined);
    void reload();
    return () => void generation.current++;
  }, deps);
  return { data, error, loading, reload };
}

export interface Action<A extends unknown[]> {
  run: (...args: A) => Promise<boolean>;
  busy: boolean;
  error: ApiError | null;
  clear: () => void;
}

/** A button's work: busy while it runs, the error kept beside the button that caused it. */
export function useAction<A extends unknown[]>(work: (...args: A) => Promise<unknown>): Action<A> {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const workRef = useRef(work);
  workRef.current = work;
  const mounted = useRef(true);
  useEffect(() => () => void (mounted.current = false), []);
  const run = useCallback(async (...args: A) => {
    setBusy(true);
    setError(null);
    try {
      await workRef.current(...args);
      return true;
    } catch (e) {
      if (mounted.current) setError(asApiError(e));
      return false;
    } finally {
      if (mounted.current) setBusy(false);
    }
  }, []);
  return { run, busy, error, clear: () => setError(null) };
}

export interface Paged<T> {
  items: T[];
  more: boolean;
  loading: boolean;
  error: ApiError | null;
  loadMore: () => Promise<void>;
  reload: () => Promise<void>;
}

/**
 * A list the API pages with `before` (the last row's id) and `limit`. While
 * only the first page is shown, it refreshes every `refreshMs` so new runs
 * and dead letters appear without a click.
 */
export function usePaged<T>(
  fetchPage: (before: string | undefined, limit: number) => Promise<T[]>,
  cursorOf: (item: T) => string,
  deps: unknown[],
  options: { limit?: number; refreshMs?: number } = {},
): Paged<T> {
  const limit = options.limit ?? 50;
  const [items, setItems] = useState<T[]>([]);
  const [more, setMore] = useState(false);
  const [pages, setPages] = useState(1);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<ApiError | null>(null);
  const generation = useRef(0);
  const fetchRef = useRef(fetchPage);
  fetchRef.current = fetchPage;

  const reload = useCallback(async () => {
    const mine = ++generation.current;
    setLoading(true);
    try {
      const page = await fetchRef.current(undefined, limit);
      if (mine !== generation.current) return;
      setItems(page);
      setMore(page.length === limit);
      setPages(1);
      setError(null);
    } catch (e) {
      if (mine === generation.current) setError(asApiError(e));
    } finally {
      if (mine === generation.current) setLoading(false);
    }
  }, [limit]);

  const loadMore = useCallback(async () => {
    const last = items[items.length - 1];
    if (!last) return;
    const mine = ++generation.current;
    setLoading(true);
    try {
      const page = await fetchRef.current(cursorOf(last), limit);
      if (mine !== generation.current) return;
      setItems((old) => [...old, ...page]);
      setMore(page.length === limit);
      setPages((p) => p + 1);
      setError(null);
    } catch (e) {
      if (mine === generation.current) setError(asApiError(e));
    } finally {
      if (mine === generation.current) setLoading(false);
    }
  }, [items, limit, cursorOf]);

  useEffect(() => {
    setItems([]);
    void reload();
    return () => void generation.current++;
  }, deps);

  useEffect(() => {
    if (!options.refreshMs || pages > 1) return;
    const timer = setInterval(() => {
      if (document.visibilityState === "visible") void reload();
    }, options.refreshMs);
    return () => clearInterval(timer);
  }, [options.refreshMs, pages, reload]);

  return { items, more, loading, error, loadMore, reload };
}

/** A value shown a bounded time, then dropped (revealed secrets). */
export function useExpiring<T>(ms: number): [T | undefined, (value: T | undefined) => void] {
  const [value, setValue] = useState<T | undefined>(undefined);
  useEffect(() => {
    if (value === undefined) return;
    const timer = setTimeout(() => setValue(undefined), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return [value, setValue];
}
