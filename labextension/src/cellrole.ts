/**
 * Roles on cells: the cell-toolbar role picker, and the decoration of code cells that is
 * always there even when JupyterLab hides the toolbar (narrow notebooks): a role class and
 * a chip that opens the role menu, a "＋ role" button on untagged cells, and a dashed
 * "inferred" chip with "Tag it" on cells slicing pulled into a stage. The tag logic itself
 * is in commands.ts.
 */

import { Cell } from '@jupyterlab/cells';
import { NotebookPanel } from '@jupyterlab/notebook';
import { CommandRegistry } from '@lumino/commands';
import { IDisposable } from '@lumino/disposable';
import { Menu, Widget } from '@lumino/widgets';

import { cellRole, RoleChoice, roleClass, setCellRole } from './commands';
import { NO_ROLE, roleInfo, RoleName, ROLES } from './tokens';

const TAGGED_CLASS = 'jp-mlprod-tagged';
const CHIP_CLASS = 'jp-mlprod-chip';
const INFERRED_CLASS = 'jp-mlprod-chip-inferred';
const HAS_INFERRED_CLASS = 'jp-mlprod-inferred';
const TAG_IT_CLASS = 'jp-mlprod-tag-it';
const ADD_ROLE_CLASS = 'jp-mlprod-add-role';

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

/** What slicing pulled an untagged cell into: the stage and why (check JSON `inferred`). */
export interface IInferredRole {
  stage: RoleName;
  because: string;
}

// The inferred stage of each cell model the panel's last analysis named; decorateCell reads
// it so a re-decoration (tags changed, cell re-rendered) keeps the dashed chip.
const inferredRoles = new WeakMap<object, IInferredRole>();

/** Record (or clear, with null) the inferred stage of a cell and redraw its chip. */
export function setInferredRole(cell: Cell, inferred: IInferredRole | null): void {
  if (inferred) {
    inferredRoles.set(cell.model, inferred);
  } else {
    inferredRoles.delete(cell.model);
  }
  decorateCell(cell);
}

// One menu, built on first use, with one command per role acting on the cell it was opened
// for: the chip's menu works whether or not JupyterLab shows the cell toolbar.
const menuCommands = new CommandRegistry();
let menuTarget: Cell | null = null;
let roleMenu: Menu | null = null;
const MENU_COMMAND = 'mlprod-chip:set-role';

function chipMenu(): Menu {
  if (roleMenu) {
    return roleMenu;
  }
  menuCommands.addCommand(MENU_COMMAND, {
    label: args => (args.role === NO_ROLE ? 'no role' : String(args.role)),
    isToggled: args =>
      menuTarget !== null && (cellRole(menuTarget.model) ?? NO_ROLE) === (args.role as string),
    execute: args => {
      if (menuTarget && !menuTarget.isDisposed) {
        setCellRole(menuTarget.model, args.role as RoleChoice);
      }
    }
  });
  roleMenu = new Menu({ commands: menuCommands });
  roleMenu.addClass('jp-mlprod-role-menu');
  roleMenu.title.label = 'Pipeline role';
  for (const role of ROLES) {
    roleMenu.addItem({ command: MENU_COMMAND, args: { role: role.tag } });
  }
  roleMenu.addItem({ type: 'separator' });
  roleMenu.addItem({ command: MENU_COMMAND, args: { role: NO_ROLE } });
  return roleMenu;
}

/** Open the role menu for `cell` under `anchor` (its chip or its "＋ role" button). */
export function openRoleMenu(cell: Cell, anchor: HTMLElement): void {
  menuTarget = cell;
  const box = anchor.getBoundingClientRect();
  chipMenu().open(box.left, box.bottom);
}

function button(className: string, text: string, title: string, run: () => void): HTMLElement {
  const node = document.createElement('button');
  node.type = 'button';
  node.className = className;
  node.textContent = text;
  node.title = title;
  // The cell must not take the mouse down as the start of a selection or an edit.
  node.addEventListener('mousedown', event => event.stopPropagation());
  node.addEventListener('click', event => {
    event.preventDefault();
    event.stopPropagation();
    run();
  });
  return node;
}

/**
 * Show `cell`'s role on its node: a role class, and a chip in the cell header that opens
 * the role menu. An untagged code cell gets a "＋ role" button in its prompt area instead
 * (a dashed "load · inferred" chip with "Tag it" when slicing pulled it into a stage).
 */
export function decorateCell(cell: Cell): void {
  const isCode = cell.model.type === 'code';
  const role = isCode ? cellRole(cell.model) : null;
  for (const info of ROLES) {
    cell.toggleClass(roleClass(info.tag), info.tag === role);
  }
  cell.toggleClass(TAGGED_CLASS, role !== null);
  // Cells build their DOM lazily (windowed notebooks): until then there is no header and
  // the chip waits on the cell node; RoleDecorations re-runs this once the cell is ready.
  const host = cell.node.querySelector<HTMLElement>(':scope > .jp-Cell-header') ?? cell.node;
  let chip = cell.node.querySelector<HTMLElement>(`.${CHIP_CLASS}`);
  const inferred = role === null && isCode ? inferredRoles.get(cell.model) : undefined;
  decorateAddRole(cell, isCode && role === null && !inferred);
  cell.toggleClass(HAS_INFERRED_CLASS, inferred !== undefined);
  if (role === null && !inferred) {
    chip?.remove();
    return;
  }
  if (!chip) {
    chip = document.createElement('span');
    chip.className = CHIP_CLASS;
    chip.setAttribute('role', 'button');
    chip.tabIndex = 0;
    chip.addEventListener('mousedown', event => event.stopPropagation());
    chip.addEventListener('click', event => {
      if ((event.target as HTMLElement).closest(`.${TAG_IT_CLASS}`)) {
        return;
      }
      event.stopPropagation();
      openRoleMenu(cell, chip!);
    });
  }
  if (chip.parentElement !== host) {
    host.appendChild(chip);
  }
  chip.replaceChildren();
  if (role !== null) {
    chip.classList.remove(INFERRED_CLASS);
    chip.textContent = role;
    chip.dataset.role = role;
    chip.title = `Pipeline role: ${role} (${roleInfo(role)?.becomes ?? ''}); click to change`;
    return;
  }
  const stage = inferred!.stage;
  chip.classList.add(INFERRED_CLASS);
  chip.dataset.role = stage;
  chip.title = `Untagged, but the ${stage} stage needs it: ${inferred!.because}`;
  chip.append(
    document.createTextNode(`${stage} · inferred`),
    button(TAG_IT_CLASS, 'Tag it', `Tag this cell \`${stage}\``, () =>
      setCellRole(cell.model, stage)
    )
  );
}

/** The "＋ role" button of an untagged code cell, in its prompt area (which never hides). */
function decorateAddRole(cell: Cell, wanted: boolean): void {
  const area = cell.node.querySelector<HTMLElement>('.jp-Cell-inputWrapper .jp-InputArea');
  let add = cell.node.querySelector<HTMLElement>(`.${ADD_ROLE_CLASS}`);
  if (!wanted || !area) {
    add?.remove();
    return;
  }
  if (!add) {
    add = button(ADD_ROLE_CLASS, '＋ role', 'Give this cell a pipeline role', () =>
      openRoleMenu(cell, add!)
    );
  }
  if (add.parentElement !== area) {
    area.appendChild(add);
  }
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
