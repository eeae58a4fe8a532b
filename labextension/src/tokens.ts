/**
 * Names shared by every part of the front end: the plugin id, command ids,
 * and the role table (mirrors `jupyter_mlprod/roles.py`; a test keeps the two in step).
 */

/** The plugin id; also names the settings schema `schema/plugin.json`. */
export const PLUGIN_ID = 'jupyter-mlprod:plugin';

/** The id of the Pipeline side panel (also its DOM id). */
export const PANEL_ID = 'jp-mlprod-pipeline';

/** Command ids, declared once so schema, menus and code agree. */
export namespace CommandIDs {
  /** Set the role of the selected code cells; args `{role: RoleName | 'none'}`. */
  export const setRole = 'mlprod:set-role';
  export const openPanel = 'mlprod:open-pipeline';
  export const refresh = 'mlprod:refresh-pipeline';
  export const convert = 'mlprod:convert';
  export const verify = 'mlprod:verify';
  export const run = 'mlprod:run-headless';
  /** Tag untagged cells with the roles `nb2prod tag` suggests (a dialog lists them first). */
  export const suggestRoles = 'mlprod:suggest-roles';
}

/** The name of the cell-toolbar widget factory (referenced from `schema/plugin.json`). */
export const ROLE_PICKER_FACTORY = 'mlprod-role';

/** The pseudo-role that removes any role tag from a cell. */
export const NO_ROLE = 'none';

export type RoleName = 'parameters' | 'load' | 'train' | 'predict' | 'skip';

/** One cell role: its tag, what it becomes in the package, and how the UI shows it. */
export interface IRole {
  readonly tag: RoleName;
  readonly becomes: string;
  readonly colour: string;
  readonly exported: boolean;
}

/** The role table, in display order (same order and colours as `roles.py`). */
export const ROLES: readonly IRole[] = [
  { tag: 'parameters', colour: '#7b61ff', becomes: 'params.Params dataclass', exported: true },
  { tag: 'load', colour: '#1f9d55', becomes: 'data.load(params)', exported: true },
  { tag: 'train', colour: '#e07b00', becomes: 'train.train(params, ...)', exported: true },
  {
    tag: 'predict',
    colour: '#0b7bd6',
    becomes: 'predict.predict(artifacts, input)',
    exported: true
  },
  { tag: 'skip', colour: '#8a8a8a', becomes: 'nothing (exploration)', exported: false }
];

/** The set of tags that are roles. */
export const ROLE_TAGS: ReadonlySet<string> = new Set(ROLES.map(role => role.tag));

/** The order in which the generated package runs the exported stages. */
export const STAGE_ORDER: readonly RoleName[] = ['parameters', 'load', 'train', 'predict'];

/** The notebook metadata key holding `{predict_input, predict_output}`. */
export const MLPROD_KEY = 'mlprod';

/** Look a role up by tag; undefined for tags that are not roles. */
export function roleInfo(tag: string): IRole | undefined {
  return ROLES.find(role => role.tag === tag);
}

/** Whether a string is a role tag. */
export function isRoleName(tag: unknown): tag is RoleName {
  return typeof tag === 'string' && ROLE_TAGS.has(tag);
}

/** The user settings of `schema/plugin.json`, with their defaults. */
export interface IMlprodSettings {
  /** Colour tagged cells (left border and chip colour). */
  colours: boolean;
  /** Convert's default output directory; `{stem}` is the notebook name without `.ipynb`. */
  outputDir: string;
  /** Wait this long after the last edit before re-analysing (ms). */
  analysisDebounceMs: number;
}

export const DEFAULT_SETTINGS: IMlprodSettings = {
  colours: true,
  outputDir: '{stem}_package',
  analysisDebounceMs: 300
};
