// The detail panel of one message: its envelope, its portions with their
// markings, each recipient's decision with rules and reason (Message tab),
// its frame-by-frame log (Frames tab) and its sequence diagram (Sequence tab).
import { h, clock_time, plural } from './dom.js';
import { decision_info, hop_line } from './model.js';
import { sequence_diagram } from './sequence.js';

export const TABS = [
  { id: 'message', label: 'Message' },
  { id: 'frames', label: 'Frames' },
  { id: 'sequence', label: 'Sequence' },
];

export function marking_pill(store, marking, given, extra = {}) {
  const colours = store.marking_colours(marking, given);
  const pill = h('span', { class: 'marking', title: `protective marking: ${marking || 'none'}`, ...extra },
    marking || 'UNMARKED');
  pill.style.backgroundColor = colours.colour;
  pill.style.color = colours.text_colour;
  return pill;
}

export function decision_badge(decision, extra = {}) {
  const info = decision_info(decision);
  return h('span', { class: `decision decision-${info.css}`, 'data-decision': decision, ...extra },
    h('span', { 'aria-hidden': 'true' }, info.glyph), ` ${info.word}`);
}

function definition(term, ...value) {
  return [h('dt', {}, term), h('dd', {}, ...value)];
}

function handling_text(handling) {
  if (!handling || typeof handling !== 'object') return 'none';
  const parts = [];
  for (const [key, value] of Object.entries(handling)) {
    if (value === false || value === 0 || value === '' || value === null) continue;
    const name = key.replaceAll('_', ' ');
    parts.push(value === true ? name : `${name}: ${value}`);
  }
  return parts.length ? parts.join('; ') : 'none';
}

function envelope_section(store, detail) {
  const e = detail.envelope;
  const addressees = Array.isArray(e.addressees) ? e.addressees : [];
  return h('section', { class: 'detail-section', 'aria-labelledby': 'detail-envelope' },
    h('h3', { id: 'detail-envelope' }, 'Envelope'),
    h('dl', { class: 'envelope', 'data-testid': 'detail-envelope' },
      definition('message id', h('code', {}, e.message_id)),
      definition('originator', h('strong', { 'data-testid': 'detail-originator' }, e.originator ?? '—')),
      definition('category', e.category || '—'),
      e.purpose ? definition('purpose', e.purpose) : null,
      definition('marking', marking_pill(store, e.marking, e)),
      definition('addressed to', addressees.length
        ? addressees.map((a) => h('span', { class: 'chip' }, a)) : '—'),
      definition('handling', handling_text(e.handling)),
      e.derived_from ? definition('derived from', h('code', {}, e.derived_from)) : null,
      detail.receipt ? definition('receipt', `sent to ${detail.receipt.originator} at ${clock_time(detail.receipt.time)}`) : null));
}

function portions_section(store, detail) {
  return h('section', { class: 'detail-section', 'aria-labelledby': 'detail-portions' },
    h('h3', { id: 'detail-portions' }, `Portions (${detail.portions.length})`),
    detail.portions.length === 0
      ? h('p', { class: 'muted' }, 'The gateway has not said what the portions were.')
      : h('ol', { class: 'portions', 'data-testid': 'detail-portions' },
        detail.portions.map((portion) => h('li', { class: 'portion', 'data-portion': portion.id },
          h('div', { class: 'portion-head' },
            marking_pill(store, portion.marking, portion), h('code', {}, portion.id)),
          portion.body !== undefined ? h('pre', { class: 'portion-body' }, portion.body) : null))));
}

function decision_card(store, detail, decision) {
  const delivered = detail.deliveries.get(decision.recipient);
  const acked = detail.acks.has(decision.recipient);
  const withheld = decision.withheld ?? [];
  const status = delivered ? (acked ? 'delivered and acknowledged' : 'delivered') :
    decision.decision === 'HOLD' ? `held${decision.hold_id ? ` (${decision.hold_id})` : ''}` :
      decision.decision === 'DENY' ? 'nothing sent' : 'not yet delivered (the node may be offline)';
  return h('li', { class: 'decision-card', 'data-testid': 'detail-decision', 'data-recipient': decision.recipient,
    'data-decision': decision.decision },
  h('div', { class: 'decision-head' },
    h('strong', { class: 'recipient' }, decision.recipient),
    decision_badge(decision.decision),
    decision.marking ? marking_pill(store, decision.marking) : null,
    decision.occasional ? h('span', { class: 'chip chip-warn', title: 'released under the occasional-access allowance' }, 'occasional') : null),
  h('p', { class: 'reason', 'data-testid': 'detail-reason' }, decision.reason || 'no reason given'),
  decision.rules?.length
    ? h('p', { class: 'rules' }, 'rules: ', decision.rules.map((rule) => h('code', { class: 'rule' }, rule)))
    : h('p', { class: 'rules muted' }, 'no rule named'),
  withheld.length ? h('ul', { class: 'withheld' },
    withheld.map((w) => h('li', {},
      'withheld ', h('code', {}, w.portion), ' ', w.marking ? marking_pill(store, w.marking) : null,
      `: ${w.reason ?? ''}`, w.rules?.length ? [' (', w.rules.map((rule) => h('code', { class: 'rule' }, rule)), ')'] : null))) : null,
  h('p', { class: 'delivery-status muted' }, status));
}

