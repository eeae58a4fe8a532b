/**
 * The "Pipeline" side panel: the active notebook's stages, the variables flowing
 * between them, the predict input/output pickers, the problems, and the Convert /
 * Verify / Run actions. It re-analyses the notebook as edited (debounced).
 */

import { Dialog, showDialog } from '@jupyterlab/apputils';
import { NotebookPanel } from '@jupyterlab/notebook';
import { LabIcon } from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import * as api from './api';
import { defaultOutputDir, IPredictChoice, readPredictChoice, setPredictChoice } from './commands';
import { FormBody, h } from './dom';
import { JobSection, showFailure } from './jobs';
import {
  ICheckReport,
  IPickerView,
  IPipelineView,
  isCheckReport,
  pipelineView,
  problemLabel,
  resolveCellIndex
} from './model';
import { DEFAULT_SETTINGS, IMlprodSettings, MLPROD_KEY, PANEL_ID } from './tokens';

/** The panel's icon: three stacked stages joined by a line. */
export const pipelineIcon = new LabIcon({
  name: 'jupyter-mlprod:pipeline',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 16 16">' +
    '<g class="jp-icon3" fill="#616161"><rect x="2" y="1" width="12" height="3" rx="1"/>' +
    '<rect x="2" y="6.5" width="12" height="3" rx="1"/><rect x="2" y="12" width="12" height="3" rx="1"/>' +
    '</g></svg>'
});

/** What the panel needs from the application; passed in so index.ts stays wiring only. */
export interface IPipelinePanelOptions {
  /** Bring a widget (the notebook) to the front. */
  activate: (widget: Widget) => void;
  /** The current settings. */
  settings: () => IMlprodSettings;
  /** The server's capabilities; null when the server extension is missing. */
  capabilities: Promise<api.ICapabilities | null>;
}

/** The Pipeline side panel. */
export class PipelinePanel extends Widget {
  constructor(private readonly _options: IPipelinePanelOptions) {
    super();
    this.id = PANEL_ID;
    this.addClass('jp-mlprod-panel');
    this.title.icon = pipelineIcon;
    this.title.caption = 'Pipeline';
    this._header = h('div', { className: 'jp-mlprod-header' });
    this._actions = h('div', { className: 'jp-mlprod-actions' });
    this._status = h('div', { className: 'jp-mlprod-status' });
    this._body = h('div', { className: 'jp-mlprod-body' });
    this._job = new JobSection();
    this._converted = h('div', { className: 'jp-mlprod-converted' });
    this.node.append(
      this._header,
      this._actions,
      this._status,
      this._body,
      this._converted,
      this._job.node
    );
    this._renderActions(null);
    void _options.capabilities.then(capabilities => {
      this._capabilities = capabilities;
      this._renderActions(capabilities);
    });
    this._render();
  }

  /** The notebook the panel follows (the active one). */
  get notebook(): NotebookPanel | null {
    return this._notebook;
  }

  /** The last report, if any. */
  get report(): ICheckReport | null {
    return this._report;
  }

  /** Whether the server offers headless runs / verification. */
  get capabilities(): api.ICapabilities | null {
    return this._capabilities;
  }

  /** Follow another notebook (or none). */
  setNotebook(notebook: NotebookPanel | null): void {
    if (notebook === this._notebook) {
      return;
    }
    if (this._notebook) {
      this._notebook.model?.contentChanged.disconnect(this._onChanged, this);
      this._notebook.context.pathChanged.disconnect(this._onChanged, this);
      this._notebook.disposed.disconnect(this._onDisposed, this);
    }
    this._notebook = notebook;
    this._report = null;
    this._error = '';
    this._converted.replaceChildren();
    this._job.setNotebook(notebook?.context.path ?? null);
    if (notebook) {
      notebook.disposed.connect(this._onDisposed, this);
      void notebook.context.ready.then(() => {
        if (this._notebook !== notebook) {
          return;
        }
        notebook.model?.contentChanged.connect(this._onChanged, this);
        notebook.context.pathChanged.connect(this._onChanged, this);
        this.refresh();
      });
    }
    this._render();
  }

  /** Re-analyse now (the Refresh button, and after settings change). */
  refresh(): void {
    this._clearTimer();
    void this._analyse();
  }

