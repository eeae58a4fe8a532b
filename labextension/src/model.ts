/**
 * The Pipeline panel's model: the `check` report (schema `jupyter-mlprod/check` v2,
 * see docs/ARCHITECTURE.md) turned into what the panel shows. Plain functions and
 * values only, so it is unit-tested without a browser.
 */

import { roleInfo, STAGE_ORDER } from './tokens';

/** One cell of a stage, as the report gives it. */
export interface IReportCell {
  index: number;
  /** The 1-based number people see (JupyterLab's status bar); `index + 1`. */
  number?: number;
  id?: string | null;
  summary: string;
}

export interface IReportStage {
  role: string;
  cells: IReportCell[];
  reads: string[];
  provides: string[];
}

export interface IReportParameter {
  name: string;
  type: string;
  default: unknown;
  default_repr: string;
  comment?: string | null;
  cell: number;
  line: number;
}

export interface IReportFlow {
  name: string;
  from_role: string;
  from_cell: number;
  to_role: string;
  to_cell: number;
}

export interface IReportPredict {
  input: string | null;
  output: string | null;
  input_source?: string | null;
  output_source?: string | null;
  reason?: string | null;
  input_candidates: string[];
  output_candidates: string[];
  /** Set when the predictions are a column the predict code adds to a frame. */
  output_column?: string | null;
}

/** An untagged statement slicing pulled into a stage (check JSON `inferred`). */
export interface IReportInferred {
  cell: number;
  cell_number?: number;
  line: number;
  stage: string;
  because: string;
}

/** A statement of the predict cells the package leaves out (check JSON `left_out`). */
export interface IReportLeftOut {
  cell: number;
  cell_number?: number;
  line: number;
  code: string;
  reason: string;
}

/** The role `nb2prod tag` proposes for one code cell (check JSON `suggestions`). */
export interface IReportSuggestion {
  cell: number;
  cell_number?: number;
  role: string | null;
  reason: string;
  /** Present when the analysis proposes splitting the cell (lines where new cells start). */
  split?: unknown;
}

export interface IReportProblem {
  severity: 'error' | 'warning';
  code: string;
  message: string;
  cell?: number | null;
  cell_id?: string | null;
  line?: number | null;
  column?: number | null;
  hint?: string | null;
}

/** The `check --json` report (only the fields the panel reads are typed). */
export interface ICheckReport {
  schema: string;
  schema_version: number;
  notebook?: string;
  ok: boolean;
  stages: IReportStage[];
  parameters: IReportParameter[];
  flows: IReportFlow[];
  artifacts?: string[];
  predict?: IReportPredict | null;
  problems: IReportProblem[];
  inferred?: IReportInferred[];
  left_out?: IReportLeftOut[];
  suggestions?: IReportSuggestion[];
}

/** A stage as the panel draws it. */
export interface IStageView {
  role: string;
  colour: string;
  cells: IReportCell[];
  reads: string[];
  provides: string[];
}

/** The variables flowing from one stage to another. */
export interface IFlowView {
  fromRole: string;
  toRole: string;
  names: string[];
}

/** One predict picker: the current value and the options to offer. */
export interface IPickerView {
  /** The value the analysis uses (stored, given, or inferred); '' when none. */
  value: string;
  /** Where the value came from: `metadata`, `option` or `inferred`. */
  source: string;
  /** Candidates to offer, the current value included. */
  options: string[];
}

export interface IPipelineView {
  ok: boolean;
  stages: IStageView[];
  flows: IFlowView[];
  predictInput: IPickerView;
  predictOutput: IPickerView;
  predictReason: string;
  /** The predictions' column when the output is a frame column (`df["pred"]`). */
  predictOutputColumn: string | null;
  /** Statements of the predict cells that the package leaves out, and why. */
  leftOut: IReportLeftOut[];
  /** Untagged statements slicing pulled into stages. */
  inferred: IReportInferred[];
  parameters: IReportParameter[];
  artifacts: string[];
  problems: IReportProblem[];
  errorCount: number;
  warningCount: number;
}

/** The report schema this front end understands. */
export const REPORT_SCHEMA = 'jupyter-mlprod/check';
export const REPORT_SCHEMA_VERSION = 2;

/** Whether a server answer looks like a report this front end can read. */
export function isCheckReport(value: unknown): value is ICheckReport {
  if (!value || typeof value !== 'object') {
    return false;
  }
  const report = value as Partial<ICheckReport>;
  return (
    report.schema === REPORT_SCHEMA &&
    report.schema_version === REPORT_SCHEMA_VERSION &&
    Array.isArray(report.stages) &&
    Array.isArray(report.problems)
  );
}

