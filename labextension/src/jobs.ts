/**
 * The Pipeline panel's job section: starts Run headless and Verify for one notebook,
 * follows the server job phase by phase, and shows its outcome as a summary card (status,
 * duration, parameters as injected, metrics, first differing rows, links to the executed
 * notebook and the run folder). Below it, the notebook's Runs view (runs.ts). It belongs to
 * one notebook at a time, names it, and resets when the panel follows another.
 */

import { Dialog, showDialog, showErrorMessage } from '@jupyterlab/apputils';
import { NotebookPanel } from '@jupyterlab/notebook';
import { Widget } from '@lumino/widgets';

import * as api from './api';
import { FormBody, h, section } from './dom';
import { IJobState, IRunSummary, phaseLine, runsDirFor, summaryCard } from './lifecycle';
import {
  describeJob,
  IReportParameter,
  jobFinished,
  parseParameterValue,
  problemLabel,
  runFormDefaults
} from './model';
import { RunsList } from './runs';

/** What the job section needs from the application (commands, settings). */
export interface IJobSectionOptions {
  /** Open a root-relative file in JupyterLab (the executed notebook). */
  openFile: (path: string) => void;
  /** Show a root-relative directory in the file browser (the run folder). */
  showFolder: (path: string) => void;
  /** Open the Models view for the notebook (its last converted package's store). */
  openModels: (notebookPath: string) => void;
  /** The `runsDir` setting: runs go there, relative to the notebook's directory. */
  runsDirSetting: () => string | undefined;
}

/** When no application hooks are given (tests): nothing opens. */
const NO_HOOKS: IJobSectionOptions = {
  openFile: () => undefined,
  showFolder: () => undefined,
  openModels: () => undefined,
  runsDirSetting: () => undefined
};

/** How often a running job is polled (ms). */
const POLL_INTERVAL_MS = 1000;

/** Show a failed request: its message and, when the server sent them, its problems. */
export async function showFailure(title: string, error: unknown): Promise<void> {
  const message = (error as Error).message ?? String(error);
  const problems = error instanceof api.ApiError ? error.problems : [];
  if (!problems.length) {
    await showErrorMessage(title, message);
    return;
  }
  const list = h('ul', { className: 'jp-mlprod-problems' });
  for (const problem of problems) {
    list.appendChild(
      h('li', {
        className: `jp-mlprod-problem jp-mod-${problem.severity}`,
        text: problemLabel(problem)
      })
    );
  }
  await showDialog({
    title,
    body: new Widget({
      node: h('div', { className: 'jp-mlprod-failure' }, h('p', { text: message }), list)
    }),
    buttons: [Dialog.okButton()]
  });
}

/** The job section of the Pipeline panel. */
export class JobSection extends Widget {
  constructor(private readonly _options: IJobSectionOptions = NO_HOOKS) {
    super();
    this.addClass('jp-mlprod-job');
    this._card = h('div', { className: 'jp-mlprod-job-card' });
    this._runs = new RunsList({
      show: summary => this.showSummary(summary),
      rerun: summary => void this._rerun(summary),
      openModels: () => this._path && this._options.openModels(this._path)
    });
    this.node.append(this._card, this._runs.node);
  }

  /** The runs directory of the followed notebook (root-relative). */
  get runsDir(): string {
    return runsDirFor(this._path, this._options.runsDirSetting());
  }

  /** The notebook path this section's job belongs to. */
  get path(): string {
    return this._path;
  }

  /** Follow another notebook: forget the previous notebook's job. */
  setNotebook(path: string | null): void {
    if ((path ?? '') === this._path) {
      return;
    }
    this._stopPolling();
    this._path = path ?? '';
    this._jobId = '';
    this._card.replaceChildren();
    this._runs.setNotebook(this._path, this._path ? this.runsDir : '');
  }

