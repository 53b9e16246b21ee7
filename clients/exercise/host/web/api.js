// The consoles' side of the host's API (docs/HOSTING.md): relative URLs, so a
// page works under its own secret's prefix (/s/SECRET/, /f/SECRET/, /e/SECRET/);
// a poll that asks only for what changed; POSTs whose errors come back naming
// the field to blame, shown beside that field.

import { h, fill } from './dom.js';

export class ApiError extends Error {
  constructor(status, message, field = '', retry_after = 0) {
    super(message);
    this.status = status;
    this.field = field;
    this.retry_after = retry_after;
  }
}

async function answer(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) {
    const retry = Number(response.headers.get('Retry-After') ?? 0);
    let message = body?.error ?? `the host answered ${response.status}`;
    if (response.status === 429) message = `${message} (too many requests: try again in ${retry || 1} s)`;
    if (response.status === 409) message = `${message} (the exercise has finished)`;
    throw new ApiError(response.status, message, body?.field ?? '', retry);
  }
  return body;
}

export async function post(path, body) {
  let response;
  try {
    response = await fetch(path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
      cache: 'no-store',
      credentials: 'omit',
    });
  } catch (error) {
    throw new ApiError(0, `the host cannot be reached (${error.message}); nothing was sent`);
  }
  return answer(response);
}

export async function get(path) {
  const response = await fetch(path, { cache: 'no-store', credentials: 'omit' });
  return answer(response);
}

// Polls `path?since=V` every `interval` ms. `on_view(view)` gets each new
// view; `on_status({state, last_ok, error})` says whether the page is live
// ("live"), catching up after a loss ("offline") or shut out ("refused").
// A lost network or a reload needs nothing special: the next answer is the
// whole view (since=0 after a reload), so the page shows where it is.
// Tells this page apart from another browser on the same seat, so the host can
// say how many pages have a seat open (docs/HOSTING.md).
const page_id = globalThis.crypto?.randomUUID?.() ?? Math.random().toString(36).slice(2);

export function start_polling(path, { on_view, on_status, interval = 1000 }) {
  let version = 0;
  let last_ok = null;
  let stopped = false;
  let timer = null;
  const tick = async () => {
    if (stopped) return;
    let delay = interval;
    try {
      const view = await get(`${path}?since=${version}&page=${page_id}`);
      last_ok = new Date();
      if (view && !view.unchanged) {
        version = Number(view.version) || 0;
        on_view(view);
      }
      on_status({ state: 'live', last_ok, version });
    } catch (error) {
      if (error instanceof ApiError && error.status === 429) delay = Math.max(interval, (error.retry_after || 1) * 1000);
      const refused = error instanceof ApiError && (error.status === 404 || error.status === 403);
      on_status({ state: refused ? 'refused' : 'offline', last_ok, version, error: error.message });
      if (refused) delay = 10 * interval;
    }
    timer = setTimeout(tick, delay);
  };
  tick();
  return {
    // Ask again now (after an action), without waiting for the next tick.
    refresh() {
      if (stopped) return;
      clearTimeout(timer);
      tick();
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

// Shows the connection state in \`element\` (a [data-testid=connection]). The
// line itself is not a live region (it changes every second); a screen reader
// hears only a change of state, through the hidden status inside it.
export function show_status(element, { state, last_ok, version, error }) {
  const changed = element.dataset.state !== state;
  element.dataset.state = state;
  const since = last_ok ? `last update ${last_ok.toLocaleTimeString()}` : 'no answer yet';
  const words = {
    live: `live · ${since}`,
    offline: `reconnecting… ${since}; what you see is as of then${error ? ` (${error})` : ''}`,
    refused: `this link is not (or no longer) valid: ${error}`,
  }[state];
  let text = element.querySelector('.connection-text');
  let announce = element.querySelector('[role="status"]');
  if (!text) {
    fill(element, h('span', { class: 'connection-dot', 'aria-hidden': 'true' }),
      text = h('span', { class: 'connection-text' }),
      announce = h('span', { class: 'visually-hidden', role: 'status' }));
  }
  fill(text, words);
  if (changed) fill(announce, { live: 'Connected to the exercise.', offline: 'Connection lost; reconnecting.', refused: words }[state]);
  element.title = version ? `view version ${version}` : '';
}

// --- errors beside the field to blame -----------------------------------------

export function clear_errors(form) {
  for (const element of form.querySelectorAll('[aria-invalid="true"]')) element.removeAttribute('aria-invalid');
  for (const element of form.querySelectorAll('.field-error')) element.remove();
  const general = form.querySelector('[data-role="form-error"]');
  if (general) fill(general);
}

// The control for an API field path ("portions[1].label.classification"): the
// element whose data-field is the longest prefix of it.
function control_for(form, field) {
  let best = null;
  for (const element of form.querySelectorAll('[data-field]')) {
    const name = element.dataset.field;
    if ((field === name || field.startsWith(`${name}.`) || field.startsWith(`${name}[`))
      && (!best || name.length > best.dataset.field.length)) best = element;
  }
  return best;
}

// Shows `error` in `form`: beside the field it names when the form has it,
// and always in the form's error line, so a screen reader hears it.
export function show_error(form, error) {
  const field = error.field || '';
  const control = field ? control_for(form, field) : null;
  const text = field ? `${error.message} (${field})` : error.message;
  if (control) {
    control.setAttribute('aria-invalid', 'true');
    const note = h('p', { class: 'field-error', 'data-testid': 'field-error', 'data-field': field, role: 'alert' }, text);
    control.after(note);
    if (typeof control.focus === 'function') control.focus();
  }
  const general = form.querySelector('[data-role="form-error"]');
  if (general) fill(general, text);
}

// Runs `action` for a form's submit, showing progress and any error in the form.
export async function submit_with_feedback(form, action, { done } = {}) {
  clear_errors(form);
  const buttons = [...form.querySelectorAll('button[type="submit"]')];
  for (const button of buttons) button.disabled = true;
  const status = form.querySelector('[data-role="form-status"]');
  if (status) fill(status);
  try {
    const result = await action();
    if (status && done) fill(status, done(result));
    return result;
  } catch (error) {
    if (error instanceof ApiError) show_error(form, error);
    else show_error(form, new ApiError(0, error.message));
    return undefined;
  } finally {
    for (const button of buttons) button.disabled = false;
  }
}
