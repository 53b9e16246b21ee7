// The iceberg: local partners above the waterline in one band per level of
// the policy, the CT network below it, the gateway on the waterline. Messages
// travel originator -> gateway -> recipient as dots in their marking's colour,
// and each recipient of the focused message carries its decision badge.
import { s, clear } from './dom.js';
import { decision_info } from './model.js';

const WIDTH = 960;
const HEIGHT = 470;
const WATERLINE = 262;
const LEFT = 128; // room for the band names
const RIGHT = 24;
const GATEWAY = { x: 532, y: WATERLINE, width: 150, height: 46 };
const DECISION_COLOURS = {
  RELEASE: '#1b7f3b',
  RELEASE_REDACTED: '#a15c00',
  HOLD: '#3949ab',
  DENY: '#b3261e',
};

const reduced_motion = window.matchMedia?.('(prefers-reduced-motion: reduce)');

export class Iceberg {
  constructor(svg, store) {
    this.svg = svg;
    this.store = store;
    this.positions = new Map(); // node id -> {x, y, r, labelled, below}
    this.gateway_arrival = new Map(); // message id -> time its dot reaches the gateway
    this.topology_key = '';
    svg.setAttribute('viewBox', `0 0 ${WIDTH} ${HEIGHT}`);
    svg.setAttribute('preserveAspectRatio', 'xMidYMid meet');
    this.draw_background();
    this.routes = s('g', { class: 'routes' });
    this.node_layer = s('g', { class: 'nodes' });
    this.gateway_layer = s('g', { class: 'gateway' });
    this.badge_layer = s('g', { class: 'badges' });
    this.dot_layer = s('g', { class: 'dots', 'aria-hidden': 'true' });
    svg.append(this.routes, this.node_layer, this.gateway_layer, this.badge_layer, this.dot_layer);
  }

  draw_background() {
    const defs = s('defs', {},
      s('linearGradient', { id: 'ig-sky', x1: 0, y1: 0, x2: 0, y2: 1 },
        s('stop', { offset: '0', 'stop-color': '#f4f9fd' }),
        s('stop', { offset: '1', 'stop-color': '#d5e8f5' })),
      s('linearGradient', { id: 'ig-sea', x1: 0, y1: 0, x2: 0, y2: 1 },
        s('stop', { offset: '0', 'stop-color': '#1f5a88' }),
        s('stop', { offset: '1', 'stop-color': '#0a2239' })),
      s('linearGradient', { id: 'ig-ice', x1: 0, y1: 0, x2: 0, y2: 1 },
        s('stop', { offset: '0', 'stop-color': '#ffffff' }),
        s('stop', { offset: '1', 'stop-color': '#e3f1fa' })),
      s('linearGradient', { id: 'ig-ice-deep', x1: 0, y1: 0, x2: 0, y2: 1 },
        s('stop', { offset: '0', 'stop-color': '#6ea9d2', 'stop-opacity': '0.55' }),
        s('stop', { offset: '1', 'stop-color': '#2d6b99', 'stop-opacity': '0.15' })));
    const W = WATERLINE;
    const G = GATEWAY.x;
    const tip = [[G - 200, W], [G - 148, W - 82], [G - 95, W - 140], [G - 45, W - 206], [G, W - 236], [G + 48, W - 200],
      [G + 96, W - 158], [G + 150, W - 104], [G + 216, W - 46], [G + 264, W]];
    const mass = [[G - 264, W], [G - 330, W + 64], [G - 310, W + 146], [G - 200, HEIGHT - 12], [G + 60, HEIGHT - 4],
      [G + 250, W + 176], [G + 320, W + 86], [G + 290, W]];
    const points = (list) => list.map(([x, y]) => `${x},${y}`).join(' ');
    this.svg.append(defs,
      s('rect', { x: -2000, y: -2000, width: WIDTH + 4000, height: W + 2000, fill: '#f4f9fd' }),
      s('rect', { x: -2000, y: 0, width: WIDTH + 4000, height: W, fill: 'url(#ig-sky)' }),
      s('rect', { x: -2000, y: W, width: WIDTH + 4000, height: HEIGHT - W, fill: 'url(#ig-sea)' }),
      s('rect', { x: -2000, y: HEIGHT - 1, width: WIDTH + 4000, height: 2000, fill: '#0a2239' }),
      s('polygon', { points: points(mass), fill: 'url(#ig-ice-deep)' }),
      s('polygon', { points: points(tip), fill: 'url(#ig-ice)', stroke: '#a9cde6', 'stroke-width': 2 }),
      s('path', {
        d: `M-1000 ${W} ` + Array.from({ length: 74 }, (_, i) => `q ${20} ${i % 2 ? 4 : -4} 40 0`).join(' '),
        fill: 'none', stroke: '#7fb8df', 'stroke-width': 3,
      }),
      s('text', { x: WIDTH - RIGHT, y: W - 8, class: 'ig-waterline-label', 'text-anchor': 'end' }, 'waterline'));
    this.band_layer = s('g', { class: 'bands' });
    this.svg.append(this.band_layer);
  }

