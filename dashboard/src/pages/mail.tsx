import { useCallback, useState } from "preact/hooks";
import { api } from "../api/admin.ts";
import { EMAIL_STATUSES, type App, type Email } from "../api/types.ts";
import { appPath, useLocation } from "../router.ts";
import { ErrorText, Fact, Json, Loading, StatusBadge, Time } from "../ui/bits.tsx";
import { FilterSelect } from "../ui/filter-select.tsx";
import { useLoad, usePaged } from "../ui/hooks.ts";
import { ListHead, PagedList } from "../ui/lists.tsx";

export function MailPage({ app, id }: { app: App; id: string | undefined }) {
  return id ? <MessagePage app={app} id={id} /> : <MailList app={app} />;
}

const list = (addresses: string[] | undefined) => (addresses && addresses.length > 0 ? addresses.join(", ") : "—");

/** What this app's scripts sent: delivered, captured (dev mode), or failed. */
function MailList({ app }: { app: App }) {
  const { query } = useLocation();
  const status = query.get("status") ?? "";
  const fetchPage = useCallback((before: string | undefined, limit: number) => api.emails.list(app.id, { status, before, limit }), [app.id, status]);
  const mail = usePaged<Email>(fetchPage, (m) => m.id, [fetchPage], { refreshMs: 3000 });

  return (
    <>
      <div class="page-head">
        <h1>Mail</h1>
        <p class="muted">Messages this app's scripts sent with email.send. In dev mode they are captured here instead of delivered.</p>
      </div>
      <form class="filters" aria-label="Filter mail" onSubmit={(e) => e.preventDefault()}>
        <FilterSelect id="mail-status" label="Status" param="status" value={status} options={EMAIL_STATUSES} />
      </form>
      <PagedList paged={mail} empty={`No mail${status ? ` with status ${status}` : ""} yet.`}>
        {(items) => (
          <table class="list" aria-label="Mail">
            <ListHead columns={["Sent", "Status", "To", "Subject", "From"]} />
            <tbody>
              {items.map((m) => (
                <tr key={m.id}>
                  <td data-label="Sent">
                    <a href={appPath(app.name, "mail", m.id)} aria-label={`Message ${m.subject || m.id}`}>
                      <Time at={m.created_at} />
                    </a>
                  </td>
                  <td data-label="Status">
                    <StatusBadge status={m.status} />
                  </td>
                  <td data-label="To">{list(m.to)}</td>
                  <td data-label="Subject">{m.subject || <span class="muted">(no subject)</span>}</td>
                  <td data-label="From">{m.from}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </PagedList>
    </>
  );
}

function MessagePage({ app, id }: { app: App; id: string }) {
  const message = useLoad(() => api.emails.get(app.id, id), [app.id, id]);
  const [view, setView] = useState<"text" | "html">("text");
  const m = message.data;
  return (
    <>
      <div class="page-head row">
        <h1>{m?.subject || "Message"}</h1>
        <a href={appPath(app.name, "mail")}>All mail</a>
      </div>
      <Loading when={message.loading && !m} />
      <ErrorText error={message.error} />
      {m && (
        <>
          <dl class="facts">
            <Fact label="Status">
              <StatusBadge status={m.status} />
            </Fact>
            <Fact label="From">{m.from}</Fact>
            <Fact label="To">{list(m.to)}</Fact>
            {m.cc.length > 0 && <Fact label="Cc">{list(m.cc)}</Fact>}
            {m.bcc.length > 0 && <Fact label="Bcc">{list(m.bcc)}</Fact>}
            <Fact label="When">
              <Time at={m.created_at} />
            </Fact>
            <Fact label="Message-ID">
              <code>{m.message_id ?? "—"}</code>
            </Fact>
            {m.run_id && (
              <Fact label="Sent by">
                <a href={appPath(app.name, "runs", m.run_id)}>run {m.run_id}</a>
              </Fact>
            )}
            {m.rejected.length > 0 && <Fact label="Rejected">{list(m.rejected)}</Fact>}
          </dl>
          {m.error != null && (
            <section aria-label="Delivery error">
              <h3>Delivery error</h3>
              <Json value={m.error} />
            </section>
          )}
          {(m.text != null || m.html != null) && (
            <section aria-label="Body">
              <div class="segmented" role="group" aria-label="Body format">
                <button type="button" aria-pressed={view === "text"} onClick={() => setView("text")}>
                  Text
                </button>
                <button type="button" aria-pressed={view === "html"} disabled={m.html == null} onClick={() => setView("html")}>
                  HTML source
                </button>
              </div>
              <pre class="mail-body">{view === "text" ? (m.text ?? "(no text part)") : m.html}</pre>
            </section>
          )}
          {m.status !== "captured" && m.text == null && m.html == null && <p class="muted">Bodies are kept for captured mail only.</p>}
        </>
      )}
    </>
  );
}
