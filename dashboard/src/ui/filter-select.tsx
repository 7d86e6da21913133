import type { Script, Trigger } from "../api/types.ts";
import { setQuery } from "../router.ts";

export interface FilterOption {
  value: string;
  label: string;
}

/**
 * One filter of a list page: a labelled select whose "any" is "". The choice
 * goes to the query string, so a filtered view is a link.
 */
export function FilterSelect(props: { id: string; label: string; param: string; value: string; options: readonly (string | FilterOption)[] | undefined }) {
  return (
    <div class="field">
      <label for={props.id}>{props.label}</label>
      <select id={props.id} value={props.value} onChange={(e) => setQuery({ [props.param]: (e.target as HTMLSelectElement).value })}>
        <option value="">any</option>
        {props.options?.map((option) => {
          const { value, label } = typeof option === "string" ? { value: option, label: option } : option;
          return (
            <option key={value} value={value}>
              {label}
            </option>
          );
        })}
      </select>
    </div>
  );
}

/** The script and trigger filters of the runs and dead-letter lists (`script_id`, `trigger_id`). */
export function ScriptTriggerFilters(props: { idPrefix: string; scripts: Script[] | undefined; triggers: Trigger[] | undefined; scriptId: string; triggerId: string }) {
  return (
    <>
      <FilterSelect
        id={`${props.idPrefix}-script`}
        label="Script"
        param="script_id"
        value={props.scriptId}
        options={props.scripts?.map((s) => ({ value: s.id, label: s.name }))}
      />
      <FilterSelect
        id={`${props.idPrefix}-trigger`}
        label="Trigger"
        param="trigger_id"
        value={props.triggerId}
        options={props.triggers?.map((t) => ({ value: t.id, label: `${t.name} (${t.kind})` }))}
      />
    </>
  );
}
