/**
 * The tag logic, as plain functions: no widgets, no I/O, so it is unit-tested directly.
 *
 * A cell has at most one role. Setting a role replaces any previous role tag and keeps
 * every unrelated tag (papermill's `parameters` is itself a role, `injected-parameters`
 * or user tags are left alone); the pseudo-role `none` removes the role.
 */

import { isRoleName, MLPROD_KEY, NO_ROLE, RoleName } from './tokens';

/** What a role command accepts: a role, or `none` to clear it. */
export type RoleChoice = RoleName | typeof NO_ROLE;

/**
 * The subset of a cell or notebook model's metadata API that the tag logic uses.
 *
 * `ICellModel` and `INotebookModel` both satisfy it; going through it (rather than
 * mutating a metadata object) is what marks the notebook dirty so it saves.
 */
export interface IMetadataHost {
  getMetadata(key: string): unknown;
  setMetadata(key: string, value: any): void;
  deleteMetadata(key: string): unknown;
}

/** Coerce whatever is stored in `metadata.tags` into a list of strings. */
export function readTags(value: unknown): string[] {
  if (!Array.isArray(value)) {
    return [];
  }
  return value.filter((tag): tag is string => typeof tag === 'string');
}

/** The role of a cell given its tags: the first role tag, or null. */
export function roleOf(tags: readonly string[]): RoleName | null {
  for (const tag of tags) {
    if (isRoleName(tag)) {
      return tag;
    }
  }
  return null;
}

/**
 * The tags a cell should have after choosing `choice`.
 *
 * Role tags are removed wherever they are; the new role takes the place of the first
 * removed one (so re-tagging does not shuffle the list) or is appended.
 */
export function tagsWithRole(tags: readonly string[], choice: RoleChoice): string[] {
  const kept: string[] = [];
  let at = -1;
  for (const tag of tags) {
    if (isRoleName(tag)) {
      at = at < 0 ? kept.length : at;
    } else if (!kept.includes(tag)) {
      kept.push(tag);
    }
  }
  if (choice === NO_ROLE) {
    return kept;
  }
  kept.splice(at < 0 ? kept.length : at, 0, choice);
  return kept;
}

/** Whether two tag lists are equal, element by element. */
export function sameTags(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((tag, i) => tag === b[i]);
}

/** Parse a command argument into a role choice; null when it is neither a role nor `none`. */
export function parseRoleChoice(value: unknown): RoleChoice | null {
  if (value === NO_ROLE || isRoleName(value)) {
    return value;
  }
  return null;
}

/**
 * Apply a role to one cell through its metadata API.
 *
 * @returns whether the tags changed (an unchanged cell is not touched, so it does not
 * become dirty).
 */
export function setCellRole(cell: IMetadataHost, choice: RoleChoice): boolean {
  const before = readTags(cell.getMetadata('tags'));
  const after = tagsWithRole(before, choice);
  if (sameTags(before, after)) {
    return false;
  }
  if (after.length === 0) {
    cell.deleteMetadata('tags');
  } else {
    cell.setMetadata('tags', after);
  }
  return true;
}

/** The role of a cell model, read from its metadata. */
export function cellRole(cell: IMetadataHost): RoleName | null {
  return roleOf(readTags(cell.getMetadata('tags')));
}

/** The CSS class a cell of the given role carries. */
export function roleClass(role: RoleName): string {
  return `jp-mlprod-role-${role}`;
}

/** The `{predict_input, predict_output}` choice stored in the notebook metadata. */
export interface IPredictChoice {
  predict_input?: string;
  predict_output?: string;
}

/** Read the stored predict choice, ignoring anything malformed. */
export function readPredictChoice(value: unknown): IPredictChoice {
  const choice: IPredictChoice = {};
  if (value && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    for (const key of ['predict_input', 'predict_output'] as const) {
      if (typeof record[key] === 'string' && record[key]) {
        choice[key] = record[key] as string;
      }
    }
  }
  return choice;
}

/**
 * Store one side of the predict choice in `notebook.metadata.mlprod`.
 *
 * An empty value means "let the analysis infer it" and removes the field; the key is
 * removed when nothing is left. Other keys under `mlprod` are preserved.
 */
export function setPredictChoice(
  notebook: IMetadataHost,
  field: keyof IPredictChoice,
  value: string
): boolean {
  const stored = notebook.getMetadata(MLPROD_KEY);
  const previous: Record<string, unknown> =
    stored && typeof stored === 'object' ? { ...(stored as Record<string, unknown>) } : {};
  if ((previous[field] ?? '') === value) {
    return false;
  }
  if (value) {
    previous[field] = value;
  } else {
    delete previous[field];
  }
  if (Object.keys(previous).length === 0) {
    notebook.deleteMetadata(MLPROD_KEY);
  } else {
    notebook.setMetadata(MLPROD_KEY, previous);
  }
  return true;
}

/**
 * The default output directory for Convert, relative to the server root.
 *
 * `template` comes from the settings; `{stem}` is replaced by the notebook's file name
 * without extension. A relative result is placed beside the notebook.
 */
export function defaultOutputDir(notebookPath: string, template: string): string {
  const slash = notebookPath.lastIndexOf('/');
  const dir = slash < 0 ? '' : notebookPath.slice(0, slash);
  const file = notebookPath.slice(slash + 1);
  const stem = file.replace(/\.ipynb$/i, '');
  const name = (template || '{stem}_package').split('{stem}').join(stem);
  if (name.startsWith('/') || !dir) {
    return name.replace(/^\/+/, '');
  }
  return `${dir}/${name}`;
}

/** A suggested role the lab would write: which cell, from which role to which, and why. */
export interface IRoleChange {
  /** 0-based index of the cell in the notebook. */
  index: number;
  /** The cell's role now (null: untagged). */
  from: RoleName | null;
  to: RoleName;
  reason: string;
}

/** A suggestion as the check report gives it (only the fields used here). */
export interface ISuggestedRole {
  cell: number;
  role: string | null;
  reason: string;
}

/**
 * The role changes "Suggest roles" applies, as `nb2prod tag --write` without `--force`
 * would: only untagged code cells get a role; a cell's own role is never replaced, and no
 * second `parameters` or `predict` cell is added beside one already tagged.
 *
 * @param roles the current role of each cell (undefined for a cell that is not code).
 */
export function planRoleChanges(
  roles: readonly (RoleName | null | undefined)[],
  suggestions: readonly ISuggestedRole[]
): IRoleChange[] {
  const single = new Set<RoleName>(['parameters', 'predict']);
  const held = new Set(roles.filter((role): role is RoleName => !!role));
  const changes: IRoleChange[] = [];
  for (const suggestion of suggestions) {
    const current = roles[suggestion.cell];
    if (current !== null || !isRoleName(suggestion.role)) {
      continue; // not an untagged code cell, or the suggestion is to leave it untagged
    }
    if (single.has(suggestion.role) && held.has(suggestion.role)) {
      continue;
    }
    held.add(suggestion.role);
    changes.push({
      index: suggestion.cell,
      from: current,
      to: suggestion.role,
      reason: suggestion.reason
    });
  }
  return changes.sort((a, b) => a.index - b.index);
}
