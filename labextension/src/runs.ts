/**
 * The Runs view: the followed notebook's run history (id, date, status, parameters,
 * duration), newest first, read from its runs directory through `GET mlprod/runs`. A row
 * opens its summary card; Rerun starts the same run again.
 */

import * as api from './api';
import { h, section } from './dom';
import { IRunSummary, runRows } from './lifecycle';

/** What the list does with a chosen run (the job section owns the card and jobs). */
export interface IRunsListOptions {
  show: (summary: IRunSummary) => void;
  rerun: (summary: IRunSummary) => void;
  openModels: () => void;
}

/** The Runs section of the Pipeline panel. */
export class RunsList {
  constructor(private readonly _options: IRunsListOptions) {
    this.node = h('div', { className: 'jp-mlprod-runs' });
  }

  /** The section's element (the job section places it). */
  readonly node: HTMLElement;

  /** The runs listed now (newest first). */
  get runs(): readonly IRunSummary[] {
    return this._runs;
  }

  /** Follow a notebook and its runs directory ('' for none), and list its runs. */
  setNotebook(path: string, runsDir: string): void {
    this._path = path;
    this._runsDir = runsDir;
    this._runs = [];
    this._error = '';
    this._render();
    if (path) {
      this.refresh();
    }
  }

  /** List the runs again (after a job finished, or the Refresh button). */
  refresh(): void {
    const path = this._path;
    if (!path) {
      return;
    }
    const request = ++this._requests;
    void api
      .listRuns(path, this._runsDir)
      .then(answer => {
        if (request === this._requests && path === this._path) {
          this._runs = answer.runs;
          this._error = '';
          this._render();
        }
      })
      .catch((error: Error) => {
        if (request === this._requests && path === this._path) {
          this._runs = [];
          this._error =
            error instanceof api.ApiError && error.status === 404 && !error.message
              ? 'The server cannot list runs.'
              : error.message;
          this._render();
        }
      });
  }

  private _render(): void {
    if (!this._path) {
      this.node.replaceChildren();
      return;
    }
    const button = (action: string, text: string, title: string, run: () => void) => {
      const node = h('button', {
        className: 'jp-Button jp-mod-styled jp-mlprod-action',
        text,
        title,
        data: { action }
      });
      node.addEventListener('click', run);
      return node;
    };
    const tools = h(
      'div',
      { className: 'jp-mlprod-runs-tools' },
      button('refresh-runs', 'Refresh', `List the runs in ${this._runsDir}`, () => this.refresh()),
      button('open-models', 'Models…', 'Model versions of the converted package', () =>
        this._options.openModels()
      )
    );
    const list = h('ol', { className: 'jp-mlprod-run-list', data: { runsDir: this._runsDir } });
    const byId = new Map(this._runs.map(run => [run.run_id, run]));
    for (const row of runRows(this._runs)) {
      const summary = byId.get(row.id);
      if (!summary) {
        continue;
      }
      const open = h(
        'button',
        {
          className: 'jp-mlprod-run-open',
          title: `Show the summary of ${row.id}`,
          data: { runId: row.id }
        },
        h('span', {
          className: 'jp-mlprod-run-status',
          text: row.status,
          data: { status: row.status }
        }),
        h('span', { className: 'jp-mlprod-run-kind', text: row.kind }),
        h('span', { className: 'jp-mlprod-run-date', text: row.date }),
        h('span', { className: 'jp-mlprod-run-duration', text: row.duration }),
        h('span', { className: 'jp-mlprod-run-id', text: row.id }),
        h('span', { className: 'jp-mlprod-run-params', text: row.parameters })
      );
      open.addEventListener('click', () => this._options.show(summary));
      const rerun = button('rerun', 'Rerun', `Run again with the parameters of ${row.id}`, () =>
        this._options.rerun(summary)
      );
      list.appendChild(
        h(
          'li',
          { className: 'jp-mlprod-run', data: { runId: row.id, status: row.status } },
          open,
          rerun
        )
      );
    }
    if (!list.childElementCount) {
      list.appendChild(
        h('li', {
          className: 'jp-mlprod-empty',
          text: this._error || `No runs in ${this._runsDir || 'runs'} yet.`
        })
      );
    }
    this.node.replaceChildren(section('Runs', 'jp-mlprod-runs-section', tools, list));
  }

  private _path = '';
  private _runsDir = '';
  private _runs: IRunSummary[] = [];
  private _error = '';
  private _requests = 0;
}
