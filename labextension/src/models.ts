/**
 * The Models view: a converted package's model store, read through `mlprod/models`:
 * versions (created, metrics, parameters, aliases, drift and alerts when monitoring data
 * exists), Promote and Rollback with a confirmation, and the registry's history. The store
 * is the last converted package's `models/` (remembered per notebook), or one the user types.
 */

import { JupyterFrontEnd } from '@jupyterlab/application';
import { Dialog, MainAreaWidget, showDialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import * as api from './api';
import { defaultOutputDir } from './commands';
import { h, section } from './dom';
import { canRollback, historyLines, IStoreView, storeFor, versionRows } from './lifecycle';
import { showFailure } from './jobs';

/** The DOM id of the Models view (one per application; it follows the chosen store). */
export const MODELS_VIEW_ID = 'jp-mlprod-models';

const PACKAGES_KEY = 'jupyter-mlprod:packages';

/** Remember the package a notebook was last converted into (this browser only). */
export function rememberPackage(notebookPath: string, packageDir: string): void {
  try {
    const known = JSON.parse(window.localStorage.getItem(PACKAGES_KEY) ?? '{}');
    known[notebookPath] = packageDir;
    window.localStorage.setItem(PACKAGES_KEY, JSON.stringify(known));
  } catch {
    // Storage full or disabled: the Models view falls back to the default output directory.
  }
}

/** The package a notebook was last converted into, if this browser saw it. */
export function rememberedPackage(notebookPath: string): string | null {
  try {
    const known = JSON.parse(window.localStorage.getItem(PACKAGES_KEY) ?? '{}');
    return typeof known[notebookPath] === 'string' ? known[notebookPath] : null;
  } catch {
    return null;
  }
}

/** The command that opens the Models view; args `{store?: string}`. */
export const OPEN_MODELS_COMMAND = 'mlprod:open-models';

/** The store the Models view opens for a notebook: its last package's, else the default's. */
export function storeForNotebook(notebookPath: string, outputDirTemplate: string): string {
  return storeFor(
    rememberedPackage(notebookPath) ?? defaultOutputDir(notebookPath, outputDirTemplate)
  );
}

let openView: MainAreaWidget<ModelsView> | null = null;

/** Open (or bring forward) the Models view in the main area, showing `store`. */
export function showModels(shell: JupyterFrontEnd.IShell, store: string): ModelsView {
  if (!openView || openView.isDisposed) {
    const content = new ModelsView();
    openView = new MainAreaWidget({ content });
    openView.id = `${MODELS_VIEW_ID}-area`;
    openView.title.label = 'Models';
    openView.title.closable = true;
    content.title.changed.connect(() => {
      if (openView) {
        openView.title.label = content.title.label;
      }
    });
  }
  if (!openView.isAttached) {
    shell.add(openView, 'main');
  }
  shell.activateById(openView.id);
  openView.content.load(store);
  return openView.content;
}

/** The Models view's content. */
export class ModelsView extends Widget {
  constructor() {
    super();
    this.id = MODELS_VIEW_ID;
    this.addClass('jp-mlprod-models');
    this.title.label = 'Models';
    this.title.caption = 'Model versions of a converted package';
    this.title.closable = true;
    this._storeInput = h('input', { className: 'jp-mod-styled jp-mlprod-models-store' });
    this._storeInput.setAttribute('aria-label', 'Model store');
    this._storeInput.spellcheck = false;
    this._aliasInput = h('input', { className: 'jp-mod-styled jp-mlprod-models-alias' });
    this._aliasInput.setAttribute('aria-label', 'Alias');
    this._aliasInput.value = 'production';
    this._storeInput.addEventListener('keydown', event => {
      if (event.key === 'Enter') {
        this.load(this._storeInput.value.trim());
      }
    });
    this._aliasInput.addEventListener('change', () => this._render());
    const load = h('button', {
      className: 'jp-Button jp-mod-styled jp-mlprod-action',
      text: 'Load',
      data: { action: 'load-store' }
    });
    load.addEventListener('click', () => this.load(this._storeInput.value.trim()));
    this._body = h('div', { className: 'jp-mlprod-models-body' });
    this.node.append(
      h(
        'div',
        { className: 'jp-mlprod-models-toolbar' },
        h('label', {}, h('span', { text: 'Model store ' }), this._storeInput),
        load,
        h('label', {}, h('span', { text: 'Alias ' }), this._aliasInput)
      ),
      this._body
    );
  }

  /** The store shown (root-relative). */
  get store(): string {
    return this._store;
  }

  /** Show another store (root-relative path). */
  load(store: string): void {
    this._store = store;
    this._storeInput.value = store;
    this.title.label = store ? `Models: ${store}` : 'Models';
    this._view = null;
    this._error = '';
    this._render();
    if (!store) {
      return;
    }
    const request = ++this._requests;
    void api
      .getModels(store)
      .then(view => request === this._requests && this._show(view))
      .catch((error: Error) => {
        if (request === this._requests) {
          this._error = error.message;
          this._render();
        }
      });
  }

  /** Show the store of a notebook's last converted package (else the default output dir). */
  loadForPackage(packageDir: string): void {
    this.load(storeFor(packageDir));
  }

  private _show(view: IStoreView): void {
    this._view = view;
    this._error = '';
    this._render();
  }

  private get _alias(): string {
    return this._aliasInput.value.trim() || 'production';
  }

  private async _promote(version: string): Promise<void> {
    const alias = this._alias;
    const current = this._view?.aliases[alias]?.version;
    const answer = await showDialog({
      title: `Promote ${version}?`,
      body: `Point ${alias} at ${version}${current ? ` (now ${current})` : ''} in ${this._store}.`,
      buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Promote' })]
    });
    if (!answer.button.accept) {
      return;
    }
    try {
      this._show(await api.promoteModel(this._store, version, alias));
    } catch (error) {
      await showFailure('Promotion failed', error);
    }
  }

  private async _rollback(): Promise<void> {
    const alias = this._alias;
    const entry = this._view?.aliases[alias];
    const answer = await showDialog({
      title: `Roll back ${alias}?`,
      body: `Move ${alias} from ${entry?.version ?? '?'} back to ${entry?.previous ?? '?'}.`,
      buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Roll back' })]
    });
    if (!answer.button.accept) {
      return;
    }
    try {
      this._show(await api.rollbackModel(this._store, alias));
    } catch (error) {
      await showFailure('Rollback failed', error);
    }
  }

  private _render(): void {
    const view = this._view;
    if (!this._store) {
      this._body.replaceChildren(
        h('p', { className: 'jp-mlprod-empty', text: 'Type the path of a model store.' })
      );
      return;
    }
    if (this._error) {
      this._body.replaceChildren(
        h('p', { className: 'jp-mlprod-models-error', text: this._error })
      );
      return;
    }
    if (!view) {
      this._body.replaceChildren(h('p', { className: 'jp-mlprod-empty', text: 'Loading…' }));
      return;
    }
    if (!view.versions.length) {
      this._body.replaceChildren(
        h('p', {
          className: 'jp-mlprod-empty',
          text: view.exists
            ? `${view.store} holds no model versions yet: run the package's train.`
            : `No model store at ${view.store} yet: train the package (train --model-dir ${view.store}).`
        })
      );
      return;
    }
    const alias = this._alias;
    const head = ['Version', 'Created', 'Metrics', 'Parameters', 'Aliases', 'Drift', ''];
    const rows = h('tbody', {});
    for (const row of versionRows(view, alias)) {
      const promote = h('button', {
        className: 'jp-Button jp-mod-styled jp-mlprod-action',
        text: `Promote to ${alias}`,
        data: { action: 'promote', version: row.version }
      });
      promote.disabled = !row.promotable;
      promote.addEventListener('click', () => void this._promote(row.version));
      const aliases = h('td', { className: 'jp-mlprod-models-aliases' });
      for (const name of row.aliases) {
        aliases.appendChild(h('span', { className: 'jp-mlprod-alias', text: name }));
      }
      const drift = h(
        'td',
        { className: 'jp-mlprod-models-drift', data: { drift: row.driftState } },
        h('span', { text: row.drift }),
        ...row.alerts.map(alert => h('div', { className: 'jp-mlprod-alert', text: alert }))
      );
      rows.appendChild(
        h(
          'tr',
          { className: 'jp-mlprod-version', data: { version: row.version } },
          h('td', { className: 'jp-mlprod-models-version', text: row.version }),
          h('td', { text: row.created }),
          h('td', { text: row.problem ?? (row.metrics || '—'), title: row.problem ?? '' }),
          h('td', { text: row.params || '—' }),
          aliases,
          drift,
          h('td', {}, promote)
        )
      );
    }
    const table = h(
      'table',
      { className: 'jp-mlprod-models-table' },
      h('thead', {}, h('tr', {}, ...head.map(text => h('th', { text })))),
      rows
    );
    const rollback = h('button', {
      className: 'jp-Button jp-mod-styled jp-mlprod-action',
      text: `Roll back ${alias}`,
      data: { action: 'rollback' }
    });
    rollback.disabled = !canRollback(view, alias);
    rollback.addEventListener('click', () => void this._rollback());
    const aliasList = h('ul', { className: 'jp-mlprod-models-alias-list' });
    for (const [name, entry] of Object.entries(view.aliases)) {
      aliasList.appendChild(
        h('li', {
          text: `${name} → ${entry.version}${entry.previous ? ` (before: ${entry.previous})` : ''}`,
          data: { alias: name, version: entry.version }
        })
      );
    }
    for (const problem of Object.values(view.alias_problems ?? {})) {
      aliasList.appendChild(h('li', { className: 'jp-mlprod-models-error', text: problem }));
    }
    const history = h('ol', { className: 'jp-mlprod-models-history' });
    for (const line of historyLines(view)) {
      history.appendChild(
        h('li', {}, h('time', { text: line.time }), h('span', { text: ` ${line.text}` }))
      );
    }
    if (!history.childElementCount) {
      history.appendChild(h('li', { className: 'jp-mlprod-empty', text: 'No promotions yet.' }));
    }
    this._body.replaceChildren(
      section('Versions', 'jp-mlprod-models-versions', table),
      section('Aliases', 'jp-mlprod-models-aliases-section', aliasList, rollback),
      section('Registry history', 'jp-mlprod-models-history-section', history),
      h('p', {
        className: 'jp-mlprod-empty',
        text: view.monitoring
          ? 'Drift from the monitoring records in this store.'
          : 'No monitoring data in this store: drift appears once the package records it.'
      })
    );
  }

  private _store = '';
  private _view: IStoreView | null = null;
  private _error = '';
  private _requests = 0;
  private readonly _storeInput: HTMLInputElement;
  private readonly _aliasInput: HTMLInputElement;
  private readonly _body: HTMLElement;
}
