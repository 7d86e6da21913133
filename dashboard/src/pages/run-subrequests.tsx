import type { Subrequest } from "../api/types.ts";
import { ListHead } from "../ui/lists.tsx";

/** A run's fetches (shown when it made any), in order: method, URL without its query, status, time, bytes and how each ended (masked like the logs). */
export function RunSubrequests({ subrequests }: { subrequests: readonly Subrequest[] }) {
  return (
    <section aria-label="Subrequests">
      <h3>Subrequests</h3>
      <table class="list compact" aria-label="Subrequests">
        <ListHead columns={["Method", "URL", "Status", "Took", "Bytes", "Outcome"]} />
        <tbody>
          {subrequests.map((s, i) => (
            <tr key={i}>
              <td data-label="Method">{s.method}</td>
              <td data-label="URL">
                <code>{s.url}</code>
              </td>
              <td data-label="Status">{s.status ?? "—"}</td>
              <td data-label="Took">{`${Math.round(s.duration_ms)} ms`}</td>
              <td data-label="Bytes">{s.bytes}</td>
              <td data-label="Outcome">{s.outcome === "ok" ? "ok" : <code class="error-line">{s.outcome}</code>}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
