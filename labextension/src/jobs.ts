/**
 * The Pipeline panel's job section: starts Run headless and Verify for one notebook,
 * follows the server job, and shows its outcome. It belongs to one notebook at a time
 * and resets when the panel follows another.
 */

import { Dialog, showDialog, showErrorMessage } from '@jupyterlab/apputils';
import { NotebookPanel } from '@jupyterlab/notebook';
import { Widget } from '@lumino/widgets';

import * as api from './api';
import { FormBody, h, section } from './dom';
import {
  describeJob,
  IJob,
  IReportParameter,
  jobFinished,
  parseParameterValue,
  problemLabel,
  runFormDefaults
} from './model';

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
  constructor() {
    super();
    this.addClass('jp-mlprod-job');
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
    this.node.replaceChildren();
  }

  /** Save the notebook, start its verification and follow it. */
  async verify(notebook: NotebookPanel): Promise<void> {
    await notebook.context.save();
    this.setNotebook(notebook.context.path);
    try {
      const { job_id } = await api.startVerify(notebook.context.path);
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
      const { job_id } = await api.startRun(notebook.context.path, values);
      this.follow(job_id);
    } catch (error) {
      await showFailure('The run could not start', error);
    }
  }

  /** Poll a job until it finishes, showing progress and, at the end, its record. */
  follow(jobId: string): void {
    this._stopPolling();
    this._jobId = jobId;
    this.node.replaceChildren(
      section(
        'Job',
        'jp-mlprod-job-section',
        h('div', { className: 'jp-mlprod-job-status', text: 'starting…' })
      )
    );
    const poll = async (): Promise<void> => {
      this._pollTimer = null;
      let job: IJob;
      try {
        job = await api.getJob(jobId);
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

  private _render(job: IJob | null, failure: string): void {
    const status = h('div', {
      className: 'jp-mlprod-job-status',
      text: job ? describeJob(job) : `job lost: ${failure}`,
      data: { status: job?.status ?? 'failed' }
    });
    const progress = h('progress', { className: 'jp-mlprod-job-progress' });
    if (job?.progress && job.progress.total > 0) {
      progress.max = job.progress.total;
      progress.value = job.progress.done;
    }
    const result =
      job && jobFinished(job) && job.result !== null && job.result !== undefined
        ? h('pre', { className: 'jp-mlprod-job-result', text: JSON.stringify(job.result, null, 2) })
        : null;
    this.node.replaceChildren(
      section(
        job?.kind === 'verify' ? 'Verification' : 'Headless run',
        'jp-mlprod-job-section',
        h('div', { className: 'jp-mlprod-job-notebook', text: this._path }),
        status,
        job && !jobFinished(job) ? progress : null,
        result
      )
    );
  }

  private _path = '';
  private _jobId = '';
  private _pollTimer: number | null = null;
}