/** Position of a role in the pipeline order; roles outside it sort last. */
function stageRank(role: string): number {
  const rank = STAGE_ORDER.indexOf(role as (typeof STAGE_ORDER)[number]);
  return rank < 0 ? STAGE_ORDER.length : rank;
}

/** The stages in pipeline order, with their colours, cells sorted by position. */
export function stageViews(stages: readonly IReportStage[]): IStageView[] {
  return [...stages]
    .sort((a, b) => stageRank(a.role) - stageRank(b.role))
    .map(stage => ({
      role: stage.role,
      colour: roleInfo(stage.role)?.colour ?? 'var(--jp-border-color1)',
      cells: [...stage.cells].sort((a, b) => a.index - b.index),
      reads: [...(stage.reads ?? [])],
      provides: [...(stage.provides ?? [])]
    }));
}

/** Group flows by (from, to) stage, names sorted and de-duplicated, in pipeline order. */
export function groupFlows(flows: readonly IReportFlow[]): IFlowView[] {
  const groups = new Map<string, IFlowView>();
  for (const flow of flows) {
    const key = `${flow.from_role}\u0000${flow.to_role}`;
    let group = groups.get(key);
    if (!group) {
      group = { fromRole: flow.from_role, toRole: flow.to_role, names: [] };
      groups.set(key, group);
    }
    if (!group.names.includes(flow.name)) {
      group.names.push(flow.name);
    }
  }
  const views = [...groups.values()];
  for (const view of views) {
    view.names.sort();
  }
  return views.sort(
    (a, b) =>
      stageRank(a.fromRole) - stageRank(b.fromRole) || stageRank(a.toRole) - stageRank(b.toRole)
  );
}

/**
 * The variables flowing between stages, from the stages' own `reads` and `provides`: each
 * name a stage reads comes from the latest earlier stage (in pipeline order) providing it.
 *
 * The stage summaries read the same fields, so the Flows list, the graph and the stage
 * summaries always agree on what, say, `load → predict` carries.
 */
export function stageFlows(stages: readonly IStageView[]): IFlowView[] {
  const ordered = [...stages].sort((a, b) => stageRank(a.role) - stageRank(b.role));
  const flows: IFlowView[] = [];
  ordered.forEach((stage, at) => {
    for (const name of stage.reads) {
      const source = ordered
        .slice(0, at)
        .reverse()
        .find(earlier => earlier.provides.includes(name));
      if (!source) {
        continue;
      }
      let flow = flows.find(f => f.fromRole === source.role && f.toRole === stage.role);
      if (!flow) {
        flow = { fromRole: source.role, toRole: stage.role, names: [] };
        flows.push(flow);
      }
      if (!flow.names.includes(name)) {
        flow.names.push(name);
      }
    }
  });
  for (const flow of flows) {
    flow.names.sort();
  }
  return flows.sort(
    (a, b) =>
      stageRank(a.fromRole) - stageRank(b.fromRole) || stageRank(a.toRole) - stageRank(b.toRole)
  );
}

/** The 1-based number people know a cell by (JupyterLab's status bar), from its index. */
export function cellNumber(index: number): number {
  return index + 1;
}

/** One piece of a message: plain text, or code (what the server wrote in backticks). */
export interface ITextPiece {
  text: string;
  code: boolean;
}

