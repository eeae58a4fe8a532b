/**
 * Pure view models for the lifecycle views: the Run/Verify summary card, the Runs list and
 * the Models view. No DOM, no server calls: jobs.ts, runs.ts and models.ts draw what these
 * functions compute, and the jest specs check them.
 */

import { IJob } from './model';

/** One difference between the notebook's and the package's predictions. */
export interface IDifference {
  row: number;
  column: string;
  notebook: unknown;
  package: unknown;
}

/** What `verify.json` says, as the server's run summary carries it. */
export interface IVerifySummary {
  ok: boolean;
  rows: number;
  mismatches: number;
  first_differences?: IDifference[] | null;
  columns?: string[] | null;
  rtol?: number | null;
  predict_input?: string | null;
  predict_output?: string | null;
  durations?: Record<string, number> | null;
  metrics?: Record<string, number> | null;
  message?: string;
}

/** A run directory as `GET mlprod/runs` and finished jobs describe it (paths root-relative). */
export interface IRunSummary {
  run_id: string;
  kind: 'run' | 'verify';
  status: string;
  start?: string | null;
  end?: string | null;
  duration?: number | null;
  parameters: Record<string, unknown>;
  notebook?: string | null;
  run_dir: string | null;
  executed_notebook: string | null;
  error?: {
    cell_index?: number | null;
    cell_number?: number | null;
    ename?: string;
    evalue?: string;
    role?: string | null;
  } | null;
  verify?: IVerifySummary | null;
}

/** A job as polled, with the phase the server reports and a run summary as its result. */
export interface IJobState extends IJob {
  phase?: string;
  result?: IRunSummary | null;
}

/** A labelled value of the card. */
export type Row = [string, string];

/** Everything the summary card shows. */
export interface ISummaryCard {
  title: string;
  status: 'succeeded' | 'failed' | 'running' | string;
  headline: string;
  rows: Row[];
  parameters: Row[];
  metrics: Row[];
  differences: { row: string; column: string; notebook: string; package: string }[];
  executedNotebook: string | null;
  runDir: string | null;
}

/** A value as it reads in the card: strings bare, the rest as JSON, long values cut. */
export function formatValue(value: unknown, limit = 80): string {
  let text: string;
  if (typeof value === 'string') {
    text = value;
  } else if (typeof value === 'number') {
    text = Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(6)));
  } else {
    text = JSON.stringify(value) ?? String(value);
  }
  return text.length > limit ? `${text.slice(0, limit - 1)}…` : text;
}

/** Seconds as people read them: `0.4 s`, `12.3 s`, `2 min 5 s`. */
export function formatDuration(seconds: number | null | undefined): string {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) {
    return '—';
  }
  if (seconds < 60) {
    return `${seconds.toFixed(1)} s`;
  }
  const minutes = Math.floor(seconds / 60);
  return `${minutes} min ${Math.round(seconds - minutes * 60)} s`;
}

/** An ISO time as `2026-12-01 13:05:09 UTC`; unknown input as it came, empty as `—`. */
export function formatDate(iso: string | null | undefined): string {
  if (!iso) {
    return '—';
  }
  const match = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})/.exec(iso);
  return match ? `${match[1]} ${match[2]} UTC` : iso;
}

/** The name/value rows of an object, in key order. */
export function entries(values: Record<string, unknown> | null | undefined): Row[] {
  return Object.entries(values ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, value]) => [name, formatValue(value)]);
}

/** The progress line of a running job: `Verify: training package…`, with cells when known. */
export function phaseLine(job: IJobState): string {
  const what = job.kind === 'verify' ? 'Verify' : 'Run';
  if (job.status !== 'running') {
    return `${what}: ${job.status}`;
  }
  const cells =
    job.progress && job.progress.total > 0
      ? ` (${job.progress.done}/${job.progress.total} cells)`
      : '';
  const phase = job.phase || 'starting';
  // Cells only mean something while the notebook executes.
  return `${what}: ${phase}…${phase === 'executing notebook' ? cells : ''}`;
}

/** The summary card of a finished run or verification. */
export function summaryCard(summary: IRunSummary, message = ''): ISummaryCard {
  const verify = summary.verify ?? null;
  const kind = summary.kind === 'verify' ? 'Verification' : 'Headless run';
  const rows: Row[] = [
    ['Run', summary.run_id],
    ['Started', formatDate(summary.start)],
    ['Duration', formatDuration(summary.duration)]
  ];
  if (summary.error) {
    const where =
      typeof summary.error.cell_number === 'number' ? `cell ${summary.error.cell_number}: ` : '';
    rows.push([
      'Error',
      `${where}${summary.error.ename ?? 'Error'}: ${summary.error.evalue ?? ''}`
    ]);
  }
  const metrics: Row[] = entries(verify?.metrics ?? {});
  if (verify) {
    rows.push(['Predict', `${verify.predict_input ?? '?'} → ${verify.predict_output ?? '?'}`]);
    rows.push(['Rows compared', String(verify.rows)]);
    rows.push(['Mismatches', String(verify.mismatches)]);
    const durations = verify.durations ?? {};
    if (typeof durations.train === 'number') {
      rows.push([
        'Package',
        `train ${formatDuration(durations.train)}, predict ${formatDuration(durations.predict)}`
      ]);
    }
  }
  const differences = (verify?.first_differences ?? []).map(d => ({
    row: String(d.row),
    column: d.column,
    notebook: formatValue(d.notebook, 40),
    package: formatValue(d.package, 40)
  }));
  const headline =
    (verify?.message || message || (summary.status === 'succeeded' ? 'finished' : 'failed')) ?? '';
  return {
    title: `${kind} ${summary.status}`,
    status: summary.status,
    headline,
    rows,
    parameters: entries(summary.parameters),
    metrics,
    differences,
    executedNotebook: summary.executed_notebook,
    runDir: summary.run_dir
  };
}

