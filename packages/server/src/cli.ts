import { parseArgs } from "node:util";
import type { Role } from "./commands/serve.ts";
import { terminalSafe } from "./commands/terminal-safe.ts";
import { parseConfig } from "./config.ts";
import { StartupError } from "./startup-error.ts";

const HELP: Record<string, string> = {
  main: `switchyard: secrets, email and triggers for tenant scripts

Usage: switchyard <command> [options]

Commands:
  serve           start the service (HTTP API, workers)
  migrate         apply pending database migrations
  keys generate   print a new random master key
  keys rotate     re-wrap every data key under one master key (--to pkcs11)
  secrets         list, get, set, delete, import secrets of a running service
  scripts         deploy a .ts or .js file as a script, list scripts
  invoke          run a script once with a payload and print the run
  triggers        list and create triggers
  runs            list, show and tail (live) an app's runs
  dead-letters    list and replay dead letters
  backup          create, verify or restore an encrypted backup of the database
  audit verify    check the audit log's hash chains: edited, deleted, reordered rows, a cut tail
  test FILE       run a script on this machine against a sample event (mail captured)

Run 'switchyard <command> --help' for a command's options.
Configuration comes from SWITCHYARD_* variables and DATABASE_URL (see README).`,
  serve: `Usage: switchyard serve [--role api|worker|all] [--port N] [--dev]

Starts Switchyard. Without DATABASE_URL it runs on the embedded PGlite in
SWITCHYARD_DATA_DIR (default ./.switchyard), where only --role all is possible.

Options:
  --role <role>   api: HTTP only; worker: background work only; all (default): both
  --port <n>      overrides SWITCHYARD_PORT (0 picks a free port)
  --dev           dev mode (same as SWITCHYARD_DEV=1): generated key, pretty logs
  -h, --help      show this help`,
  migrate: `Usage: switchyard migrate

Applies pending migrations to the configured database and exits. Safe to run
from several processes at once; the service also migrates at start.`,
  keys: `Usage: switchyard keys generate [--id <id>]
       switchyard keys rotate [--to pkcs11|environment|<key id>] [--dry-run] [--json]
                              (--backup-recipient age1... | --backup-passphrase-file FILE | --no-backup)
                              [--backup-out FILE]

generate  prints a new base64 master key (with --id, as an id:key entry for
          SWITCHYARD_MASTER_KEYS). Store it in your secret manager.
rotate    re-wraps every data key under one master key: by default the one
          that wraps at start (the HSM's first SWITCHYARD_PKCS11_KEY_LABEL
          when SWITCHYARD_PKCS11_* is set, else the first entry of
          SWITCHYARD_MASTER_KEYS). Every key that wrapped something must stay
          configured until it finishes. Resumable: killed half way, run it
          again. Secrets themselves are not re-encrypted.

Options (rotate):
  --to <where>   pkcs11: the HSM's first key label; environment: the first
                 environment key; or a key id (pkcs11:master-2, k2)
  --dry-run      report what would change, write nothing
  --json         print one JSON object (target, rewrapped, from, failed, backup)
  --backup-recipient <age1...>, --backup-passphrase-file <file>
                 rotate takes an encrypted backup first (as 'switchyard backup
                 create'), to these age recipients or this passphrase
  --backup-out <file>
                 where it goes; by default <SWITCHYARD_DATA_DIR>/backups/
                 keys-rotate-<time>.age
  --no-backup    rotate without a backup

Examples:
  # environment key -> HSM: configure both, move, then drop the environment key
  SWITCHYARD_MASTER_KEY=... SWITCHYARD_PKCS11_MODULE=... switchyard keys rotate --to pkcs11
  # HSM key 1 -> HSM key 2
  SWITCHYARD_PKCS11_KEY_LABEL=master-2,master-1 switchyard keys rotate`,
  secrets: `Usage: switchyard secrets <verb> [arguments] (--app <id|name> | --workspace <id|name> | --global)

Manages the secrets of a running service through its admin API, at
SWITCHYARD_URL (default http://127.0.0.1:8787) with the token in
SWITCHYARD_TOKEN.

Verbs:
  list                         names, scopes and versions (never values)
  get NAME                     print a value (the token needs secrets:reveal)
  set NAME [VALUE]             set a value; without VALUE it is read from
                               stdin, which keeps it out of shell history;
                               --bind HOST keeps it out of scripts, sent only to HOST
  delete NAME                  delete a secret and its versions
  versions NAME                a secret's version history
  rollback NAME --version N    make an old value current again
  import FILE|-                set many from a dotenv file (--dry-run previews)

Targets (exactly one):
  --app <id|name>         an app's own secrets; list and get include inherited ones
  --workspace <id|name>   secrets shared by a workspace's apps
  --global                secrets shared by every app

Exit codes: 0 done, 1 the service refused or was unreachable, 2 usage error.
Run 'switchyard secrets <verb> --help' for a verb's options.

Example:
  switchyard secrets set API_KEY --app billing < api-key.txt`,
  backup: `Usage: switchyard backup create --out FILE (--recipient age1... | --passphrase-file FILE) [--json]
       switchyard backup verify FILE (--identity FILE | --passphrase-file FILE) [--json]
       switchyard backup restore FILE (--identity FILE | --passphrase-file FILE) [--json]
       switchyard backup keygen --out FILE [--json]

create   writes one consistent snapshot of the database (DATABASE_URL, or the
         embedded one in SWITCHYARD_DATA_DIR, which the service must not hold
         open) to a new file, encrypted with age: to each --recipient (an age
         public key, repeatable; keep its identity file apart) or to the
         passphrase on the first line of --passphrase-file. Secrets stay sealed
         by their data keys, data keys stay wrapped: the backup holds no master
         key. A manifest inside counts and digests every table.
verify   reads a backup through without restoring: age authenticates every
         chunk, and every table's row count and SHA-256 must match.
restore  fills an EMPTY database (migrated first) from a backup, in one
         transaction that commits only when the whole file checked out; a
         database that holds anything is refused and left untouched. The
         restored instance needs the master key(s) that wrapped the data keys.
keygen   writes a new age identity file (mode 0600) and prints its recipient
         (age1...), for operators without age-keygen.

Progress goes to stderr on a terminal; --json prints one JSON object.
Exit codes: 0 done, 1 refused (damaged or cut file, wrong key, database not
empty, other migration level), 2 usage error.

Example:
  switchyard backup create --out nightly.age --recipient age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p
  switchyard backup verify nightly.age --identity backup-key.txt`,
  audit: `Usage: switchyard audit verify [--workspace ID | --global] [--against FILE] [--grace DURATION] [--json]

Checks the audit log (DATABASE_URL, or the embedded one in
SWITCHYARD_DATA_DIR, which the service must not hold open) with the master
key(s). Each workspace's rows form a chain (rows without a workspace, the
global chain): every row carries an HMAC over its content and the previous
row's HMAC, keyed by a data key the master key wraps, and each chain has a
signed checkpoint (row count, last row); each chain's start is recorded in
the global chain. The service seals new rows about a second after they
commit; rows unsealed for less than the grace period are counted, not judged.

Reports per chain the rows checked and the first bad row: edited, deleted (a
gap), reordered (swapped or moved rows), truncated (the chain is shorter than
its checkpoint), checkpoint (missing or forged: "chain head missing"),
restarted (started again after its seals were removed), unattested (its start
is missing from the global chain), unsealed (a row older than the chain's
head without a seal, or any row unsealed past the grace period).

Options:
  --workspace <id>   one workspace's chain; --global: the global chain. An id
                     that is neither a workspace nor a chain exits 1
  --against <file>   an earlier run's --json output, kept outside the database:
                     every chain must still reach the head it recorded. This
                     finds a tail cut together with its checkpoint, and a
                     reset of every chain at once
  --grace <time>     how long a row may stay unsealed (90s, 5m, 1h; default 5m)
  --json             print one JSON object (ok, chains[])

Exit codes: 0 every chain intact, 1 something is wrong, 2 usage error.

Example:
  switchyard audit verify --json > /var/backups/audit-heads.json
  switchyard audit verify --against /var/backups/audit-heads.json`,
};

