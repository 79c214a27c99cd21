// Building DOM nodes without HTML strings: every value becomes a text node, so a transcript or a
// model answer containing markup is shown as the characters it is, never parsed.

/**
 * Create an element.
 * @param {string} tag
 * @param {object} props  className, text, dir, hidden, attrs {name: value}, on {event: handler}, and
 *                        any other key is set as a property (type, disabled, value, htmlFor, ...).
 * @param {...(Node|string|number|null|undefined|false)} children  strings become text nodes.
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null) continue;
    if (key === 'text') node.textContent = String(value);
    else if (key === 'className') node.className = value;
    else if (key === 'attrs') for (const [name, v] of Object.entries(value)) node.setAttribute(name, String(v));
    else if (key === 'on') for (const [event, handler] of Object.entries(value)) node.addEventListener(event, handler);
    else if (key === 'innerHTML' || key === 'outerHTML') throw new Error('el(): HTML strings are not allowed');
    else node[key] = value;
  }
  append(node, children);
  return node;
}

/** Append children (strings as text nodes; null/false skipped; arrays flattened). */
export function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Remove every child of `node`. */
export function clear(node) {
  node.replaceChildren();
  return node;
}

/** Text shown in a user's own words: its direction follows its first strong character. */
export function userText(tag, value, className) {
  return el(tag, { text: value ?? '', dir: 'auto', className });
}

/** `document.getElementById` that fails loudly when the page and the code disagree. */
export function byId(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`#${id} is missing from index.html`);
  return node;
}
