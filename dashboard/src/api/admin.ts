import { request } from "./client.ts";
import type {
  App,
  AppConnectivity,
  AuditRow,
  DeadLetter,
  Email,
  ImportReport,
  RetryPolicy,
  Run,
  Script,
  SecretEntry,
  SecretScope,
  SecretVersion,
  Trigger,
  TriggerKind,
  Whoami,
  Workspace,
} from "./types.ts";

const admin = "/api/v1/admin";
const enc = encodeURIComponent;
const appBase = (appId: string) => `${admin}/apps/${enc(appId)}`;

/** Where a secret lives; the app's list shows all three, each managed under its own base. */
export interface SecretPlace {
  scope: SecretScope;
  appId: string;
  workspaceId: string;
}

/** The base path of one scope's secret routes. */
function secretBase(place: SecretPlace): string {
  if (place.scope === "app") return appBase(place.appId);
  if (place.scope === "workspace") return `${admin}/workspaces/${enc(place.workspaceId)}`;
  return `${admin}/global`;
}

export const api = {
  whoami: () => request<Whoami>(`${admin}/whoami`),
  apps: {
    list: () => request<{ apps: App[] }>(`${admin}/apps`).then((r) => r.apps),
    get: (appId: string) => request<App>(appBase(appId)),
    create: (name: string, workspaceId?: string) => request<App>(`${admin}/apps`, { json: { name, ...(workspaceId ? { workspace_id: workspaceId } : {}) } }),
    remove: (appId: string) => request<void>(appBase(appId), { method: "DELETE" }),
  },
  workspaces: {
    list: () => request<{ workspaces: Workspace[] }>(`${admin}/workspaces`).then((r) => r.workspaces),
  },
  secrets: {
    list: (appId: string) => request<{ secrets: SecretEntry[] }>(`${appBase(appId)}/secrets`).then((r) => r.secrets),
    /** `boundHosts`: undefined keeps the current binding, null removes it. */
    set: (place: SecretPlace, name: string, value: unknown, boundHosts?: string[] | null) =>
      request<{ name: string; version: number; updated_at: string; bound_hosts: string[] | null }>(`${secretBase(place)}/secrets`, {
        json: { name, value, ...(boundHosts === undefined ? {} : { bound_hosts: boundHosts }) },
      }),
    reveal: (place: SecretPlace, name: string) =>
      request<{ name: string; value: unknown; scope: SecretScope; version: number; bound_hosts: string[] | null }>(`${secretBase(place)}/secrets/${enc(name)}/reveal`, {
        method: "POST",
      }),
    versions: (place: SecretPlace, name: string) =>
      request<{ versions: SecretVersion[] }>(`${secretBase(place)}/secrets/${enc(name)}/versions`).then((r) => r.versions),
    rollback: (place: SecretPlace, name: string, version: number) =>
      request<{ version: number }>(`${secretBase(place)}/secrets/${enc(name)}/rollback`, { json: { version } }),
    remove: (place: SecretPlace, name: string) => request<void>(`${secretBase(place)}/secrets/${enc(name)}`, { method: "DELETE" }),
    importDotenv: (place: SecretPlace, text: string, dryRun: boolean) =>
      request<ImportReport>(`${secretBase(place)}/secret-imports`, { text, query: { dry_run: dryRun ? "true" : undefined } }),
  },
  scripts: {
    list: (appId: string) => request<{ scripts: Script[] }>(`${appBase(appId)}/scripts`).then((r) => r.scripts),
    get: (appId: string, id: string) => request<Script>(`${appBase(appId)}/scripts/${enc(id)}`),
    deploy: (appId: string, body: { name: string; source: string; language: "js" | "ts"; limits?: Script["limits"]; fresh_context?: boolean }) =>
      request<Script>(`${appBase(appId)}/scripts`, { json: body }),
    redeploy: (appId: string, id: string, body: { source: string; language: "js" | "ts"; limits?: Script["limits"]; fresh_context?: boolean }) =>
      request<Script>(`${appBase(appId)}/scripts/${enc(id)}`, { method: "PUT", json: body }),
    remove: (appId: string, id: string) => request<void>(`${appBase(appId)}/scripts/${enc(id)}`, { method: "DELETE" }),
    invoke: (appId: string, id: string, payload: unknown) =>
      request<{ event_id: string }>(`${appBase(appId)}/scripts/${enc(id)}/invoke`, { json: { payload } }),
  },
  runs: {
    list: (appId: string, query: { status?: string; script_id?: string; trigger_id?: string; event_id?: string; before?: string; limit?: number }) =>
      request<{ runs: Run[] }>(`${appBase(appId)}/runs`, { query }).then((r) => r.runs),
    get: (appId: string, id: string) => request<Run>(`${appBase(appId)}/runs/${enc(id)}`),
  },
  triggers: {
    list: (appId: string) => request<{ triggers: Trigger[] }>(`${appBase(appId)}/triggers`).then((r) => r.triggers),
    create: (appId: string, body: { kind: TriggerKind; name: string; script_id: string; config: Record<string, unknown>; retry: RetryPolicy; enabled?: boolean }) =>
      request<Trigger>(`${appBase(appId)}/triggers`, { json: body }),
    update: (appId: string, id: string, body: Partial<{ name: string; script_id: string; config: Record<string, unknown>; retry: RetryPolicy; enabled: boolean }>) =>
      request<Trigger>(`${appBase(appId)}/triggers/${enc(id)}`, { method: "PATCH", json: body }),
    remove: (appId: string, id: string) => request<void>(`${appBase(appId)}/triggers/${enc(id)}`, { method: "DELETE" }),
  },
  deadLetters: {
    list: (appId: string, query: { script_id?: string; trigger_id?: string; kind?: string; before?: string; limit?: number }) =>
      request<{ dead_letters: DeadLetter[] }>(`${appBase(appId)}/dead-letters`, { query }).then((r) => r.dead_letters),
    get: (appId: string, id: string) => request<DeadLetter>(`${appBase(appId)}/dead-letters/${enc(id)}`),
    replay: (appId: string, id: string) => request<{ event_id: string }>(`${appBase(appId)}/dead-letters/${enc(id)}/replay`, { method: "POST" }),
    replayMatching: (appId: string, filter: { script_id?: string; trigger_id?: string; kind?: string }) =>
      request<{ replayed: number; event_ids: string[]; more: boolean }>(`${appBase(appId)}/dead-letters/replay`, { json: filter }),
    remove: (appId: string, id: string) => request<void>(`${appBase(appId)}/dead-letters/${enc(id)}`, { method: "DELETE" }),
  },
  connectivity: {
    list: (appId: string) => request<AppConnectivity>(`${appBase(appId)}/connectivity`),
  },
  emails: {
    list: (appId: string, query: { status?: string; before?: string; limit?: number }) =>
      request<{ emails: Email[] }>(`${appBase(appId)}/emails`, { query }).then((r) => r.emails),
    get: (appId: string, id: string) => request<Email>(`${appBase(appId)}/emails/${enc(id)}`),
  },
  audit: {
    list: (place: SecretPlace, query: { action?: string; name?: string; before?: number; limit?: number }) =>
      request<{ audit: AuditRow[] }>(`${secretBase(place)}/audit`, { query }).then((r) => r.audit),
  },
};
