/**
 * Roles on cells: the cell-toolbar role picker and the at-a-glance decoration of tagged
 * cells (a class on the cell node plus a chip). The tag logic itself is in commands.ts.
 */

import { Cell } from '@jupyterlab/cells';
import { NotebookPanel } from '@jupyterlab/notebook';
import { IDisposable } from '@lumino/disposable';
import { Widget } from '@lumino/widgets';

import { cellRole, RoleChoice, roleClass, setCellRole } from './commands';
import { NO_ROLE, ROLES } from './tokens';

const TAGGED_CLASS = 'jp-mlprod-tagged';
const CHIP_CLASS = 'jp-mlprod-chip';

/**
 * The role picker shown in the active code cell's toolbar.
 *
 * JupyterLab's cell toolbar builds one per activation through the widget factory
 * registered under `ROLE_PICKER_FACTORY`; it follows the cell's tags while it lives.
 */
export class RolePicker extends Widget {
  constructor(private readonly _cell: Cell) {
    super({ node: document.createElement('div') });
    this.addClass('jp-mlprod-role-picker');
    const select = (this._select = document.createElement('select'));
    select.title = 'Pipeline role of this cell';
    select.setAttribute('aria-label', 'Pipeline role');
    const none = new Option('no role', NO_ROLE);
    select.add(none);
    for (const role of ROLES) {
      select.add(new Option(role.tag, role.tag));
    }
    select.addEventListener('change', this);
    this.node.appendChild(select);
    if (_cell.model.type !== 'code') {
      // Roles apply to code cells only; the toolbar is shared with markdown cells.
      this.hide();
    }
    _cell.model.metadataChanged.connect(this._sync, this);
    this._sync();
  }

  /** The `<select>` element (exposed for tests and styling). */
  get select(): HTMLSelectElement {
    return this._select;
  }

  handleEvent(event: Event): void {
    if (event.type === 'change') {
      setCellRole(this._cell.model, this._select.value as RoleChoice);
    }
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._select.removeEventListener('change', this);
    if (!this._cell.isDisposed) {
      this._cell.model.metadataChanged.disconnect(this._sync, this);
    }
    super.dispose();
  }

  private _sync(): void {
    const role = cellRole(this._cell.model);
    this._select.value = role ?? NO_ROLE;
    this._select.dataset.role = role ?? NO_ROLE;
  }

  private readonly _select: HTMLSelectElement;
}

/** Show `cell`'s role on its node: a role class, and a chip in the cell header. */
export function decorateCell(cell: Cell): void {
  const role = cell.model.type === 'code' ? cellRole(cell.model) : null;
  for (const info of ROLES) {
    cell.toggleClass(roleClass(info.tag), info.tag === role);
  }
  cell.toggleClass(TAGGED_CLASS, role !== null);
  // Cells build their DOM lazily (windowed notebooks): until then there is no header and
  // the chip waits on the cell node; RoleDecorations re-runs this once the cell is ready.
  const host = cell.node.querySelector<HTMLElement>(':scope > .jp-Cell-header') ?? cell.node;
  let chip = cell.node.querySelector<HTMLElement>(`.${CHIP_CLASS}`);
  if (role === null) {
    chip?.remove();
    return;
  }
  if (!chip) {
    chip = document.createElement('span');
    chip.className = CHIP_CLASS;
  }
  if (chip.parentElement !== host) {
    host.appendChild(chip);
  }
  chip.textContent = role;
  chip.dataset.role = role;
  chip.title = `Pipeline role: ${role} (${ROLES.find(r => r.tag === role)?.becomes ?? ''})`;
}

/**
 * Keeps every cell of one notebook decorated as cells are added and tags change.
 *
 * Created for each notebook panel through a document widget extension.
 */
export class RoleDecorations implements IDisposable {
  constructor(private readonly _panel: NotebookPanel) {
    void _panel.context.ready.then(() => {
      if (this._isDisposed) {
        return;
      }
      _panel.content.model?.cells.changed.connect(this._schedule, this);
      this._schedule();
    });
    _panel.disposed.connect(() => this.dispose());
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._panel.content.model?.cells.changed.disconnect(this._schedule, this);
    for (const cell of this._panel.content.widgets) {
      cell.model.metadataChanged.disconnect(this._onMetadata, this);
    }
  }

  /** Decorate on the next frame: the notebook creates cell widgets after the model changes. */
  private _schedule(): void {
    if (this._pending) {
      return;
    }
    this._pending = true;
    requestAnimationFrame(() => {
      this._pending = false;
      if (!this._isDisposed) {
        this._decorateAll();
      }
    });
  }

  private _decorateAll(): void {
    for (const cell of this._panel.content.widgets) {
      if (!this._watched.has(cell.model)) {
        this._watched.add(cell.model);
        cell.model.metadataChanged.connect(this._onMetadata, this);
        void cell.ready.then(() => {
          if (!cell.isDisposed) {
            decorateCell(cell);
          }
        });
      }
      decorateCell(cell);
    }
  }

  private _onMetadata(model: Cell['model']): void {
    const cell = this._panel.content.widgets.find(widget => widget.model === model);
    if (cell) {
      decorateCell(cell);
    }
  }

  private _isDisposed = false;
  private _pending = false;
  private readonly _watched = new WeakSet<object>();
}