/** Split text on backtick pairs: `` `x` is read `` → [code x, text " is read"]. */
export function codeSpans(text: string): ITextPiece[] {
  const pieces: ITextPiece[] = [];
  const pattern = /`([^`]+)`/g;
  let last = 0;
  for (let match = pattern.exec(text); match; match = pattern.exec(text)) {
    if (match.index > last) {
      pieces.push({ text: text.slice(last, match.index), code: false });
    }
    pieces.push({ text: match[1], code: true });
    last = match.index + match[0].length;
  }
  if (last < text.length) {
    pieces.push({ text: text.slice(last), code: false });
  }
  return pieces;
}

/** Errors first, then by cell position (problems without a cell last), then line. */
export function sortProblems(problems: readonly IReportProblem[]): IReportProblem[] {
  const severity = (p: IReportProblem): number => (p.severity === 'error' ? 0 : 1);
  const cell = (p: IReportProblem): number => (typeof p.cell === 'number' ? p.cell : Infinity);
  return [...problems].sort(
    (a, b) => severity(a) - severity(b) || cell(a) - cell(b) || (a.line ?? 0) - (b.line ?? 0)
  );
}

/**
 * One predict picker from the chosen value and the candidates: the report's candidates
 * first, then every other name the predict cells read (input) or bind (output).
 */
export function pickerView(
  value: string | null | undefined,
  source: string | null | undefined,
  candidates: readonly string[] | undefined,
  others: readonly string[] = []
): IPickerView {
  const options = [...(candidates ?? [])];
  for (const name of others) {
    if (!options.includes(name)) {
      options.push(name);
    }
  }
  if (value && !options.includes(value)) {
    options.unshift(value);
  }
  return { value: value ?? '', source: source ?? '', options };
}

/**
 * The names a cell's top-level assignments bind (`y_pred = …`, `a, b = …`, `x: int = …`),
 * read from its source: the predict cells' bindings are all output candidates, whether the
 * analysis inferred them or not.
 */
export function assignedNames(source: string): string[] {
  const names: string[] = [];
  const assignment = /^([A-Za-z_][\w]*(?:\s*,\s*[A-Za-z_][\w]*)*)\s*(?::[^=]+)?=(?!=)/;
  for (const line of source.split('\n')) {
    const match = assignment.exec(line);
    if (!match) {
      continue;
    }
    for (const name of match[1].split(',').map(part => part.trim())) {
      if (!names.includes(name)) {
        names.push(name);
      }
    }
  }
  return names;
}

/**
 * Everything the panel shows, from one report.
 *
 * @param predictBindings names the predict cells bind (see `assignedNames`), offered as
 * outputs besides the report's candidates.
 */
export function pipelineView(
  report: ICheckReport,
  predictBindings: readonly string[] = []
): IPipelineView {
  const predict = report.predict;
  const problems = sortProblems(report.problems ?? []);
  const stages = stageViews(report.stages ?? []);
  const predictStage = stages.find(stage => stage.role === 'predict');
  const artifacts = report.artifacts ?? [];
  // Parameters and fitted artifacts are never the data predict is called on.
  const parameterNames = (report.parameters ?? []).map(parameter => parameter.name);
  const inputOthers = (predictStage?.reads ?? []).filter(
    name => !artifacts.includes(name) && !parameterNames.includes(name)
  );
  return {
    ok: report.ok,
    stages,
    flows: stageFlows(stages),
    predictInput: pickerView(
      predict?.input,
      predict?.input_source,
      predict?.input_candidates,
      inputOthers
    ),
    predictOutput: pickerView(predict?.output, predict?.output_source, predict?.output_candidates, [
      ...(predictStage?.provides ?? []),
      ...predictBindings
    ]),
    predictReason: predict?.reason ?? '',
    predictOutputColumn: predict?.output_column ?? null,
    leftOut: [...(report.left_out ?? [])],
    inferred: [...(report.inferred ?? [])],
    parameters: [...(report.parameters ?? [])],
    artifacts: [...(report.artifacts ?? [])],
    problems,
    errorCount: problems.filter(p => p.severity === 'error').length,
    warningCount: problems.filter(p => p.severity !== 'error').length
  };
}

/**
 * The notebook position of a cell named by the report.
 *
 * The id is preferred because the notebook may have changed since the report was made;
 * the index is the fallback (cells without ids, or an id no longer present).
 */
export function resolveCellIndex(
  cellIds: readonly (string | undefined)[],
  index: number | null | undefined,
  id: string | null | undefined
): number | null {
  if (id) {
    const found = cellIds.indexOf(id);
    if (found >= 0) {
      return found;
    }
  }
  if (typeof index === 'number' && index >= 0 && index < cellIds.length) {
    return index;
  }
  return null;
}

/** The one-line label of a problem: `cell 6, line 2: message` (the cell's 1-based number). */
export function problemLabel(problem: IReportProblem): string {
  const where: string[] = [];
  if (typeof problem.cell === 'number') {
    where.push(`cell ${cellNumber(problem.cell)}`);
  }
  if (typeof problem.line === 'number') {
    where.push(`line ${problem.line}`);
  }
  return where.length ? `${where.join(', ')}: ${problem.message}` : problem.message;
}

/**
 * Turn what the user typed in the Run form into the JSON value for a parameter.
 *
 * The text box is pre-filled with the parameter's `default_repr` (a Python literal), so
 * Python spellings are accepted (`True`, `None`, single quotes) besides JSON ones.
 */
export function parseParameterValue(type: string, text: string): unknown {
  const trimmed = text.trim();
  const base = type.replace(/\s*\|\s*None$/, '').trim();
  if (type.endsWith('None') && (trimmed === 'None' || trimmed === '')) {
    return null;
  }
  switch (base) {
    case 'int': {
      const value = Number(trimmed.replace(/_/g, ''));
      if (!Number.isInteger(value)) {
        throw new Error(`expected an integer, got ${JSON.stringify(text)}`);
      }
      return value;
    }
    case 'float': {
      const value = Number(trimmed.replace(/_/g, ''));
      if (trimmed === '' || Number.isNaN(value)) {
        throw new Error(`expected a number, got ${JSON.stringify(text)}`);
      }
      return value;
    }
    case 'bool': {
      const lowered = trimmed.toLowerCase();
      if (['true', '1', 'yes'].includes(lowered)) {
        return true;
      }
      if (['false', '0', 'no'].includes(lowered)) {
        return false;
      }
      throw new Error(`expected True or False, got ${JSON.stringify(text)}`);
    }
    case 'str':
      return unquote(trimmed) ?? text;
    default:
      return parseLiteral(trimmed);
  }
}

/** A quoted Python/JSON string literal's content, or null when `text` is not one. */
function unquote(text: string): string | null {
  const match = /^(['"])(.*)\1$/s.exec(text);
  if (!match) {
    return null;
  }
  if (match[1] === '"') {
    try {
      return JSON.parse(text) as string;
    } catch {
      return match[2];
    }
  }
  return match[2].replace(/\\'/g, "'");
}

/** Parse a list/dict/tuple literal by translating Python spellings to JSON. */
function parseLiteral(text: string): unknown {
  const json = text
    .replace(/^\((.*)\)$/s, '[$1]')
    .replace(/\bTrue\b/g, 'true')
    .replace(/\bFalse\b/g, 'false')
    .replace(/\bNone\b/g, 'null')
    .replace(/'([^'\\]*)'/g, '"$1"')
    .replace(/,\s*([\]}])/g, '$1');
  try {
    return JSON.parse(json);
  } catch {
    throw new Error(`cannot read ${JSON.stringify(text)} as a value`);
  }
}

/** The initial Run form: one text per parameter, its default as written in the notebook. */
export function runFormDefaults(parameters: readonly IReportParameter[]): Record<string, string> {
  const values: Record<string, string> = {};
  for (const parameter of parameters) {
    values[parameter.name] = parameter.default_repr;
  }
  return values;
}

/** A job as `GET mlprod/jobs/<id>` returns it. */
export interface IJob {
  job_id: string;
  kind: 'run' | 'verify';
  status: 'running' | 'succeeded' | 'failed';
  progress?: { done: number; total: number } | null;
  result?: unknown;
  message?: string;
}

/** A short progress line for a job: `run: running, 3/10 cells`. */
export function describeJob(job: IJob): string {
  const progress =
    job.progress && job.progress.total > 0
      ? `, ${job.progress.done}/${job.progress.total} cells`
      : '';
  const message = job.message ? ` — ${job.message}` : '';
  return `${job.kind}: ${job.status}${progress}${message}`;
}

/** Whether a job is over (the panel stops polling). */
export function jobFinished(job: IJob): boolean {
  return job.status !== 'running';
}

/** The Convert dialog's checkbox that does what `--lift-paths` does on the command line. */
export const LIFT_PATHS_LABEL = 'Lift hard-coded paths into parameters';

// Command-line wording of the analysis's hints → the lab action that does the same.
const LAB_ACTIONS: readonly [RegExp, string][] = [
  [/pass --lift-paths/g, `tick "${LIFT_PATHS_LABEL}" in the Convert dialog`],
  [
    /pass --predict-(input|output)(?: NAME)? or pick it in the Pipeline panel/g,
    'pick the $1 under Predict in this panel'
  ],
  [/pass --predict-(input|output) with/g, 'pick as the Predict $1'],
  [
    /check --predict-input \/ --predict-output \(or the Pipeline panel's pickers\)/g,
    "check the Predict pickers' Input and Output"
  ]
];

/** A problem's hint as the lab says it: lab actions instead of command-line flags. */
export function labHint(hint: string): string {
  let text = hint;
  for (const [pattern, action] of LAB_ACTIONS) {
    text = text.replace(pattern, action);
  }
  return text;
}
