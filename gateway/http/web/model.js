// What the page knows, built only from /api/state and the event feed
// (docs/DASHBOARD.md, "Events"). Rendering reads it; nothing here touches
// the DOM.

export const DECISIONS = {
  RELEASE: { word: 'released', glyph: '✓', css: 'release' },
  RELEASE_REDACTED: { word: 'redacted', glyph: '◐', css: 'redacted' },
  HOLD: { word: 'held', glyph: '‖', css: 'hold' },
  DENY: { word: 'denied', glyph: '✕', css: 'deny' },
};

export function decision_info(decision) {
  return DECISIONS[decision] ?? { word: String(decision ?? 'unknown').toLowerCase(), glyph: '?', css: 'unknown' };
}

// "forward m-123 to gw-birmingham: forwarded_redacted (withheld 2: beyond accreditation)"
export function hop_line(event) {
  const words = (code) => String(code ?? '').replaceAll('-', ' ');
  const where = event.kind === 'forward' ? `to ${event.peer}` : `from ${event.peer}`;
  const by_reason = new Map();
  for (const w of event.withheld ?? []) by_reason.set(w.reason, (by_reason.get(w.reason) ?? 0) + 1);
  const withheld = [...by_reason].map(([reason, count]) => `withheld ${count}: ${words(reason)}`);
  const notes = [...withheld, ...(event.reason ? [event.reason] : [])];
  return `${event.kind} ${event.message_id} ${where}: ${event.outcome}${notes.length ? ` (${notes.join('; ')})` : ''}`;
}

const MAX_MESSAGES = 300;
const MAX_EVENTS = 400;
const SHADOW_LATEST = 20; // shadow differences shown, as the gateway keeps

export class Store {
  constructor() {
    this.reset();
  }

  reset() {
    this.gateway_id = '';
    this.policy = { name: '', version: '' };
    this.levels = [];
    this.markings = new Map(); // by name and by display marking
    this.nodes = new Map();
    this.messages = new Map(); // by id, oldest first
    this.holds = new Map();
    this.exercise = null;
    this.shadow = null; // { name, version, differences, latest (newest first) } with a shadow policy
    this.peers = new Map(); // peer gateway id -> { id, state, since, address, direction, last_error }
    this.events = [];
    this.last_seq = 0;
  }

  // Replaces everything with a snapshot from GET /api/state.
  load_state(state) {
    this.reset();
    this.gateway_id = state.gateway_id ?? '';
    this.set_topology(state);
    this.exercise = state.exercise ?? null;
    for (const event of state.events ?? []) this.apply(event);
    // The snapshot's peer links are as they are now: older `peer` events are history.
    this.peers.clear();
    for (const peer of state.peers ?? []) this.peers.set(peer.id, peer);
    // The snapshot's holds are authoritative: older events may have fallen out of its window.
    this.holds.clear();
    for (const hold of state.holds ?? []) this.holds.set(hold.hold_id, hold);
    if (state.exercise !== undefined) this.exercise = state.exercise;
    // The snapshot's shadow count is authoritative too; later events add to it.
    this.shadow = state.shadow ? { ...state.shadow, latest: [...(state.shadow.latest ?? [])] } : null;
    // Clock ticks are numbered but not kept in the snapshot's events: anything
    // up to last_seq is already reflected in it.
    if (typeof state.last_seq === 'number') this.last_seq = Math.max(this.last_seq, state.last_seq);
  }

  // Nodes, levels, markings and policy: what a policy reload can change.
  set_topology(state) {
    this.policy = { name: state.policy?.name ?? '', version: state.policy?.version ?? '' };
    this.levels = Array.isArray(state.levels) ? state.levels : [];
    this.markings.clear();
    for (const marking of state.markings ?? []) {
      this.markings.set(marking.name, marking);
      if (marking.marking) this.markings.set(marking.marking, marking);
    }
    const previous = this.nodes;
    this.nodes = new Map();
    for (const node of state.nodes ?? []) {
      this.nodes.set(node.id, { ...node, connected: node.connected ?? previous.get(node.id)?.connected ?? false });
    }
  }

  // The colours of a marking (display marking or classification name), or
  // neutral ones when the policy does not list it.
  marking_colours(marking, fallback) {
    const known = this.markings.get(marking);
    if (known) return { colour: known.colour, text_colour: known.text_colour };
    if (fallback?.colour) return { colour: fallback.colour, text_colour: fallback.text_colour ?? '#000000' };
    // A display marking with caveats ("SECRET UK EYES ONLY"): the longest classification it starts with.
    if (typeof marking === 'string') {
      const prefix = [...this.markings.values()]
        .filter((m) => m.name && marking.startsWith(m.name))
        .sort((a, b) => b.name.length - a.name.length)[0];
      if (prefix) return { colour: prefix.colour, text_colour: prefix.text_colour };
    }
    return { colour: '#eceff1', text_colour: '#000000' };
  }

  message(id) {
    let message = this.messages.get(id);
    if (!message) {
      message = {
        id,
        submission: null,
        first_time: '',
        first_seq: 0,
        decisions: new Map(), // recipient -> latest decision event
        decision_history: [],
        deliveries: new Map(), // recipient -> delivery event
        acks: new Set(),
        receipt: null,
        frames: [],
        holds_closed: [],
        hops: [], // decisions between gateways about it, in order
      };
      this.messages.set(id, message);
      while (this.messages.size > MAX_MESSAGES) this.messages.delete(this.messages.keys().next().value);
    }
    return message;
  }

