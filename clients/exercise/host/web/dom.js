// Small DOM helpers shared by the three consoles. Every string from the API
// reaches the page through textContent or setAttribute, never innerHTML:
// titles, bodies and media items are written by players and scripted nodes,
// and nobody at the table may script another person's page.

function build(element, attributes, children) {
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'text') element.textContent = String(value);
    else if (name === 'class') element.setAttribute('class', Array.isArray(value) ? value.filter(Boolean).join(' ') : value);
    else if (name === 'style' && typeof value === 'object') Object.assign(element.style, value);
    else if (name.startsWith('on') && typeof value === 'function') element.addEventListener(name.slice(2), value);
    else if (name === 'value' || name === 'checked' || name === 'selected') element[name] = value;
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

// h('button', {class: 'x', onclick: f}, 'text', child...) builds an element.
export function h(tag, attributes, ...children) {
  return build(document.createElement(tag), attributes, children);
}

export function clear(element) {
  while (element.firstChild) element.firstChild.remove();
  return element;
}

// Replaces an element's children, keeping the element (and so its place and id).
export function fill(element, ...children) {
  clear(element);
  return build(element, {}, children);
}

// Shows `items` in `list` in the given order, building an element only for an
// item not shown before (`key` names it): items that never change once made
// (deliveries, media) keep their elements, so a screen reader announces only
// what is new and nothing the player has focused is swept away.
export function keyed_list(list, items, key, build, empty_text) {
  const existing = new Map([...list.querySelectorAll(':scope > [data-key]')].map((element) => [element.dataset.key, element]));
  const elements = items.map((item) => {
    const id = String(key(item));
    const element = existing.get(id) ?? build(item);
    element.dataset.key = id;
    return element;
  });
  for (const element of [...list.children]) if (!elements.includes(element)) element.remove();
  for (const element of elements) list.append(element);
  if (!items.length && empty_text) list.append(h('li', { class: 'empty' }, empty_text));
}

export function plural(count, one, many = `${one}s`) {
  return `${count} ${count === 1 ? one : many}`;
}

// A CSS colour from the API, or null: colours come from the policy's scheme,
// but a page still only ever applies something that is plainly a colour.
export function safe_colour(colour) {
  return typeof colour === 'string' && /^#[0-9a-fA-F]{3,8}$/.test(colour) ? colour : null;
}

// The marking of a portion as a banner in the scheme's colours. The marking
// text is always shown, so the banner reads without colour too.
export function marking_banner(item, extra = {}) {
  const marking = item.marking || item.label?.classification || 'UNMARKED';
  const background = safe_colour(item.colour);
  const text = safe_colour(item.text_colour);
  return h('span', {
    class: ['marking', extra.class],
    'data-testid': extra.testid ?? 'marking',
    style: background ? { background, color: text ?? '#000', borderColor: text ?? '#000' } : undefined,
  }, marking);
}

// "release_redacted" → "released in part"; the words a player reads.
const DECISION_WORDS = {
  release: 'released',
  release_redacted: 'released in part',
  hold: 'held for review',
  deny: 'denied',
  embargo: 'embargoed',
};
export function decision_key(decision) {
  return String(decision ?? '').toLowerCase();
}
export function decision_words(decision) {
  const key = decision_key(decision);
  return DECISION_WORDS[key] ?? key.replace(/_/g, ' ');
}
export function decision_chip(decision, attributes = {}) {
  const key = decision_key(decision);
  return h('span', { class: ['decision', `decision-${key}`], 'data-decision': key, ...attributes }, decision_words(key));
}

// A QR code the server drew (libqrencode) shown as an image, never inserted
// as markup: an <img> cannot run script whatever the SVG holds.
export function qr_image(svg, label) {
  if (typeof svg !== 'string' || svg === '') return null;
  return h('img', { class: 'qr', src: `data:image/svg+xml,${encodeURIComponent(svg)}`, alt: label, width: 176, height: 176 });
}

// A button that copies `text` to the clipboard (where the browser allows it).
export function copy_button(text, label = 'Copy') {
  return h('button', {
    type: 'button', class: 'button small',
    onclick: async (event) => {
      const button = event.currentTarget;
      try {
        await navigator.clipboard.writeText(text);
        button.textContent = 'Copied';
      } catch {
        button.textContent = 'Select and copy the link';
      }
      setTimeout(() => { button.textContent = label; }, 2000);
    },
  }, label);
}