/** Runs one CLI invocation; resolves to the process exit code. */
export async function main(argv: string[], env: NodeJS.ProcessEnv, print = (l: string) => console.log(l)): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === "--help" || command === "-h" || command === "help") {
    print(HELP.main ?? "");
    return command ? 0 : 2;
  }
  try {
    switch (command) {
      case "serve":
        return await serveCommand(rest, env, print);
      case "migrate": {
        const { values } = parseArgs({ args: rest, options: { help: { type: "boolean", short: "h" } } });
        if (values.help) return help("migrate", print);
        const { runMigrate } = await import("./commands/migrate.ts");
        await runMigrate(parseConfig(env), print);
        return 0;
      }
      case "keys":
        return await keysCommand(rest, env, print);
      case "secrets": {
        const verb = rest[0];
        if (!verb || verb === "--help" || verb === "-h") return help("secrets", print) + (verb ? 0 : 2);
        const { runSecrets } = await import("./commands/secrets.ts");
        return await runSecrets(rest, env, print);
      }
      case "scripts":
      case "invoke":
      case "triggers":
      case "runs":
      case "dead-letters": {
        const { runLoop } = await import("./commands/loop.ts");
        // What these print comes from scripts and remote servers: no terminal control reaches the operator's screen.
        return await runLoop(command, rest, env, (line) => print(terminalSafe(line)));
      }
      case "backup": {
        const verb = rest[0];
        if (!verb || verb === "--help" || verb === "-h" || rest.includes("--help") || rest.includes("-h")) return help("backup", print) + (verb ? 0 : 2);
        const { runBackup } = await import("./commands/backup.ts");
        return await runBackup(rest, env, print);
      }
      case "audit": {
        const verb = rest[0];
        if (!verb || verb === "--help" || verb === "-h" || rest.includes("--help") || rest.includes("-h")) return help("audit", print) + (verb ? 0 : 2);
        const { runAudit } = await import("./commands/audit.ts");
        return await runAudit(rest, env, print);
      }
      case "test": {
        const { runTest } = await import("./commands/test.ts");
        return await runTest(rest, (line) => print(terminalSafe(line)));
      }
      default:
        console.error(`switchyard: unknown command ${JSON.stringify(command)}\n`);
        print(HELP.main ?? "");
        return 2;
    }
  } catch (error) {
    if (error instanceof StartupError) {
      console.error(`switchyard: ${error.message}`);
      return error.exitCode;
    }
    if ((error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      console.error(`switchyard: ${(error as Error).message}`);
      return 2;
    }
    throw error;
  }
}