  // Lays the nodes out again when the policy's nodes or levels change.
  layout() {
    const nodes = [...this.store.nodes.values()];
    const levels = this.store.levels.length ? this.store.levels : ['strategic', 'tactical', 'delivery'];
    const key = JSON.stringify([levels, nodes.map((n) => [n.id, n.level, n.ct_network])]);
    if (key === this.topology_key) {
      this.update_nodes();
      return;
    }
    this.topology_key = key;
    this.positions.clear();
    clear(this.band_layer);
    clear(this.node_layer);

    const above_top = 14;
    const above_bottom = WATERLINE - GATEWAY.height / 2 - 4;
    const band_height = (above_bottom - above_top) / levels.length;
    const partners = new Map(levels.map((level) => [level, []]));
    const ct = [];
    for (const node of nodes) {
      if (node.ct_network) ct.push(node);
      else if (partners.has(node.level)) partners.get(node.level).push(node);
      else partners.get(levels[levels.length - 1]).push(node); // a level the page does not know: lowest band
    }

    levels.forEach((level, index) => {
      const top = above_top + index * band_height;
      if (index > 0) {
        this.band_layer.append(s('line', {
          x1: 12, x2: WIDTH - 12, y1: top, y2: top, class: 'ig-band-rule',
        }));
      }
      this.band_layer.append(s('text', { x: 16, y: top + band_height / 2 + 5, class: 'ig-band-label' },
        level.toUpperCase()));
      this.place(partners.get(level), top, band_height, false);
    });

    const below_top = WATERLINE + GATEWAY.height / 2 + 6;
    const below_height = HEIGHT - below_top - 6;
    this.band_layer.append(s('text', { x: 16, y: below_top + below_height / 2 + 5, class: 'ig-band-label ig-below' },
      'CT NETWORK'));
    this.place(ct.sort((a, b) => levels.indexOf(a.level) - levels.indexOf(b.level)), below_top, below_height, true);

    this.draw_gateway();
    for (const node of nodes) this.draw_node(node);
    this.update_nodes();
  }

  // Spreads `nodes` over a band, in as many rows as it takes to keep them apart.
  place(nodes, top, height, below) {
    if (nodes.length === 0) return;
    const span = WIDTH - LEFT - RIGHT;
    const per_row = Math.max(1, Math.floor(span / 92));
    const rows = Math.ceil(nodes.length / per_row);
    const row_height = height / rows;
    const radius = Math.max(4, Math.min(13, row_height / 4.5));
    nodes.forEach((node, index) => {
      const row = Math.floor(index / per_row);
      const in_row = Math.min(per_row, nodes.length - row * per_row);
      const column = index % per_row;
      let x = LEFT + (column + 0.5) * (span / in_row);
      const y = top + row * row_height + row_height * 0.42;
      // Keep clear of the gateway straddling the waterline.
      if (Math.abs(y - WATERLINE) < GATEWAY.height && Math.abs(x - GATEWAY.x) < GATEWAY.width / 2 + radius + 4) {
        x += x < GATEWAY.x ? -GATEWAY.width / 2 : GATEWAY.width / 2;
      }
      // Labels where there is room, cut to the space between neighbours (the full id is in the tooltip).
      const spacing = span / in_row;
      const label_chars = row_height >= 30 && spacing >= 56 ? Math.floor((spacing - 8) / (rows > 1 ? 6.9 : 7.6)) : 0;
      this.positions.set(node.id, { x, y, r: radius, label_chars, small: rows > 1, below });
    });
  }

