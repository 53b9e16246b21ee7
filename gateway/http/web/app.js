// The icegate dashboard: wires the event feed to the store and the views.
// Contract with the gateway: docs/DASHBOARD.md.
import { api, EventFeed } from './api.js';
import { h, clear, clock_time, exercise_time, plural, short_version, show_clock_dates } from './dom.js';
import { Store, decision_info, hop_line, merge_detail } from './model.js';
import { Iceberg } from './iceberg.js';
import { render_detail, marking_pill } from './detail.js';

const store = new Store();
const $ = (selector) => document.querySelector(selector);

const ui = {
  gateway: $('[data-testid="gateway-id"]'),
  policy_name: $('#policy-name'),
  policy_version: $('#policy-version'),
  nodes_count: $('[data-testid="node-count"]'),
  connection: $('[data-testid="connection"]'),
  connection_state: $('#connection-state'),
  connection_detail: $('#connection-detail'),
  exercise: $('[data-testid="exercise-controls"]'),
  messages: $('[data-testid="message-list"]'),
  messages_empty: $('#messages-empty'),
  message_count: $('#message-count'),
  holds: $('[data-testid="holds"]'),
  holds_empty: $('#holds-empty'),
  hold_count: $('#hold-count'),
  shadow: $('[data-testid="shadow"]'),
  shadow_name: $('#shadow-name'),
  shadow_count: $('[data-testid="shadow-count"]'),
  shadow_list: $('[data-testid="shadow-list"]'),
  peers: $('[data-testid="peers"]'),
  peer_list: $('[data-testid="peer-list"]'),
  peer_count: $('#peer-count'),
  detail: $('[data-testid="detail"]'),
  legend: $('#legend'),
  banner: $('#banner'),
};

const layout = $('main.layout');
const iceberg = new Iceberg($('[data-testid="iceberg"]'), store);

// --- the selected message ----------------------------------------------------

const view = {
  selected: null, // message id
  fetched: null, // GET /api/messages/ID for the selected message
  error: '',
  tab: 'message',
  request: 0,
  select_tab(tab, focus) {
    view.tab = tab;
    render_selected();
    if (focus) document.getElementById(`tab-${tab}`)?.focus();
  },
  close() {
    const id = view.selected;
    view.selected = null;
    view.fetched = null;
    view.error = '';
    render_all();
    ui.messages.querySelector(`[data-message-id="${CSS.escape(id)}"]`)?.focus();
  },
};

async function select_message(id) {
  if (view.selected !== id) view.tab = 'message';
  view.selected = id;
  view.fetched = null;
  view.error = '';
  const request = ++view.request;
  render_all();
  try {
    const detail = await api.message(id);
    if (request !== view.request) return;
    view.fetched = detail;
  } catch (error) {
    if (request !== view.request) return;
    // A 404 for a message the feed showed means the gateway restarted or
    // forgot it; what the feed brought is still worth showing.
    view.error = error.status === 404 ? 'the gateway no longer knows this message; showing what the feed brought'
      : `could not load the message: ${error.message}`;
  }
  render_selected();
}

// --- rendering ---------------------------------------------------------------

function render_header() {
  ui.gateway.textContent = store.gateway_id || '';
  ui.policy_name.textContent = store.policy.name || '…';
  ui.policy_version.textContent = short_version(store.policy.version);
  ui.policy_version.title = store.policy.version;
  const nodes = [...store.nodes.values()];
  ui.nodes_count.textContent = `${nodes.filter((n) => n.connected).length} of ${plural(nodes.length, 'node')} connected`;
}

function render_legend() {
  const seen = new Set();
  const markings = [];
  for (const marking of store.markings.values()) {
    if (seen.has(marking.name)) continue;
    seen.add(marking.name);
    markings.push(marking);
  }
  ui.legend.replaceChildren(
    h('span', { class: 'legend-title' }, 'Markings'),
    ...markings.map((m) => marking_pill(store, m.name, m)));
}

