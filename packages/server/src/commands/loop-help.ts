/**
 * The `--help` of the script author's loop: deploy, invoke, triggers, runs
 * and dead letters over the admin API. One overview per command and one
 * usage per verb.
 */

const SERVICE = `Talks to a running service at SWITCHYARD_URL (default http://127.0.0.1:8787)
with the token in SWITCHYARD_TOKEN. APP is an app's id or name.`;

export const EXIT_CODES = `Exit codes: 0 done, 1 failed (the service refused, was unreachable, the
script does not compile, or the run failed), 2 usage error; runs tail ends
with 130 on Ctrl-C.`;

export const GROUP_USAGE: Record<string, string> = {
  scripts: `Usage: switchyard scripts <deploy|list> [arguments] --app APP [--json]

  deploy FILE   deploy a .ts or .js file as a script (a new version when it exists)
  list          the app's scripts

${SERVICE}

${EXIT_CODES}
Run 'switchyard scripts <verb> --help' for a verb's options.

Example:
  switchyard scripts deploy ./welcome.ts --app shop`,
  triggers: `Usage: switchyard triggers <list|create> [arguments] --app APP [--json]

  list     the app's triggers
  create   a trigger: --kind http|cron|email|dead_letter|connectivity|... --script NAME

${SERVICE}

${EXIT_CODES}
Run 'switchyard triggers <verb> --help' for a verb's options.`,
  runs: `Usage: switchyard runs <list|show|tail> [arguments] [--app APP] [--json]

  list           an app's runs, newest first
  show RUN_ID    one run with its logs, result and error
  tail           runs as they finish, live, until Ctrl-C

${SERVICE}

${EXIT_CODES}
Run 'switchyard runs <verb> --help' for a verb's options.`,
  "dead-letters": `Usage: switchyard dead-letters <list|replay> [arguments] [--app APP] [--json]

  list         an app's dead letters (events that failed every attempt)
  replay ID    send a dead letter's event again, as a new event

${SERVICE}

${EXIT_CODES}
Run 'switchyard dead-letters <verb> --help' for a verb's options.`,
};

export const VERB_USAGE: Record<string, string> = {
  "scripts deploy": `Usage: switchyard scripts deploy FILE --app APP [--name NAME] [--language ts|js] [--json]

Deploys FILE as a script of APP: a new script, or a new version of the one
with that name. TypeScript (.ts, .mts, .tsx) and JavaScript (.js, .mjs) are
compiled by the service; when it does not compile, each problem is printed as
FILE:LINE:COLUMN: message with the line and a caret, and the exit code is 1.

  --name NAME        the script's name (default: FILE's name without the
                     extension, lower-cased; 1-63 of a-z 0-9 - _)
  --language ts|js   when the extension does not say
  --json             print the deployed script (without its source) as JSON;
                     a compile error prints the API's error body

Example:
  switchyard scripts deploy ./welcome.ts --app shop`,
  "scripts list": `Usage: switchyard scripts list --app APP [--json]

Lists APP's scripts: name, current version, language, when it changed, id.

  --json   print the API's answer as JSON`,
  invoke: `Usage: switchyard invoke --app APP SCRIPT [--payload JSON|@FILE|@-] [--no-wait] [--timeout SECONDS] [--json]

Runs SCRIPT (a name or id) of APP once with a manual event
({kind: "manual", payload}), waits for the run and prints it: status,
duration, logs, result or error. The exit code is 0 when the run ended ok,
1 when it failed (it may still be retried by the service).

  --payload JSON   the event's payload: JSON text, @FILE to read it from a
                   file, or @- from stdin (default null)
  --no-wait        print the event id and exit without waiting
  --timeout S      how long to wait for the run (default 60)
  --json           print the run as JSON (with --no-wait, the event id)

Examples:
  switchyard invoke --app shop welcome --payload '{"email":"ada@example.com"}'
  switchyard invoke --app shop welcome --payload @sample-event.json --json | jq .result`,
  "triggers list": `Usage: switchyard triggers list --app APP [--json]

Lists APP's triggers: name, kind, script, whether enabled, id.

  --json   print the API's answer as JSON`,
  "triggers create": `Usage: switchyard triggers create --app APP --kind KIND --script SCRIPT [--name NAME]
                                [--config JSON|@FILE] [--retry JSON|@FILE]
                                [--schedule CRON] [--timezone TZ] [--signing] [--disabled] [--json]

Creates a trigger that runs SCRIPT (a name or id). Prints its id and, for an
http or email trigger, where to send events; a signing secret is printed
this once.

  --kind KIND        http, cron, email, dead_letter, connectivity, secret_changed, ...
  --name NAME        default: SCRIPT-KIND
  --config JSON      the kind's config as JSON, @FILE or @- (see the README)
  --schedule CRON    cron: the schedule, e.g. "*/5 * * * *" (sets config.schedule)
  --timezone TZ      cron: an IANA time zone (sets config.timezone)
  --signing          http, email: require Standard Webhooks signatures
  --retry JSON       {max_attempts, backoff, base_ms}
  --disabled         create it switched off
  --json             print the API's answer as JSON

Examples:
  switchyard triggers create --app shop --kind cron --script report --schedule "0 7 * * 1-5" --timezone Europe/Paris
  switchyard triggers create --app shop --kind http --script orders --signing
  switchyard triggers create --app shop --kind dead_letter --script alert --config '{"script_ids":[]}'`,
  "runs list": `Usage: switchyard runs list --app APP [--status S] [--script SCRIPT] [--limit N] [--before RUN_ID] [--json]

Lists APP's runs (one per attempt), newest first.

  --status S         running, ok, error, timeout or oom
  --script SCRIPT    one script's runs (a name or id)
  --limit N          how many (1-200, default 50)
  --before RUN_ID    the page after this run (the last id of a page)
  --json             print the API's answer as JSON`,
  "runs show": `Usage: switchyard runs show RUN_ID [--app APP] [--json]

Shows one run: status, timing, logs, fetches, result and error. Without
--app the apps the token sees are searched.

  --json   print the API's answer as JSON`,
  "runs tail": `Usage: switchyard runs tail --app APP [--since RUN_ID] [--status S] [--json]

Prints APP's runs as they finish, from any worker, until Ctrl-C (exit 130).
A dropped connection is resumed where it stopped, so no run is missed or
printed twice.

  --since RUN_ID   first the runs that finished after this one
  --status S       only runs with this status (ok, error, timeout, oom)
  --json           one JSON object per line (the API's run, with logs)

Example:
  switchyard runs tail --app shop --status error`,
  "dead-letters list": `Usage: switchyard dead-letters list --app APP [--script SCRIPT] [--limit N] [--json]

Lists APP's dead letters, newest first: id, event kind, script, attempts,
last error.

  --script SCRIPT   one script's dead letters (a name or id)
  --limit N         how many (1-200, default 50)
  --json            print the API's answer as JSON`,
  "dead-letters replay": `Usage: switchyard dead-letters replay ID [--app APP] [--json]

Sends dead letter ID's event again as a new event (ctx.run.replay is true);
the dead letter goes. Without --app the apps the token sees are searched.

  --json   print the API's answer as JSON`,
};