  /** Ask for an output directory, save, convert, and show the generated files. */
  async convert(): Promise<void> {
    const notebook = this._notebook;
    if (!notebook) {
      return;
    }
    const path = notebook.context.path;
    const form = new FormBody([
      {
        name: 'output_dir',
        label: 'Output directory',
        value: defaultOutputDir(path, this._options.settings().outputDir),
        hint: 'Relative to the server root. The notebook is saved first.'
      }
    ]);
    const answer = await showDialog({
      title: 'Convert to a package',
      body: form,
      buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Convert' })],
      focusNodeSelector: 'input'
    });
    if (!answer.button.accept || !answer.value) {
      return;
    }
    const outputDir = answer.value.output_dir.trim();
    if (!outputDir) {
      return;
    }
    await notebook.context.save();
    let result: api.IConvertResult;
    try {
      result = await api.convert({ path, output_dir: outputDir });
    } catch (error) {
      if (error instanceof api.ApiError && error.status === 409) {
        const overwrite = await showDialog({
          title: 'Output directory exists',
          body: `${outputDir} already exists. Replace it?`,
          buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Replace' })]
        });
        if (!overwrite.button.accept) {
          return;
        }
        try {
          result = await api.convert({ path, output_dir: outputDir, force: true });
        } catch (again) {
          await showFailure('Conversion failed', again);
          return;
        }
      } else {
        await showFailure('Conversion failed', error);
        return;
      }
    }
    this._showConverted(result);
    await showDialog({
      title: 'Package written',
      body: new Widget({ node: this._convertedSummary(result) }),
      buttons: [Dialog.okButton()]
    });
  }

  /** Start a verification of the saved notebook and follow it. */
  async verify(): Promise<void> {
    if (this._notebook && this._capabilities?.verify) {
      await this._job.verify(this._notebook);
    }
  }

  /** Ask for parameter values (pre-filled from the report), start a headless run, follow it. */
  async runHeadless(): Promise<void> {
    if (this._notebook && this._capabilities?.run) {
      await this._job.runHeadless(this._notebook, this._report?.parameters ?? []);
    }
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    if (this._stale) {
      this.refresh();
    }
  }

  dispose(): void {
    this._clearTimer();
    this._job.dispose();
    this.setNotebook(null);
    super.dispose();
  }

  private _onChanged(): void {
    this._stale = true;
    this._clearTimer();
    const delay = Math.max(
      0,
      this._options.settings().analysisDebounceMs ?? DEFAULT_SETTINGS.analysisDebounceMs
    );
    this._timer = window.setTimeout(() => {
      this._timer = null;
      void this._analyse();
    }, delay);
  }

  private _onDisposed(): void {
    this.setNotebook(null);
  }

  private _clearTimer(): void {
    if (this._timer !== null) {
      window.clearTimeout(this._timer);
      this._timer = null;
    }
  }

  private async _analyse(): Promise<void> {
    const notebook = this._notebook;
    if (!notebook || !notebook.model) {
      this._render();
      return;
    }
    if (!this.isVisible) {
      // Analysis costs the server a parse; do it when the panel is shown.
      this._stale = true;
      return;
    }
    this._stale = false;
    const request = ++this._requests;
    this._busy = true;
    this._renderStatus();
    try {
      const report = await api.analyse(notebook.context.path, notebook.model.toJSON());
      if (request !== this._requests || notebook !== this._notebook) {
        return;
      }
      if (!isCheckReport(report)) {
        throw new Error('the server answered with an unknown report format');
      }
      this._report = report;
      this._error = '';
    } catch (error) {
      if (request !== this._requests) {
        return;
      }
      this._report = null;
      this._error =
        error instanceof api.ApiError && error.status === 404
          ? 'The jupyter_mlprod server extension is not enabled.'
          : (error as Error).message;
    } finally {
      if (request === this._requests) {
        this._busy = false;
      }
    }
    this._render();
  }

  private _renderActions(capabilities: api.ICapabilities | null): void {
    const button = (
      action: string,
      label: string,
      title: string,
      run: () => Promise<void> | void
    ) => {
      const node = h('button', {
        className: 'jp-Button jp-mod-styled jp-mlprod-action',
        text: label,
        title,
        data: { action }
      });
      node.addEventListener('click', () => void run());
      return node;
    };
    const buttons = [
      button('convert', 'Convert', 'Convert the notebook into a package', () => this.convert())
    ];
    // Verify and Run exist only when the server can do them: hidden, not disabled.
    if (capabilities?.verify) {
      buttons.push(
        button('verify', 'Verify', 'Re-run the notebook and compare with the package', () =>
          this.verify()
        )
      );
    }
    if (capabilities?.run) {
      buttons.push(
        button('run', 'Run headless', 'Run the notebook with papermill', () => this.runHeadless())
      );
    }
    buttons.push(button('refresh', 'Refresh', 'Analyse the notebook again', () => this.refresh()));
    this._actions.replaceChildren(...buttons);
  }