function render_exercise() {
  const exercise = store.exercise;
  ui.exercise.hidden = !exercise;
  if (!exercise) return;
  $('#exercise-name').textContent = exercise.name || 'exercise';
  const state = $('[data-testid="exercise-state"]');
  state.textContent = exercise.state ?? '';
  state.dataset.state = exercise.state ?? '';
  $('[data-testid="exercise-clock"]').textContent = exercise_time(exercise.clock);
  $('[data-testid="exercise-clock"]').setAttribute('datetime', exercise.clock ?? '');
  $('[data-testid="exercise-next"]').textContent = exercise.next ? exercise_time(exercise.next) : 'nothing left';
  const finished = exercise.state === 'finished';
  $('[data-testid="exercise-pause"]').disabled = finished || exercise.state === 'paused';
  $('[data-testid="exercise-resume"]').disabled = finished || exercise.state !== 'paused';
  $('[data-testid="exercise-step"]').disabled = finished || exercise.state !== 'paused' || !exercise.next;
}

function decision_summary(message) {
  const counts = new Map();
  for (const d of message.decisions.values()) counts.set(d.decision, (counts.get(d.decision) ?? 0) + 1);
  return ['RELEASE', 'RELEASE_REDACTED', 'HOLD', 'DENY']
    .filter((d) => counts.has(d))
    .map((d) => `${counts.get(d)} ${decision_info(d).word}`)
    .join(' · ') || 'awaiting decisions';
}

const MAX_CHIPS = 8;
const message_items = new Map(); // id -> <li>

function fill_message_button(button, message) {
  const submission = message.submission ?? {};
  const decisions = [...message.decisions.values()];
  button.replaceChildren(
    h('span', { class: 'message-top' },
      marking_pill(store, submission.marking, submission),
      h('span', { class: 'message-title', 'data-testid': 'message-title', title: submission.title || message.id },
        submission.title || message.id)),
    h('span', { class: 'message-meta' },
      h('time', { class: 'message-time', datetime: message.first_time }, clock_time(message.first_time, { fraction: false })),
      ` from ${submission.originator ?? '?'} · `,
      h('span', { 'data-testid': 'message-summary' }, decision_summary(message))),
    h('span', { class: 'message-chips' },
      decisions.slice(0, MAX_CHIPS).map((d) => h('span', {
        class: `chip decision-chip decision-${decision_info(d.decision).css}`, 'data-testid': 'decision-chip',
        'data-recipient': d.recipient, 'data-decision': d.decision, title: `${d.recipient}: ${decision_info(d.decision).word}`,
      }, h('span', { 'aria-hidden': 'true' }, decision_info(d.decision).glyph), ` ${d.recipient}`)),
      decisions.length > MAX_CHIPS ? h('span', { class: 'chip' }, `+${decisions.length - MAX_CHIPS} more`) : null));
  button.setAttribute('aria-pressed', String(view.selected === message.id));
  button.setAttribute('aria-label', `${submission.title || message.id}, ${submission.marking ?? ''}, from ${submission.originator ?? 'unknown'}: ${decision_summary(message)}`);
}

// Updates the list in place: items keep their focus and position.
function render_messages(changed) {
  const messages = store.recent_messages();
  const live = new Set(messages.map((m) => m.id));
  for (const [id, item] of message_items) {
    if (!live.has(id)) {
      item.remove();
      message_items.delete(id);
    }
  }
  let previous = null;
  for (const message of messages) {
    let item = message_items.get(message.id);
    if (!item) {
      const button = h('button', {
        type: 'button', class: 'message-button', 'data-testid': 'message-item', 'data-message-id': message.id,
        onclick: () => select_message(message.id),
      });
      item = h('li', {}, button);
      message_items.set(message.id, item);
      fill_message_button(button, message);
    } else if (!changed || changed.has(message.id)) {
      fill_message_button(item.firstChild, message);
    } else {
      item.firstChild.setAttribute('aria-pressed', String(view.selected === message.id));
    }
    const expected = previous ? previous.nextSibling : ui.messages.firstChild;
    if (expected !== item) ui.messages.insertBefore(item, expected);
    previous = item;
  }
  ui.messages_empty.hidden = messages.length > 0;
  ui.message_count.textContent = messages.length ? `(${messages.length})` : '';
}