/** One line of the Runs list. */
export interface IRunRow {
  id: string;
  kind: string;
  date: string;
  status: string;
  parameters: string;
  duration: string;
}

/** The Runs list rows, newest first (the server already orders them; ids sort by time). */
export function runRows(runs: readonly IRunSummary[]): IRunRow[] {
  return [...runs]
    .sort((a, b) => (a.run_id < b.run_id ? 1 : a.run_id > b.run_id ? -1 : 0))
    .map(run => ({
      id: run.run_id,
      kind: run.kind,
      date: formatDate(run.start),
      status: run.status,
      parameters:
        entries(run.parameters)
          .map(([name, value]) => `${name}=${value}`)
          .join(', ') || '(defaults)',
      duration: formatDuration(run.duration)
    }));
}

/** The POSIX directory of a root-relative path (`''` for the root). */
export function dirname(path: string): string {
  const at = path.lastIndexOf('/');
  return at < 0 ? '' : path.slice(0, at);
}

/** Join root-relative path parts, ignoring empty ones. */
export function joinPath(...parts: string[]): string {
  return parts
    .filter(part => part)
    .join('/')
    .replace(/\/+/g, '/');
}

/** The runs directory for a notebook: the setting, relative to the notebook's directory. */
export function runsDirFor(notebookPath: string, setting: string | undefined): string {
  const chosen = (setting ?? '').trim() || 'runs';
  return joinPath(dirname(notebookPath), chosen.replace(/^\.\/+/, ''));
}

/** The model store a converted package trains into by default: `<package>/models`. */
export function storeFor(packageDir: string): string {
  return joinPath(packageDir, 'models');
}

/** One version of a model store, as `GET mlprod/models` lists it. */
export interface IStoredVersion {
  version: string;
  created?: string | null;
  metrics: Record<string, number>;
  params: Record<string, unknown>;
  aliases: string[];
  profiled?: boolean;
  drift?: { checks: number; drifted: boolean | null; last: string | null; alerts: string[] } | null;
  problem?: string | null;
}

/** One promotion or rollback. */
export interface IHistoryEvent {
  alias: string;
  action: 'promote' | 'rollback' | string;
  version: string;
  previous?: string | null;
  time?: string;
}

/** A model store as `GET mlprod/models` answers. */
export interface IStoreView {
  store: string;
  exists: boolean;
  versions: IStoredVersion[];
  aliases: Record<string, { version: string; previous: string | null }>;
  alias_problems?: Record<string, string>;
  history: IHistoryEvent[];
  monitoring: boolean;
}

/** A version row of the Models view. */
export interface IVersionRow {
  version: string;
  created: string;
  metrics: string;
  params: string;
  aliases: string[];
  drift: string;
  driftState: 'none' | 'ok' | 'drifted' | 'unknown';
  alerts: string[];
  problem: string | null;
  /** Whether Promote makes sense (usable, and the alias does not already point here). */
  promotable: boolean;
}

/** Drift as one short phrase for a version. */
export function driftText(drift: IStoredVersion['drift'], profiled: boolean): string {
  if (!drift) {
    return profiled ? 'no drift checks yet' : 'no monitoring data';
  }
  const state = drift.drifted === true ? 'drifted' : drift.drifted === false ? 'no drift' : '?';
  return `${state} (${drift.checks} check${drift.checks === 1 ? '' : 's'})`;
}

/** The version rows, newest first, for promoting to `alias`. */
export function versionRows(view: IStoreView, alias: string): IVersionRow[] {
  const current = view.aliases[alias]?.version ?? null;
  return [...view.versions]
    .sort((a, b) => versionNumber(b.version) - versionNumber(a.version))
    .map(v => ({
      version: v.version,
      created: formatDate(v.created),
      metrics: entries(v.metrics)
        .map(([name, value]) => `${name} ${value}`)
        .join(', '),
      params: entries(v.params)
        .map(([name, value]) => `${name}=${value}`)
        .join(', '),
      aliases: [...v.aliases].sort(),
      drift: driftText(v.drift, v.profiled === true),
      driftState: !v.drift
        ? 'none'
        : v.drift.drifted === true
          ? 'drifted'
          : v.drift.drifted === false
            ? 'ok'
            : 'unknown',
      alerts: v.drift?.alerts ?? [],
      problem: v.problem ?? null,
      promotable: !v.problem && v.version !== current
    }));
}

/** Whether `alias` can be rolled back (it has an earlier version). */
export function canRollback(view: IStoreView, alias: string): boolean {
  return Boolean(view.aliases[alias]?.previous);
}

/** The registry history as lines, newest first: `promote production → v2 (was v1)`. */
export function historyLines(view: IStoreView): { time: string; text: string }[] {
  return view.history.map(event => ({
    time: formatDate(event.time),
    text:
      `${event.action} ${event.alias} → ${event.version}` +
      (event.previous ? ` (was ${event.previous})` : '')
  }));
}

function versionNumber(version: string): number {
  const match = /^v(\d+)$/.exec(version);
  return match ? Number(match[1]) : 0;
}
