import type { ComponentChildren } from "preact";
import { Empty, ErrorText, LoadMore, Loading, useClientPages } from "./bits.tsx";
import type { Loaded, Paged } from "./hooks.ts";

/** A list table's header row; `actions` adds the unlabelled column of row buttons (named for screen readers). */
export function ListHead({ columns, actions = false }: { columns: readonly string[]; actions?: boolean }) {
  return (
    <thead>
      <tr>
        {columns.map((column) => (
          <th key={column}>{column}</th>
        ))}
        {actions && (
          <th>
            <span class="visually-hidden">Actions</span>
          </th>
        )}
      </tr>
    </thead>
  );
}

/**
 * A list the API answers whole (apps, scripts, secrets, triggers), shown a
 * page at a time: "Loading…" until the first answer, its error, `empty` when
 * there are none (null: say nothing), else `children` with the rows shown.
 */
export function WholeList<T>(props: { loaded: Loaded<T[]>; empty: ComponentChildren; children: (shown: T[]) => ComponentChildren }) {
  const { loaded } = props;
  const pages = useClientPages(loaded.data ?? []);
  return (
    <>
      <Loading when={loaded.loading && !loaded.data} />
      <ErrorText error={loaded.error} />
      {loaded.data?.length === 0 && props.empty != null && <Empty>{props.empty}</Empty>}
      {pages.shown.length > 0 && props.children(pages.shown)}
      <LoadMore more={pages.more} loading={false} onMore={pages.showMore} />
    </>
  );
}

/**
 * A list the API pages (runs, dead letters, mail, audit): its error, then
 * "Loading…" while the first page is on its way, `empty` once an answer has
 * none, else `children` with the rows so far and "Load more" for the next page.
 */
export function PagedList<T>(props: { paged: Paged<T>; empty: ComponentChildren; children: (items: T[]) => ComponentChildren }) {
  const { paged } = props;
  return (
    <>
      <ErrorText error={paged.error} />
      <Loading when={paged.loading && paged.items.length === 0} />
      {!paged.loading && !paged.error && paged.items.length === 0 && <Empty>{props.empty}</Empty>}
      {paged.items.length > 0 && props.children(paged.items)}
      <LoadMore more={paged.more} loading={paged.loading} onMore={() => void paged.loadMore()} />
    </>
  );
}
