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
import { setInferredRole } from './cellrole';
import {
  cellRole,
  defaultOutputDir,
  IPredictChoice,
  IRoleChange,
  planRoleChanges,
  readPredictChoice,
  setCellRole,
  setPredictChoice
} from './commands';
import { h } from './dom';
import { graphView, renderGraph } from './graph';
import { IJobSectionOptions, JobSection, showFailure } from './jobs';
import {
  assignedNames,
  cellNumber,
  codeSpans,
  ICheckReport,
  IPickerView,
  IPipelineView,
  IReportSuggestion,
  isCheckReport,
  labHint,
  LIFT_PATHS_LABEL,
  pipelineView,
  problemLabel,
  resolveCellIndex
} from './model';
import { rememberPackage } from './models';
import { DEFAULT_SETTINGS, IMlprodSettings, isRoleName, MLPROD_KEY, PANEL_ID } from './tokens';

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
  /** What the job section opens (executed notebooks, run folders, the Models view). */
  jobs?: IJobSectionOptions;
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
    this._job = new JobSection(_options.jobs);
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
    const form = new ConvertBody(defaultOutputDir(path, this._options.settings().outputDir));
    const answer = await showDialog({
      title: 'Convert to a package',
      body: form,
      buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Convert' })],
      focusNodeSelector: 'input'
    });
    if (!answer.button.accept || !answer.value) {
      return;
    }
    const outputDir = answer.value.outputDir.trim();
    const liftPaths = answer.value.liftPaths;
    if (!outputDir) {
      return;
    }
    await notebook.context.save();
    let result: api.IConvertResult;
    try {
      result = await api.convert({ path, output_dir: outputDir, lift_paths: liftPaths });
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
          result = await api.convert({
            path,
            output_dir: outputDir,
            lift_paths: liftPaths,
            force: true
          });
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
    rememberPackage(path, result.output_dir);
    await showDialog({
      title: 'Package written',
      body: new Widget({ node: this._convertedSummary(result) }),
      buttons: [Dialog.okButton()]
    });
  }

  /**
   * Apply the roles `nb2prod tag` suggests to the open notebook's untagged code cells, after
   * a dialog listing them with their reasons; one undoable change.
   */
  async suggestRoles(): Promise<void> {
    const notebook = this._notebook;
    if (!notebook?.model) {
      return;
    }
    this._clearTimer();
    await this._analyse(true);
    const report = this._report;
    if (!report || this._notebook !== notebook || !notebook.model) {
      return;
    }
    const cells = notebook.content.widgets;
    const current = cells.map(cell =>
      cell.model.type === 'code' ? cellRole(cell.model) : undefined
    );
    const changes = planRoleChanges(current, report.suggestions ?? []);
    const splits = (report.suggestions ?? []).filter(suggestion => suggestion.split);
    if (!changes.length && !splits.length) {
      await showDialog({
        title: 'Suggest roles',
        body: 'No suggestions: every code cell has a role or is best left untagged.',
        buttons: [Dialog.okButton()]
      });
      return;
    }
    const answer = await showDialog({
      title: 'Suggest roles',
      body: new Widget({ node: this._suggestionList(changes, splits) }),
      buttons: changes.length
        ? [Dialog.cancelButton(), Dialog.okButton({ label: `Apply ${changes.length} role(s)` })]
        : [Dialog.okButton()]
    });
    if (!answer.button.accept || !changes.length || this._notebook !== notebook) {
      return;
    }
    const model = notebook.model;
    if (!model) {
      return;
    }
    // One transaction: one step for the notebook's undo, one analysis afterwards.
    model.sharedModel.transact(() => {
      for (const change of changes) {
        const cell = cells[change.index];
        if (cell && !cell.isDisposed && cell.model.type === 'code') {
          setCellRole(cell.model, change.to);
        }
      }
    });
    this.refresh();
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

  private async _analyse(force = false): Promise<void> {
    const notebook = this._notebook;
    if (!notebook || !notebook.model) {
      this._render();
      return;
    }
    if (!this.isVisible && !force) {
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
    buttons.push(
      button('suggest', 'Suggest roles', 'Tag untagged cells with the roles nb2prod suggests', () =>
        this.suggestRoles()
      )
    );
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
    const view = pipelineView(report, this._predictBindings(notebook, report));
    this._markInferred(notebook, view);
    this._body.replaceChildren(
      this._renderStages(view),
      this._renderGraph(view),
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
      title: `Go to cell ${cellNumber(index)}`,
      data: { cell: String(index), cellNumber: String(cellNumber(index)) }
    });
    link.append(...rich(text));
    link.addEventListener('click', () => void this._jump(index, id));
    return link;
  }

  /** The names the predict cells bind, from their sources as edited. */
  private _predictBindings(notebook: NotebookPanel, report: ICheckReport): string[] {
    const predict = report.stages.find(stage => stage.role === 'predict');
    const names: string[] = [];
    for (const cell of predict?.cells ?? []) {
      const index = resolveCellIndex(
        notebook.content.widgets.map(widget => widget.model.id),
        cell.index,
        cell.id
      );
      const widget = index === null ? undefined : notebook.content.widgets[index];
      if (widget) {
        names.push(...assignedNames(widget.model.sharedModel.getSource()));
      }
    }
    return names;
  }

  /** Dashed "inferred" chips on the untagged cells slicing pulled into a stage. */
  private _markInferred(notebook: NotebookPanel, view: IPipelineView): void {
    const byCell = new Map<number, { stage: string; because: string }>();
    for (const item of view.inferred) {
      if (!byCell.has(item.cell)) {
        byCell.set(item.cell, item);
      }
    }
    notebook.content.widgets.forEach((cell, index) => {
      const item = byCell.get(index);
      setInferredRole(
        cell,
        item && isRoleName(item.stage) ? { stage: item.stage, because: item.because } : null
      );
    });
  }

  private _renderGraph(view: IPipelineView): HTMLElement {
    const drawing = renderGraph(graphView(view.stages, view.flows), node => {
      if (node.firstCell) {
        void this._jump(node.firstCell.index, node.firstCell.id);
      }
    });
    return this._section('Pipeline graph', 'jp-mlprod-graph-section', drawing);
  }

  private _suggestionList(
    changes: readonly IRoleChange[],
    splits: readonly IReportSuggestion[]
  ): HTMLElement {
    const list = h('ul', { className: 'jp-mlprod-suggestions' });
    for (const change of changes) {
      list.appendChild(
        h(
          'li',
          {
            className: 'jp-mlprod-suggestion',
            data: { cell: String(change.index), role: change.to }
          },
          h('strong', { text: `cell ${cellNumber(change.index)} → ${change.to}` }),
          h('span', { text: ': ' }),
          ...rich(change.reason)
        )
      );
    }
    for (const split of splits) {
      list.appendChild(
        h(
          'li',
          { className: 'jp-mlprod-suggestion jp-mod-split', data: { cell: String(split.cell) } },
          h('strong', { text: `cell ${cellNumber(split.cell)}: split` }),
          h('span', { text: ': ' }),
          ...rich(split.reason),
          h('span', { text: ' (split it by hand: Edit → Split Cell)' })
        )
      );
    }
    return h(
      'div',
      { className: 'jp-mlprod-suggest-body' },
      h('p', {
        text: changes.length
          ? 'Untagged code cells get these roles (cells you tagged keep theirs):'
          : 'Nothing to tag; the analysis suggests:'
      }),
      list
    );
  }

  private _renderStages(view: IPipelineView): HTMLElement {
    const list = h('ol', { className: 'jp-mlprod-stages' });
    for (const stage of view.stages) {
      const cells = h('ul', { className: 'jp-mlprod-stage-cells' });
      for (const cell of stage.cells) {
        cells.appendChild(
          h(
            'li',
            {},
            this._cellLink(cell.index, cell.id, `cell ${cellNumber(cell.index)}: ${cell.summary}`)
          )
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
          text: 'No tagged cells yet: click “＋ role” beside a cell, or Suggest roles.'
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
    const leftOut = h('ul', { className: 'jp-mlprod-left-out' });
    for (const item of view.leftOut) {
      leftOut.appendChild(
        h(
          'li',
          { data: { cell: String(item.cell) } },
          this._cellLink(
            item.cell,
            null,
            `cell ${cellNumber(item.cell)}, line ${item.line}: \`${item.code}\``
          ),
          h('span', { className: 'jp-mlprod-reason', text: ` — ${item.reason}` })
        )
      );
    }
    return this._section(
      'Predict',
      'jp-mlprod-predict-section',
      this._picker('Input', 'predict_input', view.predictInput, stored.predict_input ?? ''),
      this._picker('Output', 'predict_output', view.predictOutput, stored.predict_output ?? ''),
      view.predictOutputColumn
        ? h(
            'p',
            { className: 'jp-mlprod-output-column' },
            ...rich(`The predictions are the column \`${view.predictOutputColumn}\`.`)
          )
        : null,
      view.predictReason
        ? h('p', { className: 'jp-mlprod-reason' }, ...rich(view.predictReason))
        : null,
      view.leftOut.length
        ? h('p', { className: 'jp-mlprod-left-out-title', text: 'Left out of the package:' })
        : null,
      view.leftOut.length ? leftOut : null
    );
  }

  private _renderProblems(view: IPipelineView): HTMLElement {
    const list = h('ul', { className: 'jp-mlprod-problems' });
    for (const problem of view.problems) {
      const item = h('li', {
        className: `jp-mlprod-problem jp-mod-${problem.severity}`,
        title: labHint(problem.hint ?? ''),
        data: { code: problem.code, severity: problem.severity }
      });
      const label = problemLabel(problem);
      item.appendChild(
        typeof problem.cell === 'number'
          ? this._cellLink(problem.cell, problem.cell_id, label)
          : h('span', {}, ...rich(label))
      );
      if (problem.hint) {
        item.appendChild(h('div', { className: 'jp-mlprod-hint' }, ...rich(labHint(problem.hint))));
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

/** Text with its backticked parts as `<code>` (the server's messages quote names so). */
function rich(text: string): Node[] {
  return codeSpans(text).map(piece =>
    piece.code ? h('code', { text: piece.text }) : document.createTextNode(piece.text)
  );
}

/** The Convert dialog's body: the output folder and the lift-paths checkbox. */
class ConvertBody extends Widget implements Dialog.IBodyWidget<IConvertChoice> {
  constructor(outputDir: string) {
    super();
    this.addClass('jp-mlprod-form');
    this._output = h('input', { className: 'jp-mod-styled jp-mlprod-form-input' });
    this._output.name = 'output_dir';
    this._output.value = outputDir;
    this._output.spellcheck = false;
    this._lift = h('input', { className: 'jp-mlprod-lift-paths' });
    this._lift.type = 'checkbox';
    this._lift.name = 'lift_paths';
    this.node.append(
      h(
        'label',
        { className: 'jp-mlprod-form-field' },
        h('span', { text: 'Output directory' }),
        this._output,
        h('small', { text: 'Relative to the server root. The notebook is saved first.' })
      ),
      h(
        'label',
        { className: 'jp-mlprod-form-check' },
        this._lift,
        h('span', { text: LIFT_PATHS_LABEL }),
        h('small', {
          text: 'Each hard-coded file path or URL in the stages becomes a parameter of the package.'
        })
      )
    );
  }

  getValue(): IConvertChoice {
    return { outputDir: this._output.value, liftPaths: this._lift.checked };
  }

  private readonly _output: HTMLInputElement;
  private readonly _lift: HTMLInputElement;
}

/** What the Convert dialog returns. */
interface IConvertChoice {
  outputDir: string;
  liftPaths: boolean;
}
