// Small DOM helpers. Every string from the gateway reaches the page through
// textContent or setAttribute, never through innerHTML: message titles and
// bodies are written by nodes, and a node must not be able to script the page.

const SVG_NS = 'http://www.w3.org/2000/svg';

function build(element, attributes, children) {
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'text') element.textContent = String(value);
    else if (name === 'class') element.setAttribute('class', Array.isArray(value) ? value.filter(Boolean).join(' ') : value);
    else if (name === 'style' && typeof value === 'object') Object.assign(element.style, value);
    else if (name.startsWith('on') && typeof value === 'function') element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

// h('button', {class: 'x', onclick: f}, 'text', child...) builds an HTML element.
export function h(tag, attributes, ...children) {
  return build(document.createElement(tag), attributes, children);
}

// s('circle', {cx: 1}) builds an SVG element.
export function s(tag, attributes, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attributes, children);
}

export function clear(element) {
  while (element.firstChild) element.firstChild.remove();
  return element;
}

// Whether clock times carry their date: on while the page shows an exercise,
// whose simulated clock runs over days (T-48h to T+24h), so that 06:00 on one
// day is not taken for 06:00 on another. A live gateway shows times of day.
let clock_dates = false;

// Sets whether clock times carry their date; true when that changed.
export function show_clock_dates(on) {
  const changed = clock_dates !== Boolean(on);
  clock_dates = Boolean(on);
  return changed;
}

// "14:02:03.120" (or "2026-11-21 14:02:03.120" with dates) from the gateway's
// ISO 8601 time (UTC), or the text as given; `fraction: false` drops the
// fraction of a second.
export function clock_time(iso, { fraction = true } = {}) {
  if (typeof iso !== 'string') return '';
  const match = /^(\d{4}-\d\d-\d\d)?T?.*?(\d\d:\d\d:\d\d)(\.\d+)?/.exec(iso);
  if (!match || !iso.includes('T')) return iso;
  const time = `${match[2]}${fraction && match[3] ? match[3] : ''}`;
  return clock_dates && match[1] ? `${match[1]} ${time}` : time;
}

// "2008-03-04 09:30 UTC" for exercise clocks.
export function exercise_time(iso) {
  if (typeof iso !== 'string' || iso === '') return '—';
  const match = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d)(:\d\d)?/.exec(iso);
  return match ? `${match[1]} ${match[2]}${match[3] && match[3] !== ':00' ? match[3] : ''} UTC` : iso;
}

export function plural(count, one, many = `${one}s`) {
  return `${count} ${count === 1 ? one : many}`;
}

export function short_version(version) {
  if (typeof version !== 'string') return '';
  const match = /^(sha256:)?([0-9a-f]{12})[0-9a-f]*$/.exec(version);
  return match ? `${match[1] ?? ''}${match[2]}…` : version;
}