  /** Show a finished run's summary card (from the Runs view or a finished job). */
  showSummary(summary: IRunSummary, message = ''): void {
    this._stopPolling();
    this._jobId = '';
    const card = summaryCard(summary, message);
    const status = h('div', {
      className: 'jp-mlprod-job-status',
      text: `${summary.kind}: ${summary.status}`,
      data: { status: summary.status }
    });
    this._card.replaceChildren(
      section(
        summary.kind === 'verify' ? 'Verification' : 'Headless run',
        'jp-mlprod-job-section',
        h('div', { className: 'jp-mlprod-job-notebook', text: this._path }),
        status,
        this._renderCard(card)
      )
    );
  }

  /** Save the notebook, start its verification and follow it. */
  async verify(notebook: NotebookPanel): Promise<void> {
    await notebook.context.save();
    this.setNotebook(notebook.context.path);
    try {
      const { job_id } = await api.startVerify(notebook.context.path, this.runsDir);
      this.follow(job_id);
    } catch (error) {
      await showFailure('Verification could not start', error);
    }
  }

  /** Ask for parameter values (pre-filled from the report), start a headless run, follow it. */
  async runHeadless(notebook: NotebookPanel, parameters: IReportParameter[]): Promise<void> {
    const defaults = runFormDefaults(parameters);
    const form = new FormBody(
      parameters.map(p => ({
        name: p.name,
        label: `${p.name}: ${p.type}`,
        value: defaults[p.name],
        hint: p.comment ?? undefined
      }))
    );
    const answer = await showDialog({
      title: 'Run headless',
      body: parameters.length ? form : 'The notebook has no parameters cell; run it as it is?',
      buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Run' })]
    });
    if (!answer.button.accept) {
      return;
    }
    const values: Record<string, unknown> = {};
    const typed = (answer.value as Record<string, string> | null) ?? {};
    try {
      for (const p of parameters) {
        // Only send what the user changed; the notebook's own defaults stay authoritative.
        if (typed[p.name] !== undefined && typed[p.name] !== defaults[p.name]) {
          values[p.name] = parseParameterValue(p.type, typed[p.name]);
        }
      }
    } catch (error) {
      await showErrorMessage('Invalid parameter', (error as Error).message);
      return;
    }
    await notebook.context.save();
    this.setNotebook(notebook.context.path);
    try {
      const { job_id } = await api.startRun(notebook.context.path, values, this.runsDir);
      this.follow(job_id);
    } catch (error) {
      await showFailure('The run could not start', error);
    }
  }

  /** Poll a job until it finishes, showing progress and, at the end, its record. */
  follow(jobId: string): void {
    this._stopPolling();
    this._jobId = jobId;
    this._card.replaceChildren(
      section(
        'Job',
        'jp-mlprod-job-section',
        h('div', { className: 'jp-mlprod-job-notebook', text: this._path }),
        h('div', { className: 'jp-mlprod-job-status', text: 'starting…' })
      )
    );
    const poll = async (): Promise<void> => {
      this._pollTimer = null;
      let job: IJobState;
      try {
        job = (await api.getJob(jobId)) as IJobState;
      } catch (error) {
        if (this._jobId === jobId) {
          this._render(null, (error as Error).message);
        }
        return;
      }
      if (this._jobId !== jobId || this.isDisposed) {
        return;
      }
      this._render(job, '');
      if (!jobFinished(job)) {
        this._pollTimer = window.setTimeout(() => void poll(), POLL_INTERVAL_MS);
      } else {
        this._runs.refresh();
      }
    };
    void poll();
  }

  dispose(): void {
    this._stopPolling();
    super.dispose();
  }

  private _stopPolling(): void {
    if (this._pollTimer !== null) {
      window.clearTimeout(this._pollTimer);
      this._pollTimer = null;
    }
  }