  private _renderStatus(): void {
    let text = '';
    let state = 'idle';
    if (!this._notebook) {
      text = 'Open a notebook to see its pipeline.';
      state = 'empty';
    } else if (this._busy && !this._report) {
      text = 'Analysing…';
      state = 'busy';
    } else if (this._error) {
      text = this._error;
      state = 'failed';
    } else if (this._report) {
      const view = pipelineView(this._report);
      text = view.ok
        ? `Ready to convert${view.warningCount ? `, ${view.warningCount} warning(s)` : ''}.`
        : `${view.errorCount} error(s) to fix before converting.`;
      state = view.ok ? 'ok' : 'errors';
    }
    this._status.textContent = text;
    this._status.dataset.state = state;
  }

  private _render(): void {
    const notebook = this._notebook;
    this._header.replaceChildren(
      h('h2', { className: 'jp-mlprod-title', text: 'Pipeline' }),
      h('div', { className: 'jp-mlprod-notebook', text: notebook ? notebook.context.path : '' })
    );
    this._actions.hidden = !notebook;
    this._renderStatus();
    const report = this._report;
    if (!notebook || !report) {
      this._body.replaceChildren();
      return;
    }
    const view = pipelineView(report);
    this._body.replaceChildren(
      this._renderStages(view),
      this._renderFlows(view),
      this._renderPredict(view),
      this._renderProblems(view)
    );
  }

  private _section(title: string, className: string, ...children: (Node | null)[]): HTMLElement {
    return h(
      'section',
      { className: `jp-mlprod-section ${className}` },
      h('h3', { text: title }),
      ...children
    );
  }

  private _cellLink(index: number, id: string | null | undefined, text: string): HTMLElement {
    const link = h('button', {
      className: 'jp-mlprod-cell-link',
      text,
      title: `Go to cell ${index}`,
      data: { cell: String(index) }
    });
    link.addEventListener('click', () => void this._jump(index, id));
    return link;
  }

  private _renderStages(view: IPipelineView): HTMLElement {
    const list = h('ol', { className: 'jp-mlprod-stages' });
    for (const stage of view.stages) {
      const cells = h('ul', { className: 'jp-mlprod-stage-cells' });
      for (const cell of stage.cells) {
        cells.appendChild(
          h('li', {}, this._cellLink(cell.index, cell.id, `cell ${cell.index}: ${cell.summary}`))
        );
      }
      const item = h(
        'li',
        { className: 'jp-mlprod-stage', data: { role: stage.role } },
        h('span', { className: 'jp-mlprod-chip', text: stage.role, data: { role: stage.role } }),
        cells,
        stage.reads.length
          ? h('div', { className: 'jp-mlprod-reads', text: `reads ${stage.reads.join(', ')}` })
          : null,
        stage.provides.length
          ? h('div', {
              className: 'jp-mlprod-provides',
              text: `provides ${stage.provides.join(', ')}`
            })
          : null
      );
      item.style.setProperty(
        '--jp-mlprod-role-colour',
        `var(--jp-mlprod-${stage.role}, ${stage.colour})`
      );
      list.appendChild(item);
    }
    if (!view.stages.length) {
      list.appendChild(
        h('li', {
          className: 'jp-mlprod-empty',
          text: 'No tagged cells yet: pick a role in a cell toolbar.'
        })
      );
    }
    return this._section('Stages', 'jp-mlprod-stages-section', list);
  }

  private _renderFlows(view: IPipelineView): HTMLElement {
    const list = h('ul', { className: 'jp-mlprod-flows' });
    for (const flow of view.flows) {
      list.appendChild(
        h(
          'li',
          { className: 'jp-mlprod-flow', data: { from: flow.fromRole, to: flow.toRole } },
          h('span', {
            className: 'jp-mlprod-flow-route',
            text: `${flow.fromRole} → ${flow.toRole}: `
          }),
          h('code', { text: flow.names.join(', ') })
        )
      );
    }
    if (view.artifacts.length) {
      list.appendChild(
        h('li', {
          className: 'jp-mlprod-artifacts',
          text: `artifacts: ${view.artifacts.join(', ')}`
        })
      );
    }
    if (!list.childElementCount) {
      list.appendChild(
        h('li', { className: 'jp-mlprod-empty', text: 'No variables flow between stages.' })
      );
    }
    return this._section('Variables flowing', 'jp-mlprod-flows-section', list);
  }