const hold_items = new Map(); // hold id -> <li>

function hold_item(hold) {
  const message = store.messages.get(hold.message_id);
  const title = message?.submission?.title || hold.message_id;
  const status = h('p', { class: 'hold-status', role: 'status', 'data-testid': 'hold-status' });
  const reviewers = hold.reviewers ?? [];
  const select_id = `reviewer-${hold.hold_id}`;
  const reason_id = `reason-${hold.hold_id}`;
  const select = h('select', { id: select_id, 'data-testid': 'hold-reviewer' },
    reviewers.map((r) => h('option', { value: r }, r)));
  const reason = h('input', { id: reason_id, type: 'text', placeholder: 'optional', maxlength: '500', 'data-testid': 'hold-reason' });
  const buttons = [];
  const act = async (decision) => {
    for (const b of buttons) b.disabled = true;
    status.textContent = `${decision === 'approve' ? 'approving' : 'refusing'}…`;
    status.className = 'hold-status';
    try {
      await api.decide_hold(hold.hold_id, decision, select.value, reason.value);
      status.textContent = `${decision === 'approve' ? 'approved' : 'refused'} as ${select.value}`;
    } catch (error) {
      status.textContent = error.message;
      status.className = 'hold-status error';
      status.scrollIntoView({ block: 'nearest' });
      for (const b of buttons) b.disabled = false;
    }
  };
  for (const [decision, label] of [['approve', 'Approve'], ['refuse', 'Refuse']]) {
    buttons.push(h('button', { type: 'button', class: `button button-${decision}`, 'data-testid': `hold-${decision}`,
      onclick: () => act(decision) }, label));
  }
  return h('li', { class: 'hold', 'data-testid': 'hold-item', 'data-hold-id': hold.hold_id },
    h('div', { class: 'hold-head' },
      h('span', { class: 'chip chip-kind' }, hold.kind),
      h('strong', { class: 'hold-title' }, title)),
    h('p', { class: 'hold-meta' },
      `for ${(hold.recipients ?? []).join(', ') || '—'}`,
      hold.held_for ? ` · waiting on ${hold.held_for}` : ''),
    hold.reason ? h('p', { class: 'hold-reason' }, hold.reason) : null,
    reviewers.length ? h('div', { class: 'hold-form' },
      h('label', { for: select_id }, 'Decide as'), select,
      h('label', { for: reason_id }, 'Reason'), reason,
      h('div', { class: 'hold-buttons' }, buttons))
      : h('p', { class: 'muted' }, hold.kind === 'embargo'
        ? 'An embargo lifts on its time or event; nobody decides it here.' : 'No node may decide this hold now.'),
    status);
}

function render_holds() {
  for (const [id, item] of hold_items) {
    if (!store.holds.has(id)) {
      item.remove();
      hold_items.delete(id);
    }
  }
  for (const hold of store.holds.values()) {
    const known = hold_items.get(hold.hold_id);
    if (known && known._hold === hold) continue;
    const item = hold_item(hold);
    item._hold = hold;
    if (known) known.replaceWith(item);
    else ui.holds.append(item);
    hold_items.set(hold.hold_id, item);
  }
  ui.holds_empty.hidden = store.holds.size > 0;
  ui.hold_count.textContent = store.holds.size ? `(${store.holds.size})` : '';
}

// The shadow policy (serve --shadow-policy): how often it would differ, and the latest differences.
function shadow_line(event) {
  const changes = (event.changes ?? []).map((c) => `${c.portion} ${c.change} (${c.enforced} → ${c.shadow})`);
  return `${event.sender} → ${event.recipient}: ${event.enforced} now, ${event.shadow} under the shadow; ${changes.join(', ')}`;
}

function render_shadow() {
  const shadow = store.shadow;
  ui.shadow.hidden = !shadow;
  if (!shadow) return;
  ui.shadow_name.textContent = shadow.name;
  ui.shadow_name.title = shadow.version;
  ui.shadow_count.textContent = `(${plural(shadow.differences, 'difference')})`;
  ui.shadow_list.replaceChildren(...shadow.latest.map((event) =>
    h('li', { class: 'shadow-item', 'data-testid': 'shadow-item', 'data-message-id': event.message_id },
      h('time', { datetime: event.time }, clock_time(event.time)), ' ', shadow_line(event))));
}

