import { createDataKeyStore, dataKeyAad, type Db, type ScopeRef } from "@switchyard/core";
import { constantTimeEqual, macSha256, unwrapDataKey, type Keyring, type SecretKey } from "@switchyard/crypto";
import { BackupError } from "./format.ts";

/**
 * age proves a backup was not altered since it was encrypted, not who
 * encrypted it: anyone holding the public `age1...` recipient can write a
 * file `verify` would call intact, with an api_tokens row of their choosing.
 * So the instance MACs each backup's header and manifest (which digest every
 * row) with a data key of its own, wrapped by the master keyring (an HSM's
 * key when one holds it), and that wrapped key travels in the backup's
 * data_keys. Only a holder of the master key can open it, so only the
 * instance (or another with its master key) can make a backup that restores.
 * It never seals a secret: no secret scope has this id.
 */
export const BACKUP_KEY_SCOPE: ScopeRef = { scope: "global", scopeId: "backup-origin" };

const DOMAIN = "switchyard/backup-origin/v1";

/** The `S` line after the manifest: which data key MACed the backup, and the MAC (hex). */
export interface BackupOrigin {
  key_id: string;
  mac: string;
}

/** The backup origin key, made (and wrapped by the active master key) on first use. */
export function backupOriginKey(db: Db, keyring: Keyring): Promise<SecretKey> {
  return createDataKeyStore({ keyring }).getOrCreate(db, BACKUP_KEY_SCOPE);
}

/** The origin MAC over the header and manifest lines exactly as written (without tag and newline). */
export function signBackup(key: SecretKey, headerText: string, manifestText: string): BackupOrigin {
  return { key_id: key.id, mac: originMac(key, headerText, manifestText).toString("hex") };
}

function originMac(key: SecretKey, headerText: string, manifestText: string): Buffer {
  return macSha256(key, JSON.stringify([DOMAIN, headerText, manifestText]));
}

/**
 * Checks a backup's origin as it is read: `row` sees every row (it keeps
 * the origin key's wrapped row from data_keys), `check` runs once the
 * manifest has been read and matched, and throws `backup_origin` unless the
 * configured master keyring opens that key and the MAC matches.
 */
export function originCheck(keyring: Keyring) {
  const keyRows: { id: string; wrapped: string; master_key_id: string }[] = [];
  return {
    row(table: string, json: Buffer): void {
      if (table !== "data_keys") return;
      const row = JSON.parse(json.toString("utf8")) as { id: string; scope: string; scope_id: string; wrapped: string; master_key_id: string };
      if (row.scope === BACKUP_KEY_SCOPE.scope && row.scope_id === BACKUP_KEY_SCOPE.scopeId) keyRows.push(row);
    },
    async check(headerText: string, manifestText: string, origin: BackupOrigin | null): Promise<void> {
      if (!origin) throw refused("the backup carries no origin MAC: it was not written by 'switchyard backup create' of this version, or the MAC was cut off");
      const [row] = keyRows;
      if (keyRows.length !== 1 || !row || row.id !== origin.key_id) throw refused("the backup does not hold the data key its origin MAC names");
      let key: SecretKey;
      try {
        key = await unwrapDataKey(keyring, row.id, Buffer.from(row.wrapped.replace(/^\\x/, ""), "hex"), dataKeyAad(row.id, BACKUP_KEY_SCOPE));
      } catch (error) {
        throw refused(`the backup's origin key (wrapped by ${row.master_key_id}) does not open with the configured master key(s): another instance made it, or it was forged`, error);
      }
      if (!constantTimeEqual(originMac(key, headerText, manifestText), Buffer.from(origin.mac, "hex"))) {
        throw refused("the backup's origin MAC does not match its header and manifest: it was not written by an instance holding this master key (made with only the age recipient, or altered)");
      }
    },
  };
}

function refused(message: string, cause?: unknown): BackupError {
  return new BackupError("backup_origin", message, cause === undefined ? {} : { cause });
}