  private _picker(
    label: string,
    field: keyof IPredictChoice,
    picker: IPickerView,
    stored: string
  ): HTMLElement {
    const select = h('select', {
      className: `jp-mlprod-picker jp-mlprod-${field.replace('_', '-')}`
    });
    select.setAttribute('aria-label', label);
    const automatic =
      picker.source !== 'metadata' && picker.value ? `automatic (${picker.value})` : 'automatic';
    select.add(new Option(automatic, ''));
    const options =
      stored && !picker.options.includes(stored) ? [stored, ...picker.options] : picker.options;
    for (const name of options) {
      select.add(new Option(name, name));
    }
    select.value = stored;
    select.addEventListener('change', () => {
      const model = this._notebook?.model;
      if (model) {
        setPredictChoice(model, field, select.value);
      }
    });
    return h('label', { className: 'jp-mlprod-picker-field' }, h('span', { text: label }), select);
  }

  private _renderPredict(view: IPipelineView): HTMLElement {
    const stored = readPredictChoice(this._notebook?.model?.getMetadata(MLPROD_KEY));
    return this._section(
      'Predict',
      'jp-mlprod-predict-section',
      this._picker('Input', 'predict_input', view.predictInput, stored.predict_input ?? ''),
      this._picker('Output', 'predict_output', view.predictOutput, stored.predict_output ?? ''),
      view.predictReason
        ? h('p', { className: 'jp-mlprod-reason', text: view.predictReason })
        : null
    );
  }

  private _renderProblems(view: IPipelineView): HTMLElement {
    const list = h('ul', { className: 'jp-mlprod-problems' });
    for (const problem of view.problems) {
      const item = h('li', {
        className: `jp-mlprod-problem jp-mod-${problem.severity}`,
        title: problem.hint ?? '',
        data: { code: problem.code, severity: problem.severity }
      });
      const label = problemLabel(problem);
      item.appendChild(
        typeof problem.cell === 'number'
          ? this._cellLink(problem.cell, problem.cell_id, label)
          : h('span', { text: label })
      );
      if (problem.hint) {
        item.appendChild(h('div', { className: 'jp-mlprod-hint', text: problem.hint }));
      }
      list.appendChild(item);
    }
    if (!view.problems.length) {
      list.appendChild(h('li', { className: 'jp-mlprod-empty', text: 'No problems found.' }));
    }
    return this._section('Problems', 'jp-mlprod-problems-section', list);
  }

  private async _jump(index: number, id: string | null | undefined): Promise<void> {
    const notebook = this._notebook;
    if (!notebook) {
      return;
    }
    const content = notebook.content;
    const target = resolveCellIndex(
      content.widgets.map(cell => cell.model.id),
      index,
      id
    );
    if (target === null) {
      return;
    }
    this._options.activate(notebook);
    content.deselectAll();
    content.activeCellIndex = target;
    content.mode = 'command';
    await content.scrollToItem(target, 'center');
    content.activeCell?.node.focus();
  }

  private _convertedSummary(result: api.IConvertResult): HTMLElement {
    const files = h('ul', { className: 'jp-mlprod-files' });
    for (const file of result.files) {
      files.appendChild(h('li', {}, h('code', { text: file })));
    }
    const warnings = h('ul', { className: 'jp-mlprod-warnings' });
    for (const warning of result.warnings) {
      warnings.appendChild(h('li', { text: warning }));
    }
    return h(
      'div',
      { className: 'jp-mlprod-convert-result', data: { outputDir: result.output_dir } },
      h('p', { text: `Wrote ${result.files.length} file(s) to ${result.output_dir}:` }),
      files,
      result.warnings.length ? h('p', { text: 'Warnings:' }) : null,
      result.warnings.length ? warnings : null
    );
  }

  private _showConverted(result: api.IConvertResult): void {
    this._converted.replaceChildren(
      this._section(
        'Last conversion',
        'jp-mlprod-converted-section',
        this._convertedSummary(result)
      )
    );
  }

  private _notebook: NotebookPanel | null = null;
  private _report: ICheckReport | null = null;
  private _capabilities: api.ICapabilities | null = null;
  private _error = '';
  private _busy = false;
  private _stale = true;
  private _requests = 0;
  private _timer: number | null = null;
  private readonly _header: HTMLElement;
  private readonly _actions: HTMLElement;
  private readonly _status: HTMLElement;
  private readonly _body: HTMLElement;
  private readonly _job: JobSection;
  private readonly _converted: HTMLElement;
}