function help(name: string, print: (l: string) => void): number {
  print(HELP[name] ?? "");
  return 0;
}

async function serveCommand(args: string[], env: NodeJS.ProcessEnv, print: (l: string) => void): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      role: { type: "string", default: "all" },
      port: { type: "string" },
      dev: { type: "boolean", default: false },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return help("serve", print);
  if (!["api", "worker", "all"].includes(values.role ?? "")) {
    throw new StartupError(`--role must be api, worker or all (got ${JSON.stringify(values.role)})`, 2);
  }
  const config = parseConfig({
    ...env,
    ...(values.dev ? { SWITCHYARD_DEV: "1" } : {}),
    ...(values.port !== undefined ? { SWITCHYARD_PORT: values.port } : {}),
  });
  // Commands load their modules on demand: a bad key or flag is reported
  // before the database drivers and HTTP stack are even loaded.
  const { startServer } = await import("./commands/serve.ts");
  // The signals are ours from before the start: one that came while the
  // server was starting (its database opening, or just after it printed
  // its URL) would otherwise end the process at once, the embedded
  // database's files in the middle of whatever they were. It stops the
  // server once started; a second one ends the process at once.
  let requested: string | null = null;
  let onSignal: (signal: string) => void = (signal) => {
    if (requested !== null) process.exit(signal === "SIGINT" ? 130 : 143);
    requested = signal;
  };
  let stopping = false;
  // V8 gave up on an isolate (catastrophe.ts): a stop as on SIGTERM, unless
  // one was already asked for, which it must not turn into an immediate exit.
  const stopForCatastrophe = () => {
    if (requested === null && !stopping) onSignal("catastrophe");
  };
  const handlers = { SIGTERM: () => onSignal("SIGTERM"), SIGINT: () => onSignal("SIGINT") };
  process.on("SIGTERM", handlers.SIGTERM);
  process.on("SIGINT", handlers.SIGINT);
  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    server = await startServer(config, values.role as Role, print, stopForCatastrophe);
  } catch (error) {
    process.off("SIGTERM", handlers.SIGTERM);
    process.off("SIGINT", handlers.SIGINT);
    throw error;
  }
  return new Promise<number>((resolve) => {
    const shutdown = (signal: string) => {
      // A second signal while stopping ends the process at once, as it did before.
      if (stopping) process.exit(signal === "SIGINT" ? 130 : 143);
      stopping = true;
      server.logger.info({ signal }, "received signal");
      // Work in flight gets a grace period; past it the process exits anyway.
      const deadline = setTimeout(() => {
        server.logger.error({ graceMs: SHUTDOWN_GRACE_MS }, "graceful shutdown timed out; exiting");
        resolve(1);
      }, SHUTDOWN_GRACE_MS);
      deadline.unref();
      void server.stop().then(
        () => resolve(0),
        (error: unknown) => {
          server.logger.error({ err: error }, "shutdown failed");
          resolve(1);
        },
      );
    };
    onSignal = shutdown;
    if (requested !== null) shutdown(requested);
  });
}

const SHUTDOWN_GRACE_MS = 30_000;

async function keysCommand(args: string[], env: NodeJS.ProcessEnv, print: (l: string) => void): Promise<number> {
  const [verb, ...rest] = args;
  const { values } = parseArgs({
    args: rest,
    options: {
      id: { type: "string" },
      to: { type: "string" },
      "dry-run": { type: "boolean", default: false },
      json: { type: "boolean", default: false },
      "no-backup": { type: "boolean", default: false },
      "backup-out": { type: "string" },
      "backup-recipient": { type: "string", multiple: true },
      "backup-passphrase-file": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help || !verb || verb === "--help" || verb === "-h") return help("keys", print) + (verb ? 0 : 2);
  const { runKeysGenerate, runKeysRotate } = await import("./commands/keys.ts");
  if (verb === "generate") {
    runKeysGenerate(values.id, print);
    return 0;
  }
  if (verb === "rotate") {
    const { rotationBackupOptions } = await import("./commands/backup.ts");
    const backup = await rotationBackupOptions({
      noBackup: values["no-backup"] ?? false,
      dryRun: values["dry-run"] ?? false,
      out: values["backup-out"],
      recipients: values["backup-recipient"] ?? [],
      passphraseFile: values["backup-passphrase-file"],
    });
    await runKeysRotate(parseConfig(env), { dryRun: values["dry-run"] ?? false, to: values.to, json: values.json ?? false, backup }, print);
    return 0;
  }
  console.error(`switchyard: unknown keys command ${JSON.stringify(verb)}`);
  return help("keys", print) + 2;
}