// This gateway's peer gateways (docs/FEDERATION.md) and each link's state.
function render_peers() {
  const peers = [...store.peers.values()];
  ui.peers.hidden = peers.length === 0;
  if (!peers.length) return;
  const up = peers.filter((p) => p.state === 'up').length;
  ui.peer_count.textContent = `(${up} of ${peers.length} up)`;
  ui.peer_list.replaceChildren(...peers.map((peer) =>
    h('li', { class: `peer peer-${peer.state}`, 'data-testid': 'peer-item', 'data-peer-id': peer.id, 'data-state': peer.state },
      h('span', { class: 'peer-dot', 'aria-hidden': 'true' }),
      h('strong', { class: 'peer-id' }, peer.id),
      ' ',
      h('span', { class: 'peer-state', 'data-testid': 'peer-state' }, peer.state),
      peer.direction ? ` (${peer.direction})` : '',
      peer.since ? h('span', { class: 'peer-since' }, ' since ', h('time', { datetime: peer.since }, clock_time(peer.since))) : null,
      peer.address ? h('span', { class: 'peer-address' }, ` · ${peer.address}`) : null,
      peer.last_error ? h('p', { class: 'peer-error', 'data-testid': 'peer-error' }, peer.last_error) : null)));
}

function event_line(event) {
  switch (event.type) {
    case 'frame': return `${event.direction === 'in' ? `${event.node} → gateway` : `gateway → ${event.node}`} ${event.frame_type} (${event.bytes} B)`;
    case 'connection': return `${event.node} ${event.state}${event.reason ? `: ${event.reason}` : ''}`;
    case 'submission': return `${event.originator} submitted “${event.title}” (${event.marking})`;
    case 'decision': return `decision for ${event.recipient}: ${event.decision}${event.rules?.length ? ` (${event.rules.join(', ')})` : ''}`;
    case 'delivery': return `delivered to ${event.recipient} (${event.decision})`;
    case 'ack': return `${event.node} acknowledged`;
    case 'receipt': return `receipt to ${event.originator}`;
    case 'hold': return `hold ${event.hold_id} (${event.kind}) for ${(event.recipients ?? []).join(', ')}`;
    case 'hold_closed': return `hold ${event.hold_id} ${event.result}${event.by ? ` by ${event.by}` : ''}`;
    case 'shadow_difference': return `shadow: ${shadow_line(event)}`;
    case 'hop': return hop_line(event);
    case 'peer': return `peer ${event.id} ${event.state}${event.last_error ? `: ${event.last_error}` : ''}`;
    case 'policy': return `policy now ${event.name} (${short_version(event.version)})`;
    case 'exercise': return `exercise ${event.state}, clock ${exercise_time(event.clock)}${event.inject ? `, ran ${event.inject}` : ''}`;
    default: return `${event.type}`;
  }
}

function render_event_log() {
  const events = store.events.slice(-80).reverse();
  ui.detail.replaceChildren(
    h('div', { class: 'detail-header' },
      h('h2', { id: 'detail-title' }, 'Live events'),
      h('p', { class: 'detail-sub' }, 'Select a message for its envelope, decisions, frames and sequence diagram.')),
    events.length === 0 ? h('p', { class: 'muted pad' }, 'Nothing has happened yet.') :
      h('ol', { class: 'event-log', 'data-testid': 'event-log' }, events.map((event) =>
        h('li', { class: `event event-${event.type}` },
          h('time', { datetime: event.time }, clock_time(event.time)),
          h('span', { class: 'event-type' }, event.type),
          h('span', { class: 'event-text' }, event_line(event))))));
}