  // Applies one event; returns false for one already seen (the snapshot and
  // the feed overlap by design).
  apply(event) {
    if (!event || typeof event.seq !== 'number') return false;
    if (event.seq <= this.last_seq) return false;
    this.last_seq = event.seq;
    this.events.push(event);
    if (this.events.length > MAX_EVENTS) this.events.splice(0, this.events.length - MAX_EVENTS);

    const touch = (id) => {
      const message = this.message(id);
      if (!message.first_seq) {
        message.first_seq = event.seq;
        message.first_time = event.time;
      }
      return message;
    };

    switch (event.type) {
      case 'connection': {
        const node = this.nodes.get(event.node);
        if (node) node.connected = event.state === 'connected';
        break;
      }
      case 'frame':
        if (event.message_id) touch(event.message_id).frames.push(event);
        break;
      case 'submission': {
        const message = touch(event.message_id);
        message.submission = event;
        break;
      }
      case 'decision': {
        const message = touch(event.message_id);
        message.decisions.set(event.recipient, event);
        message.decision_history.push(event);
        break;
      }
      case 'delivery':
        touch(event.message_id).deliveries.set(event.recipient, event);
        break;
      case 'ack':
        touch(event.message_id).acks.add(event.node);
        break;
      case 'receipt':
        touch(event.message_id).receipt = event;
        break;
      case 'hold':
        this.holds.set(event.hold_id, event);
        break;
      case 'hold_closed':
        this.holds.delete(event.hold_id);
        if (event.message_id) touch(event.message_id).holds_closed.push(event);
        break;
      case 'shadow_difference':
        if (this.shadow) {
          this.shadow.differences += 1;
          this.shadow.latest.unshift(event);
          this.shadow.latest.splice(SHADOW_LATEST);
        }
        break;
      case 'peer':
        if (event.state === 'removed') this.peers.delete(event.id);
        else this.peers.set(event.id, {
          id: event.id, state: event.state, since: event.since, address: event.address,
          direction: event.direction, last_error: event.last_error,
        });
        break;
      case 'hop':
        if (event.message_id) touch(event.message_id).hops.push(event);
        break;
      case 'policy':
        this.policy = { name: event.name ?? this.policy.name, version: event.version ?? this.policy.version };
        break;
      case 'exercise':
        this.exercise = {
          ...(this.exercise ?? { name: '' }),
          name: event.name ?? this.exercise?.name ?? '',
          state: event.state,
          clock: event.clock,
          next: event.next ?? null,
          inject: event.inject ?? this.exercise?.inject,
        };
        break;
      default:
        break;
    }
    return true;
  }

  // Messages newest first, only those whose submission the page has seen or
  // that have decisions (a snapshot can begin part-way through a message).
  recent_messages() {
    return [...this.messages.values()]
      .filter((message) => message.submission || message.decisions.size > 0)
      .reverse();
  }
}

// The detail of one message: GET /api/messages/ID merged with what the feed
// has brought since (the feed is newer; the API has what predates the page).
export function merge_detail(store, id, fetched) {
  const local = store.messages.get(id);
  const envelope = { ...(fetched?.envelope ?? fetched ?? {}) };
  const submission = local?.submission;
  for (const key of ['originator', 'title', 'category', 'purpose', 'marking', 'colour', 'text_colour',
    'addressees', 'handling', 'derived_from']) {
    if ((envelope[key] === undefined || envelope[key] === '') && submission?.[key] !== undefined) envelope[key] = submission[key];
  }
  envelope.message_id = envelope.message_id ?? envelope.id ?? id;
  delete envelope.portions;
  delete envelope.decisions;
  delete envelope.frames;
  delete envelope.recipients;
  delete envelope.envelope;

  const portions = fetched?.portions ?? fetched?.envelope?.portions ?? submission?.portions ?? [];

  const decisions = new Map();
  for (const decision of fetched?.decisions ?? fetched?.recipients ?? []) {
    const recipient = decision.recipient ?? decision.node ?? decision.node_id;
    decisions.set(recipient, { ...decision, recipient });
  }
  for (const [recipient, decision] of local?.decisions ?? []) decisions.set(recipient, decision);

  const frames = new Map();
  for (const frame of [...(fetched?.frames ?? []), ...(local?.frames ?? [])]) {
    frames.set(frame.seq ?? `${frame.time}|${frame.node}|${frame.frame_type}|${frame.direction}`, frame);
  }
  const frame_list = [...frames.values()].sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0));

  const history = new Map();
  for (const decision of [...(fetched?.decision_history ?? []), ...(local?.decision_history ?? [])]) {
    history.set(decision.seq ?? `${decision.recipient}|${decision.decision}|${decision.time}`, decision);
  }
  if (history.size === 0) for (const decision of decisions.values()) history.set(decision.recipient, decision);

  const deliveries = new Map();
  for (const delivery of fetched?.deliveries ?? []) deliveries.set(delivery.recipient, delivery);
  for (const [recipient, delivery] of local?.deliveries ?? []) deliveries.set(recipient, delivery);
  const acks = new Set([...(fetched?.acks ?? []).map((ack) => ack.node), ...(local?.acks ?? [])]);
  const closed = new Map();
  for (const event of [...(fetched?.holds ?? []).filter((e) => e.type === 'hold_closed'), ...(local?.holds_closed ?? [])]) {
    closed.set(event.seq ?? event.hold_id, event);
  }

  const hops = new Map();
  for (const hop of [...(fetched?.hops ?? []), ...(local?.hops ?? [])]) hops.set(hop.seq, hop);

  return {
    id,
    envelope,
    portions,
    decisions: [...decisions.values()],
    decision_history: [...history.values()].sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0)),
    frames: frame_list,
    deliveries,
    acks,
    receipt: local?.receipt ?? fetched?.receipts?.at?.(-1) ?? null,
    holds_closed: [...closed.values()],
    hops: [...hops.values()].sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0)),
  };
}