  draw_gateway() {
    clear(this.gateway_layer);
    const { x, y, width, height } = GATEWAY;
    this.gateway_layer.append(s('g', { 'data-testid': 'iceberg-gateway' },
      s('title', {}, `Gateway ${this.store.gateway_id}: every message passes through it and is decided per recipient`),
      s('rect', { x: x - width / 2, y: y - height / 2, width, height, rx: 10, class: 'ig-gateway' }),
      s('text', { x, y: y - 2, class: 'ig-gateway-label', 'text-anchor': 'middle' }, 'gateway'),
      s('text', { x, y: y + 14, class: 'ig-gateway-sub', 'text-anchor': 'middle' },
        this.store.policy.name ? `policy ${this.store.policy.name}` : '')));
  }

  draw_node(node) {
    const position = this.positions.get(node.id);
    if (!position) return;
    const { x, y, r, label_chars, small, below } = position;
    const label = node.id.length <= label_chars ? node.id : `${node.id.slice(0, Math.max(1, label_chars - 1))}…`;
    const details = [node.name, node.organisation_name || node.organisation, node.roles?.join(', '),
      node.level && `level ${node.level}`, node.vetting && `vetting ${node.vetting}`,
      node.ct_network ? 'CT network' : 'local partner'].filter(Boolean).join(' · ');
    const title = s('title', {});
    const group = s('g', {
      class: ['ig-node', below && 'ig-node-below'], 'data-testid': `iceberg-node-${node.id}`, 'data-node': node.id,
    },
    title,
    s('circle', { cx: x, cy: y, r, class: 'ig-node-dot' }),
    label_chars > 0 ? s('text', {
      x, y: y + r + (small ? 11 : 15), class: ['ig-node-label', small && 'ig-node-label-small'], 'text-anchor': 'middle',
    }, label) : null);
    group._title = title;
    group._details = details;
    this.node_layer.append(group);
  }

  update_nodes() {
    for (const group of this.node_layer.children) {
      const node = this.store.nodes.get(group.dataset.node);
      if (!node) continue;
      group.classList.toggle('ig-connected', !!node.connected);
      group.dataset.connected = node.connected ? 'true' : 'false';
      group._title.textContent = `${node.id} (${node.connected ? 'connected' : 'not connected'}): ${group._details}`;
    }
    const sub = this.gateway_layer.querySelector('.ig-gateway-sub');
    if (sub) sub.textContent = this.store.policy.name ? `policy ${this.store.policy.name}` : '';
  }

  point(id) {
    return this.positions.get(id) ?? { x: GATEWAY.x, y: GATEWAY.y, r: 0 };
  }

  // Routes and decision badges of one message (the selected or the latest).
  render_focus(message) {
    clear(this.routes);
    clear(this.badge_layer);
    if (!message) return;
    const originator = message.submission?.originator;
    const colours = this.store.marking_colours(message.submission?.marking, message.submission);
    if (originator) {
      const from = this.point(originator);
      this.routes.append(
        s('line', { x1: from.x, y1: from.y, x2: GATEWAY.x, y2: GATEWAY.y, class: 'ig-route-casing' }),
        s('line', {
          x1: from.x, y1: from.y, x2: GATEWAY.x, y2: GATEWAY.y, class: 'ig-route', stroke: colours.colour,
        }));
    }
    for (const [recipient, decision] of message.decisions) {
      const to = this.point(recipient);
      this.routes.append(s('line', {
        x1: GATEWAY.x, y1: GATEWAY.y, x2: to.x, y2: to.y,
        class: `ig-route ig-route-${decision_info(decision.decision).css}`,
        stroke: DECISION_COLOURS[decision.decision] ?? '#546e7a',
      }));
      this.badge_layer.append(this.badge(recipient, decision));
    }
  }