function render_selected() {
  if (!view.selected) {
    layout.classList.remove('wide-detail');
    render_event_log();
    return;
  }
  // Keep what the reader was doing: open frames, scroll position, focus.
  const open = new Set([...ui.detail.querySelectorAll('.frame details[open]')].map((d) => d.parentElement.dataset.seq));
  const panel = ui.detail.querySelector('.tab-panel');
  const scroll = panel ? panel.scrollTop : 0;
  const focused = ui.detail.contains(document.activeElement) ? document.activeElement.id : '';
  const detail = merge_detail(store, view.selected, view.fetched);
  render_detail(ui.detail, store, detail, view);
  // The sequence diagram needs room: the panel widens to fit it (up to 62% of the window).
  const diagram = ui.detail.querySelector('[data-testid="sequence-diagram"]');
  layout.classList.toggle('wide-detail', !!diagram);
  if (diagram) layout.style.setProperty('--detail-width', `${Number(diagram.getAttribute('width')) + 32}px`);
  ui.detail.querySelectorAll('.frame').forEach((item, index) => {
    item.dataset.seq = String(detail.frames[index]?.seq ?? index);
    if (open.has(item.dataset.seq)) item.querySelector('details').open = true;
  });
  const new_panel = ui.detail.querySelector('.tab-panel');
  if (new_panel) new_panel.scrollTop = scroll;
  if (focused) document.getElementById(focused)?.focus();
}

function focused_message() {
  if (view.selected && store.messages.has(view.selected)) return store.messages.get(view.selected);
  return store.recent_messages()[0] ?? null;
}

function render_all(changed_messages = null) {
  // An exercise's clock runs over days: its times carry their dates (every message again when that changes).
  const dates_changed = show_clock_dates(Boolean(store.exercise));
  render_header();
  render_exercise();
  iceberg.layout();
  iceberg.render_focus(focused_message());
  render_messages(dates_changed ? null : changed_messages);
  render_holds();
  render_shadow();
  render_peers();
  render_selected();
}

// Events arrive in bursts (a submission brings a dozen); render once per burst.
let pending = null;
let pending_changed = new Set();
function schedule_render(message_id) {
  if (message_id) pending_changed.add(message_id);
  if (pending) return;
  pending = setTimeout(() => {
    pending = null;
    const changed = pending_changed;
    pending_changed = new Set();
    render_all(changed);
  }, 40);
}

// --- the feed ----------------------------------------------------------------

function set_status({ state, text }) {
  ui.connection.dataset.state = state;
  const words = { open: 'live', connecting: 'connecting', closed: 'reconnecting', error: 'error' };
  if (ui.connection_state.textContent !== words[state]) ui.connection_state.textContent = words[state] ?? state;
  ui.connection_detail.textContent = state === 'open' ? '' : text;
  ui.connection.title = `event feed: ${text}`;
  if (state === 'error') show_banner(text.replace(/; retrying in \d+ s$/, ''));
}

function show_banner(text) {
  ui.banner.textContent = text;
  ui.banner.hidden = !text;
}

function on_state(state, buffered) {
  store.load_state(state);
  for (const event of buffered) store.apply(event);
  show_banner('');
  render_legend();
  message_items.clear();
  clear(ui.messages);
  for (const item of hold_items.values()) item.remove();
  hold_items.clear();
  render_all();
}

function on_event(event) {
  if (!store.apply(event)) return;
  switch (event.type) {
    case 'submission':
      iceberg.animate_submission(event);
      break;
    case 'decision':
      iceberg.animate_decision(event);
      break;
    case 'policy':
      // A reload can change the nodes, levels and markings.
      api.state().then((state) => {
        store.set_topology(state);
        render_legend();
        schedule_render();
      }).catch((error) => console.warn('icegate: could not refresh the policy', error));
      break;
    default:
      break;
  }
  schedule_render(event.message_id);
}

// --- the exercise controls ---------------------------------------------------

for (const action of ['pause', 'resume', 'step']) {
  $(`[data-testid="exercise-${action}"]`).addEventListener('click', async () => {
    const error = $('#exercise-error');
    error.textContent = '';
    try {
      await api.exercise(action);
    } catch (failure) {
      error.textContent = `${action}: ${failure.message}`;
    }
  });
}

render_selected(); // the (empty) event log until the first snapshot arrives
new EventFeed({ on_state, on_event, on_status: set_status }).start();