function decisions_section(store, detail) {
  const counts = {};
  for (const d of detail.decisions) counts[d.decision] = (counts[d.decision] ?? 0) + 1;
  return h('section', { class: 'detail-section', 'aria-labelledby': 'detail-decisions' },
    h('h3', { id: 'detail-decisions' }, `Decisions (${plural(detail.decisions.length, 'recipient')})`),
    detail.decisions.length === 0
      ? h('p', { class: 'muted' }, 'No decision yet.')
      : h('ul', { class: 'decisions' }, detail.decisions.map((d) => decision_card(store, detail, d))),
    detail.holds_closed.length ? h('ul', { class: 'holds-closed' }, detail.holds_closed.map((c) =>
      h('li', {}, `hold ${c.hold_id} ${c.result}${c.by ? ` by ${c.by}` : ''} at ${clock_time(c.time)}`))) : null,
    detail.hops?.length ? [h('h4', {}, 'Between gateways'), h('ul', { class: 'hops', 'data-testid': 'detail-hops' },
      detail.hops.map((hop) => h('li', { 'data-kind': hop.kind, 'data-peer': hop.peer },
        h('time', { datetime: hop.time }, clock_time(hop.time)), ' ', hop_line(hop))))] : null);
}

export function frame_log(frames, gateway_id = 'gateway') {
  if (frames.length === 0) return h('p', { class: 'muted' }, 'No frames recorded for this message yet.');
  return h('ol', { class: 'frame-log', 'data-testid': 'frame-log' },
    frames.map((frame) => h('li', { class: `frame frame-${frame.direction}`, 'data-frame-type': frame.frame_type },
      h('details', {},
        h('summary', {},
          h('span', { class: 'frame-seq' }, `#${frame.seq}`),
          h('time', { class: 'frame-time', datetime: frame.time }, clock_time(frame.time)),
          h('span', { class: 'frame-route', title: frame.direction === 'in' ? `${frame.node} → ${gateway_id}` : `${gateway_id} → ${frame.node}` },
            frame.direction === 'in' ? `from ${frame.node}` : `to ${frame.node}`),
          h('strong', { class: 'frame-type' }, frame.frame_type),
          h('span', { class: 'frame-bytes' }, frame.bytes !== undefined ? `${frame.bytes} B` : '')),
        h('pre', { class: 'frame-text' }, frame.text ?? '(no text)')))));
}

export function render_detail(container, store, detail, view) {
  const e = detail.envelope;
  const tab_buttons = [];
  const on_key = (event) => {
    const index = TABS.findIndex((t) => t.id === view.tab);
    let next = null;
    if (event.key === 'ArrowRight') next = (index + 1) % TABS.length;
    else if (event.key === 'ArrowLeft') next = (index + TABS.length - 1) % TABS.length;
    else if (event.key === 'Home') next = 0;
    else if (event.key === 'End') next = TABS.length - 1;
    if (next === null) return;
    event.preventDefault();
    view.select_tab(TABS[next].id, true);
  };
  const tablist = h('div', { class: 'tabs', role: 'tablist', 'aria-label': 'Message views', onkeydown: on_key },
    TABS.map((tab) => {
      const count = tab.id === 'frames' ? ` (${detail.frames.length})` : '';
      const button = h('button', {
        type: 'button', role: 'tab', id: `tab-${tab.id}`, 'aria-controls': `panel-${tab.id}`,
        'aria-selected': String(view.tab === tab.id), tabindex: view.tab === tab.id ? '0' : '-1',
        'data-testid': `tab-${tab.id}`, onclick: () => view.select_tab(tab.id, false),
      }, `${tab.label}${count}`);
      tab_buttons.push(button);
      return button;
    }));
  let body;
  if (view.tab === 'frames') {
    body = h('div', {}, h('p', { class: 'hint' },
      'Every frame of this message on the wire, as the gateway saw it; open one for its protobuf text.'),
    frame_log(detail.frames, store.gateway_id || 'gateway'));
  } else if (view.tab === 'sequence') {
    body = h('div', { class: 'sequence-scroll' }, sequence_diagram(detail, store.gateway_id || 'gateway'));
  } else {
    body = h('div', {}, decisions_section(store, detail), envelope_section(store, detail), portions_section(store, detail));
  }
  const panel = h('div', {
    class: 'tab-panel', role: 'tabpanel', id: `panel-${view.tab}`, 'aria-labelledby': `tab-${view.tab}`, tabindex: '0',
  }, body);

  container.replaceChildren(
    h('div', { class: 'detail-header' },
      h('div', { class: 'detail-title-row' },
        h('h2', { id: 'detail-title', 'data-testid': 'detail-title' }, e.title || '(untitled)'),
        h('button', { type: 'button', class: 'close', 'aria-label': 'Close the message detail', 'data-testid': 'detail-close',
          onclick: () => view.close() }, '×')),
      h('p', { class: 'detail-sub' }, marking_pill(store, e.marking, e), ` from ${e.originator ?? '?'} · ${e.category ?? ''}`,
        view.error ? h('span', { class: 'error', role: 'alert' }, ` · ${view.error}`) : null)),
    tablist,
    panel);
  return { tab_buttons };
}