  badge(recipient, decision) {
    const info = decision_info(decision.decision);
    const { x, y, r } = this.point(recipient);
    const text = `${info.glyph} ${info.word}`;
    const width = 14 + text.length * 7.4;
    const height = 20;
    // Badges sit above their node; near the right edge they go to its left.
    const left = Math.min(x + r - 4, WIDTH - width - 4);
    const top = y - r - height - 2;
    return s('g', {
      class: `ig-badge ig-badge-${info.css}`, 'data-testid': `iceberg-badge-${recipient}`,
      'data-decision': decision.decision,
    },
    s('title', {}, `${recipient}: ${info.word}${decision.reason ? ` — ${decision.reason}` : ''}`),
    s('rect', { x: left, y: top, width, height, rx: 10 }),
    s('text', { x: left + width / 2, y: top + 14, 'text-anchor': 'middle' }, text));
  }

  // A dot in the message's marking colour from the originator to the gateway.
  animate_submission(event) {
    const colours = this.store.marking_colours(event.marking, event);
    const duration = 700;
    const start = performance.now();
    this.gateway_arrival.set(event.message_id, start + duration);
    if (this.gateway_arrival.size > 100) this.gateway_arrival.delete(this.gateway_arrival.keys().next().value);
    this.dot(this.point(event.originator), GATEWAY, colours, 0, duration, false);
  }

  // A dot from the gateway to the recipient: all the way for a release, a
  // short way and gone for a denial, staying at the gateway for a hold.
  animate_decision(event) {
    const arrival = this.gateway_arrival.get(event.message_id) ?? 0;
    const delay = Math.max(0, arrival - performance.now()) + 120;
    const colours = event.marking
      ? this.store.marking_colours(event.marking)
      : { colour: DECISION_COLOURS[event.decision] ?? '#546e7a', text_colour: '#ffffff' };
    const to = this.point(event.recipient);
    if (event.decision === 'HOLD') {
      this.dot(GATEWAY, { x: GATEWAY.x + 10, y: GATEWAY.y - 30 }, colours, delay, 900, true);
    } else if (event.decision === 'DENY') {
      const part = { x: GATEWAY.x + (to.x - GATEWAY.x) * 0.35, y: GATEWAY.y + (to.y - GATEWAY.y) * 0.35 };
      this.dot(GATEWAY, part, { colour: DECISION_COLOURS.DENY }, delay, 600, true);
    } else {
      this.dot(GATEWAY, to, colours, delay, 900, false);
    }
  }

  dot(from, to, colours, delay, duration, fade) {
    if (reduced_motion?.matches || typeof Element.prototype.animate !== 'function') return;
    const dot = s('circle', {
      cx: 0, cy: 0, r: 8, fill: colours.colour ?? '#90a4ae', stroke: '#0b1e30', 'stroke-width': 2, class: 'ig-dot',
    });
    dot.style.transform = `translate(${from.x}px, ${from.y}px)`;
    dot.style.opacity = '0';
    this.dot_layer.append(dot);
    const animation = dot.animate([
      { transform: `translate(${from.x}px, ${from.y}px)`, opacity: 1 },
      { transform: `translate(${to.x}px, ${to.y}px)`, opacity: fade ? 0 : 1 },
    ], { duration, delay, easing: 'ease-in-out', fill: 'forwards' });
    animation.onfinish = () => dot.remove();
    animation.oncancel = () => dot.remove();
  }
}