  private async _rerun(summary: IRunSummary): Promise<void> {
    if (!this._path) {
      return;
    }
    const what = summary.kind === 'verify' ? 'verification' : 'run';
    const answer = await showDialog({
      title: `Rerun ${summary.run_id}?`,
      body: `Start a new ${what} of ${this._path} with the parameters of ${summary.run_id}.`,
      buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Rerun' })]
    });
    if (!answer.button.accept) {
      return;
    }
    try {
      const { job_id } =
        summary.kind === 'verify'
          ? await api.startVerify(this._path, this.runsDir, summary.parameters)
          : await api.startRun(this._path, summary.parameters, this.runsDir);
      this.follow(job_id);
    } catch (error) {
      await showFailure('The rerun could not start', error);
    }
  }

  private _render(job: IJobState | null, failure: string): void {
    const finished = job !== null && jobFinished(job);
    const status = h('div', {
      className: 'jp-mlprod-job-status',
      text: job ? (finished ? describeJob(job) : phaseLine(job)) : `job lost: ${failure}`,
      data: { status: job?.status ?? 'failed', phase: job?.phase ?? '' }
    });
    const progress = h('progress', { className: 'jp-mlprod-job-progress' });
    if (job?.progress && job.progress.total > 0 && job.phase === 'executing notebook') {
      progress.max = job.progress.total;
      progress.value = job.progress.done;
    }
    const card =
      finished && job?.result ? this._renderCard(summaryCard(job.result, job.message)) : null;
    this._card.replaceChildren(
      section(
        job?.kind === 'verify' ? 'Verification' : 'Headless run',
        'jp-mlprod-job-section',
        h('div', { className: 'jp-mlprod-job-notebook', text: this._path }),
        status,
        job && !finished ? progress : null,
        card
      )
    );
  }

  private _renderCard(card: ReturnType<typeof summaryCard>): HTMLElement {
    const table = (caption: string, className: string, rows: string[][], head?: string[]) => {
      if (!rows.length) {
        return null;
      }
      const body = h('tbody', {});
      for (const row of rows) {
        body.appendChild(h('tr', {}, ...row.map(cell => h('td', { text: cell }))));
      }
      return h(
        'table',
        { className: `jp-mlprod-card-table ${className}` },
        h('caption', { text: caption }),
        head ? h('thead', {}, h('tr', {}, ...head.map(cell => h('th', { text: cell })))) : null,
        body
      );
    };
    const facts = h('dl', { className: 'jp-mlprod-card-facts' });
    for (const [name, value] of card.rows) {
      facts.append(h('dt', { text: name }), h('dd', { text: value }));
    }
    const buttons = h('div', { className: 'jp-mlprod-card-actions' });
    const executed = card.executedNotebook;
    if (executed) {
      const open = h('button', {
        className: 'jp-Button jp-mod-styled jp-mlprod-action',
        text: 'Open executed notebook',
        title: executed,
        data: { action: 'open-executed', path: executed }
      });
      open.addEventListener('click', () => this._options.openFile(executed));
      buttons.appendChild(open);
    }
    const folder = card.runDir;
    if (folder) {
      const show = h('button', {
        className: 'jp-Button jp-mod-styled jp-mlprod-action',
        text: 'Show run folder',
        title: folder,
        data: { action: 'show-run-folder', path: folder }
      });
      show.addEventListener('click', () => this._options.showFolder(folder));
      buttons.appendChild(show);
    }
    return h(
      'div',
      { className: 'jp-mlprod-job-result jp-mlprod-card', data: { status: card.status } },
      h('p', { className: 'jp-mlprod-card-headline', text: card.headline }),
      facts,
      table('Parameters as injected', 'jp-mlprod-card-parameters', card.parameters) ??
        h('p', { className: 'jp-mlprod-empty', text: 'Parameters: the notebook defaults.' }),
      table('Metrics', 'jp-mlprod-card-metrics', card.metrics),
      table(
        'First differing rows',
        'jp-mlprod-card-differences',
        card.differences.map(d => [d.row, d.column, d.notebook, d.package]),
        ['row', 'column', 'notebook', 'package']
      ),
      buttons
    );
  }

  private _path = '';
  private _jobId = '';
  private _pollTimer: number | null = null;
  private readonly _card: HTMLElement;
  private readonly _runs: RunsList;
}
