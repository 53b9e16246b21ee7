// The sequence diagram of one message, drawn from its frame log: a lifeline
// for the originator, the gateway and each recipient; an arrow per frame
// (Submit, Ack, Deliver, Receipt, ...) and a dashed line per decision.
import { s, clock_time } from './dom.js';
import { decision_info } from './model.js';

const MARGIN = 60;
const HEAD = 46;
const ROW = 30;
const DECISION_STROKES = { RELEASE: '#1b7f3b', RELEASE_REDACTED: '#a15c00', HOLD: '#3949ab', DENY: '#b3261e' };

export function sequence_diagram(detail, gateway_id = 'gateway') {
  const originator = detail.envelope.originator;
  const lanes = [];
  const add_lane = (id) => { if (id && !lanes.includes(id)) lanes.push(id); };
  add_lane(originator);
  add_lane(gateway_id);
  for (const decision of detail.decisions) add_lane(decision.recipient);
  for (const frame of detail.frames) add_lane(frame.node);
  if (lanes.length === 1) add_lane(gateway_id);

  const rows = [
    ...detail.frames.map((frame) => ({ kind: 'frame', seq: frame.seq ?? 0, item: frame })),
    ...detail.decision_history.map((decision) => ({ kind: 'decision', seq: decision.seq ?? 0, item: decision })),
  ].sort((a, b) => a.seq - b.seq);

  // Lanes as wide as the longest name needs, within reason.
  const LANE = Math.min(150, Math.max(96, 18 + Math.max(...lanes.map((id) => id.length)) * 7.2));
  const x_of = (id) => MARGIN + lanes.indexOf(id) * LANE;
  const width = MARGIN * 2 + (lanes.length - 1) * LANE;
  const height = HEAD + 18 + Math.max(1, rows.length) * ROW + 14;
  const gateway_x = x_of(gateway_id);

  const svg = s('svg', {
    class: 'sequence', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img',
    'aria-label': `Sequence diagram: ${rows.length} steps between ${lanes.join(', ')}`,
    'data-testid': 'sequence-diagram',
  },
  s('defs', {},
    s('marker', {
      id: 'seq-arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 8, markerHeight: 8, orient: 'auto-start-reverse',
    }, s('path', { d: 'M0,0 L10,5 L0,10 z', class: 'seq-arrowhead' }))));

  for (const id of lanes) {
    const x = x_of(id);
    const label = id === gateway_id ? 'gateway' : id;
    const box_width = Math.min(LANE - 6, 14 + label.length * 7.2);
    svg.append(
      s('line', { x1: x, x2: x, y1: HEAD, y2: height - 6, class: 'seq-lifeline' }),
      s('g', { class: ['seq-head', id === gateway_id && 'seq-head-gateway', id === originator && 'seq-head-originator'] },
        s('title', {}, id === originator ? `${id} (originator)` : id === gateway_id ? 'the gateway' : `${id} (recipient)`),
        s('rect', { x: x - box_width / 2, y: 8, width: box_width, height: HEAD - 16, rx: 6 }),
        s('text', { x, y: HEAD / 2 + 5, 'text-anchor': 'middle' }, label)));
  }

  rows.forEach((row, index) => {
    const y = HEAD + 22 + index * ROW;
    if (row.kind === 'frame') {
      const frame = row.item;
      const node_x = x_of(frame.node);
      const [x1, x2] = frame.direction === 'in' ? [node_x, gateway_x] : [gateway_x, node_x];
      const label = `${frame.frame_type}${frame.bytes ? ` · ${frame.bytes} B` : ''}`;
      svg.append(s('g', { class: `seq-frame seq-frame-${String(frame.frame_type).toLowerCase()}`, 'data-frame-type': frame.frame_type },
        s('title', {}, `#${frame.seq} ${clock_time(frame.time)} ${frame.node} ${frame.direction === 'in' ? '→ gateway' : '← gateway'}: ${frame.text ?? frame.frame_type}`),
        s('line', { x1, x2, y1: y, y2: y, 'marker-end': 'url(#seq-arrow)' }),
        s('text', { x: (x1 + x2) / 2, y: y - 6, 'text-anchor': 'middle' }, label)));
    } else {
      const decision = row.item;
      const info = decision_info(decision.decision);
      const to = x_of(decision.recipient);
      const stroke = DECISION_STROKES[decision.decision] ?? '#546e7a';
      const rules = decision.rules?.length ? ` (${decision.rules.join(', ')})` : '';
      svg.append(s('g', { class: `seq-decision seq-decision-${info.css}`, 'data-decision': decision.decision },
        s('title', {}, `decision for ${decision.recipient}: ${decision.decision}${rules}${decision.reason ? ` — ${decision.reason}` : ''}`),
        s('circle', { cx: gateway_x, cy: y, r: 4, fill: stroke }),
        s('line', { x1: gateway_x, x2: to, y1: y, y2: y, stroke }),
        decision.decision === 'DENY'
          ? s('text', { x: to, y: y + 5, 'text-anchor': 'middle', class: 'seq-deny-mark', fill: stroke }, '✕')
          : null,
        s('text', {
          x: to >= gateway_x ? gateway_x + 8 : gateway_x - 8, y: y - 5, 'text-anchor': to >= gateway_x ? 'start' : 'end', fill: stroke,
        }, `decide ${decision.recipient}: ${info.word}`)));
    }
  });
  if (rows.length === 0) {
    svg.append(s('text', { x: width / 2, y: HEAD + 36, 'text-anchor': 'middle', class: 'seq-empty' },
      'no frames recorded for this message yet'));
  }
  return svg;
}
