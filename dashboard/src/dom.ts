/**
 * The only way this app puts anything on the page: elements from createElement, text from text nodes.
 * Device ids, payloads and application names are data, never markup, so nothing here parses HTML.
 */
export type Child = Node | string | number | null | undefined | false;

export interface Attributes {
  className?: string;
  id?: string;
  title?: string;
  role?: string;
  href?: string;
  type?: string;
  name?: string;
  value?: string;
  placeholder?: string;
  htmlFor?: string;
  disabled?: boolean;
  checked?: boolean;
  required?: boolean;
  hidden?: boolean;
  tabIndex?: number;
  rows?: number;
  spellcheck?: boolean;
  autocomplete?: string;
  min?: string;
  max?: string;
  /** aria-* and data-* attributes, set as attributes (values are text, never markup). */
  aria?: Record<string, string>;
  data?: Record<string, string>;
  on?: { [K in keyof HTMLElementEventMap]?: (event: HTMLElementEventMap[K]) => void };
}

const PROPERTIES = [
  'className',
  'id',
  'title',
  'role',
  'type',
  'name',
  'value',
  'placeholder',
  'htmlFor',
  'disabled',
  'checked',
  'required',
  'hidden',
  'tabIndex',
  'rows',
  'spellcheck',
  'autocomplete',
  'min',
  'max',
] as const;

/** `h('td', { className: 'num' }, value)`: an element with properties and text or element children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const key of PROPERTIES) {
    const value = attributes[key];
    if (value !== undefined) (element as unknown as Record<string, unknown>)[key] = value;
  }
  // Only same-document links and http(s) URLs: a `javascript:` href would run code.
  if (attributes.href !== undefined && /^(#|\/|https?:)/.test(attributes.href))
    element.setAttribute('href', attributes.href);
  for (const [name, value] of Object.entries(attributes.aria ?? {}))
    element.setAttribute(`aria-${name}`, value);
  // dataset naming: `focusKey` is the attribute `data-focus-key`.
  for (const [name, value] of Object.entries(attributes.data ?? {}))
    element.setAttribute(`data-${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`, value);
  for (const [event, listener] of Object.entries(attributes.on ?? {}))
    element.addEventListener(event, listener as EventListener);
  append(element, ...children);
  return element;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
}

/** Replaces every child of `parent`. */
export function replace(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, ...children);
}

/** A label wrapping its control, so every input is labelled for screen readers and clicks. */
export function field(label: string, control: HTMLElement, hint?: string): HTMLLabelElement {
  return h(
    'label',
    { className: 'field' },
    h('span', { className: 'field-label' }, label),
    control,
    hint ? h('small', {}, hint) : null,
  );
}

export function select(
  options: readonly (readonly [value: string, label: string])[],
  selected: string,
  attributes: Attributes = {},
): HTMLSelectElement {
  const element = h('select', attributes);
  for (const [value, label] of options) {
    const option = h('option', { value }, label);
    option.selected = value === selected;
    element.append(option);
  }
  return element;
}
