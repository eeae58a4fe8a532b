/**
 * DOM helpers shared by the panel's widgets: an element builder and a dialog form body.
 */

import { Dialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

/** Build an element with classes, text and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: { className?: string; text?: string; title?: string; data?: Record<string, string> } = {},
  ...children: (Node | null)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (props.className) {
    node.className = props.className;
  }
  if (props.text !== undefined) {
    node.textContent = props.text;
  }
  if (props.title) {
    node.title = props.title;
  }
  for (const [key, value] of Object.entries(props.data ?? {})) {
    node.dataset[key] = value;
  }
  for (const child of children) {
    if (child) {
      node.appendChild(child);
    }
  }
  return node;
}

/** A panel section: a heading over its children. */
export function section(
  title: string,
  className: string,
  ...children: (Node | null)[]
): HTMLElement {
  return h(
    'section',
    { className: `jp-mlprod-section ${className}` },
    h('h3', { text: title }),
    ...children
  );
}

/** A dialog body with one text field per entry, returning the edited values. */
export class FormBody extends Widget implements Dialog.IBodyWidget<Record<string, string>> {
  constructor(fields: { name: string; label: string; value: string; hint?: string }[]) {
    super();
    this.addClass('jp-mlprod-form');
    for (const field of fields) {
      const input = h('input', { className: 'jp-mod-styled jp-mlprod-form-input' });
      input.name = field.name;
      input.value = field.value;
      input.spellcheck = false;
      this._inputs.set(field.name, input);
      const label = h(
        'label',
        { className: 'jp-mlprod-form-field' },
        h('span', { text: field.label }),
        input
      );
      if (field.hint) {
        label.appendChild(h('small', { text: field.hint }));
      }
      this.node.appendChild(label);
    }
  }

  getValue(): Record<string, string> {
    const values: Record<string, string> = {};
    for (const [name, input] of this._inputs) {
      values[name] = input.value;
    }
    return values;
  }

  private readonly _inputs = new Map<string, HTMLInputElement>();
}
