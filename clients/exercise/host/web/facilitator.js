// The facilitator's console (facilitator.html): every table side by side,
// its clock and controls, the live iceberg (table k's dashboard, mounted by
// the host at t/{k}/), the seats with their join links and QR codes, injects
// and media to release, the expectations board, the improvement plan and the
// report. Only the facilitator's secret reaches this page's API.

import { h, fill, plural, qr_image, copy_button } from './dom.js';
import { ApiError, post, start_polling, show_status, submit_with_feedback, show_error } from './api.js';

const $ = (id) => document.getElementById(id);
const cards = new Map();  // table index -> {element, parts..., last: {...json}}
let state = null;
let poller = null;

// --- per table -------------------------------------------------------------------------

function control(table, action, extra = {}) {
  return async () => {
    const form = cards.get(table)?.controls ?? null;
    const request = () => post('api/control', { table, action, ...extra() });
    if (form) await submit_with_feedback(form, request, { done: () => `${action}: done` });
    else await request().catch((error) => fill($('global-error'), error.message));
    poller?.refresh();
  };
}

function make_card(table) {
  const index = table.index;
  const speed = h('input', { type: 'number', min: '0', step: 'any', id: `speed-${index}`, class: 'row-input', 'data-field': 'speed', 'data-testid': 'speed-input', inputmode: 'decimal' });
  const controls = h('form', { novalidate: true, 'aria-label': `Clock of table ${table.name || index + 1}` },
    h('div', { class: 'buttons' },
      h('button', { type: 'button', class: 'primary', 'data-testid': 'control-resume', onclick: control(index, 'resume', () => ({})) }, 'Start / resume'),
      h('button', { type: 'button', 'data-testid': 'control-pause', onclick: control(index, 'pause', () => ({})) }, 'Pause'),
      h('button', { type: 'button', 'data-testid': 'control-step', onclick: control(index, 'step', () => ({})) }, 'Step to the next item'),
      h('label', { for: `speed-${index}` }, 'Speed (scenario seconds per second)'), speed,
      h('button', { type: 'button', 'data-testid': 'speed-set', onclick: control(index, 'speed', () => ({ speed: Number(speed.value) })) }, 'Set speed')),
    h('p', { 'data-role': 'form-error', role: 'alert' }),
    h('p', { 'data-role': 'form-status', role: 'status', class: 'muted' }));
  controls.addEventListener('submit', (event) => event.preventDefault());
  const parts = {
    clock: h('p', { class: 'clock', 'data-testid': 'table-clock' }),
    seats: h('ul', { class: 'seats', 'data-testid': 'seats' }),
    board: h('div', { 'data-testid': 'expectations' }),
    injects: h('div', { 'data-testid': 'injects' }),
    actions: h('p', { class: 'muted', 'data-testid': 'human-actions' }),
  };
  const heading_id = `table-heading-${index}`;
  const element = h('section', { class: 'panel', 'data-testid': 'table', 'data-index': index, 'aria-labelledby': heading_id },
    h('h2', { id: heading_id }, table.name ? `Table ${index + 1}: ${table.name}` : 'The table', h('span', { class: 'muted' }, table.policy ? ` · ${table.policy}` : '')),
    parts.clock, controls, parts.actions,
    iceberg(index, table),
    h('h3', { class: 'spaced' }, 'Seats'), parts.seats,
    h('h3', { class: 'spaced' }, 'Expectations'), parts.board,
    h('h3', { class: 'spaced' }, 'Injects'), parts.injects);
  return { element, controls, speed, ...parts, last: {} };
}

// The live iceberg: table k's dashboard, which the host mounts at t/{k}/. A
// link opens it in a page of its own (for the projector); the frame is made
// only when the facilitator opens it here, so a closed panel costs nothing.
function iceberg(index, table) {
  // The state names the mount (`dashboard`: "t/0/", "" when the table has none).
  const mount = table.dashboard ?? `t/${index}/`;
  if (!/^t\/\d+\/$/.test(mount)) return h('p', { class: 'muted' }, 'This table has no live dashboard.');
  const title = `Live iceberg of table ${table.name || index + 1}`;
  const details = h('details', { 'data-testid': 'iceberg-panel' },
    h('summary', {}, 'The live iceberg, here'));
  details.addEventListener('toggle', () => {
    if (details.open && !details.querySelector('iframe')) {
      details.append(h('iframe', { class: 'iceberg-frame', src: mount, title, 'data-testid': 'iceberg' }));
    }
  });
  return h('div', {},
    h('p', {}, h('a', { class: 'button', href: mount, target: '_blank', rel: 'noopener noreferrer', 'data-testid': 'iceberg-link' },
      'Open the live iceberg')),
    details);
}

// Re-renders `part` only when its data changed, so that nothing flickers and
// nothing a facilitator has focused is swept away every second.
function update(card, key, data, render) {
  const json = JSON.stringify(data);
  if (card.last[key] === json) return;
  card.last[key] = json;
  render(data);
}

function seat_item(seat) {
  return h('li', { class: 'seat', 'data-testid': 'seat', 'data-node': seat.node, 'data-connected': seat.connected ? 'true' : 'false' },
    h('div', {},
      h('h4', { class: 'message-title' }, seat.name || seat.node),
      h('p', { class: 'meta' }, [seat.organisation, seat.role, seat.node, seat.gateway ? `on ${seat.gateway}` : '']
        .filter(Boolean).join(' · ')),
      h('p', { 'data-testid': 'seat-status' },
        h('strong', { class: seat.connected ? 'ok' : 'error' }, seat.connected ? 'connected' : 'not connected'),
        ` · ${plural(seat.pages_open ?? 0, 'page')} open`,
        h('br'), `last seen ${seat.last_seen || '—'} · last action ${seat.last_action || '—'}`,
        h('br'), h('span', { 'data-testid': 'seat-waiting', 'data-waiting': seat.waiting ?? 0 }, `${seat.waiting ?? 0} waiting`)),
      h('p', { class: 'link' }, h('a', { href: seat.link, target: '_blank', rel: 'noopener noreferrer', 'data-testid': 'seat-link' }, seat.link)),
      copy_button(seat.link ?? '', 'Copy the link')),
    qr_image(seat.qr_svg, `QR code of the join link for ${seat.name || seat.node}`));
}

function show_board(card, expectations) {
  const counts = { met: 0, unmet: 0, pending: 0 };
  for (const expectation of expectations) counts[expectation.state] = (counts[expectation.state] ?? 0) + 1;
  fill(card.board,
    h('div', { class: 'board' },
      h('span', { class: 'state-met' }, `${counts.met} met`),
      h('span', { class: 'state-unmet' }, `${counts.unmet} unmet`),
      h('span', { class: 'state-pending' }, `${counts.pending} pending`)),
    h('ul', { class: 'list' }, expectations.map((expectation) =>
      h('li', { 'data-testid': 'expectation', 'data-id': expectation.id, 'data-state': expectation.state },
        h('span', { class: `state-${expectation.state}` }, expectation.state), ' ',
        h('strong', {}, expectation.id), ` ${expectation.description || ''}`,
        expectation.evidence ? h('div', { class: 'meta' }, expectation.evidence) : null))));
}

function show_injects(card, index, table) {
  const fire = (id) => async (event) => {
    const form = event.currentTarget.closest('form');
    await submit_with_feedback(form, () => post('api/inject', { table: index, inject: id }), { done: () => `${id} fired` });
    poller?.refresh();
  };
  const form = h('form', { novalidate: true },
    h('ul', { class: 'list' },
      (table.injects ?? []).map((inject) => h('li', { 'data-testid': 'inject', 'data-id': inject.id, 'data-fired': inject.fired ? 'true' : 'false' },
        h('strong', {}, inject.id), ` ${inject.at || ''} · from ${inject.from || ''}: ${inject.synopsis || ''} `,
        inject.fired ? h('span', { class: 'state-met' }, 'sent') : h('button', { type: 'button', class: 'small', 'data-testid': `fire-${inject.id}`, onclick: fire(inject.id) }, 'Fire now'))),
      (table.contingencies ?? []).map((contingency) => h('li', { 'data-testid': 'contingency', 'data-id': contingency.id, 'data-fired': contingency.fired ? 'true' : 'false' },
        h('strong', {}, contingency.id), ` contingency, when ${contingency.when_unmet || '?'} is unmet `,
        contingency.fired ? h('span', { class: 'state-met' }, 'sent') : h('button', { type: 'button', class: 'small', 'data-testid': `fire-${contingency.id}`, onclick: fire(contingency.id) }, 'Fire now')))),
    h('p', { 'data-role': 'form-error', role: 'alert' }),
    h('p', { 'data-role': 'form-status', role: 'status', class: 'muted' }));
  form.addEventListener('submit', (event) => event.preventDefault());
  fill(card.injects, form);
}

function show_table(table) {
  let card = cards.get(table.index);
  if (!card) {
    card = make_card(table);
    cards.set(table.index, card);
    $('tables').append(card.element);
  }
  const clock = table.clock ?? {};
  fill(card.clock, h('span', { class: 'clock-time' }, clock.scenario_time || '—'), ' ',
    h('span', { class: 'clock-state', 'data-testid': 'table-state', 'data-state': clock.state ?? '' }, clock.state || 'starting'),
    clock.speed ? h('span', { class: 'muted' }, ` ×${clock.speed}`) : null);
  if (document.activeElement !== card.speed && clock.speed !== undefined) card.speed.value = clock.speed;
  fill(card.actions, `${plural(table.human_actions ?? 0, 'action')} by people so far`,
    table.gateways?.length ? ` · across ${table.gateways.length} gateways: ${table.gateways.map((g) => g.id).join(', ')}` : '');
  update(card, 'seats', table.seats ?? [], (seats) => fill(card.seats, seats.map(seat_item)));
  update(card, 'board', table.expectations ?? [], (board) => show_board(card, board));
  update(card, 'injects', [table.injects, table.contingencies], () => show_injects(card, table.index, table));
}

// --- media, across tables --------------------------------------------------------------

function table_choices(select, { all }) {
  const previous = select.value;
  fill(select, all ? h('option', { value: '' }, 'Every table') : null,
    (state.tables ?? []).map((table) => h('option', { value: String(table.index) }, table.name || `Table ${table.index + 1}`)));
  if ([...select.options].some((option) => option.value === previous)) select.value = previous;
}

function table_value(select) {
  return select.value === '' ? null : Number(select.value);
}

function show_media() {
  const rows = [];
  for (const table of state.tables ?? []) {
    for (const item of table.media ?? []) rows.push({ table, item });
  }
  const form = h('form', { novalidate: true },
    h('h3', {}, 'Scheduled'),
    rows.length ? h('ul', { class: 'list' }, rows.map(({ table, item }) =>
      h('li', { class: 'message media-item', 'data-testid': 'scheduled-media', 'data-id': item.id, 'data-table': table.index, 'data-kind': item.kind, 'data-released': item.released ? 'true' : 'false' },
        h('span', { class: 'media-kind' }, item.kind), ' ', h('strong', {}, item.headline || item.id),
        h('span', { class: 'meta' }, ` ${item.at || 'by hand'} · ${item.source || ''}${state.tables.length > 1 ? ` · ${table.name || table.index + 1}` : ''} `),
        item.released ? h('span', { class: 'state-met' }, 'released')
          : h('button', {
            type: 'button', class: 'small', 'data-testid': `release-${item.id}`,
            onclick: async (event) => {
              await submit_with_feedback(event.currentTarget.closest('form'), () => post('api/media', { table: table.index, media: item.id }),
                { done: () => `${item.id} released` });
              poller?.refresh();
            },
          }, 'Release now'))))
      : h('p', { class: 'empty' }, 'The scenario schedules no media items.'),
    h('p', { 'data-role': 'form-error', role: 'alert' }),
    h('p', { 'data-role': 'form-status', role: 'status', class: 'muted' }));
  form.addEventListener('submit', (event) => event.preventDefault());
  fill($('media-scheduled'), form);
}

function setup_media_form() {
  const form = $('media-form');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const seats = $('media-seats').value.split(',').map((seat) => seat.trim()).filter(Boolean);
    const headline = $('media-headline').value.trim();
    const done = await submit_with_feedback(form, () => post('api/media', {
      table: table_value($('media-table')),
      item: { kind: $('media-kind').value, source: $('media-source').value.trim(), headline, body: $('media-body').value, seats },
    }), { done: () => `Released “${headline}”` });
    if (done) {
      for (const id of ['media-headline', 'media-body', 'media-seats']) $(id).value = '';
      poller?.refresh();
    }
  });
}

// --- an inject written on the spot ----------------------------------------------------

function setup_inject_form() {
  const form = $('inject-form');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const title = $('inject-title').value.trim();
    const names = $('inject-to').value.split(',').map((name) => name.trim()).filter(Boolean);
    const done = await submit_with_feedback(form, () => post('api/inject', {
      table: table_value($('inject-table')) ?? 0,
      from: $('inject-from').value.trim(),
      message: {
        to: names.map((name) => ({ kind: $('inject-to-kind').value, name })),
        category: $('inject-category').value.trim(),
        purpose: $('inject-purpose').value.trim(),
        title,
        portions: [{ label: { classification: $('inject-classification').value.trim(), categories: [] }, body: $('inject-body').value }],
        handling: { originator_control: false, no_onward_sharing: false, embargo_event: '', expires_after_minutes: 0 },
      },
    }), { done: () => `Sent “${title}”` });
    if (done) {
      $('inject-title').value = '';
      $('inject-body').value = '';
      poller?.refresh();
    }
  });
}

// Suggestions for the free-text fields, from whatever the host tells the page.
function datalist(id, values) {
  const unique = [...new Set(values.filter(Boolean))].sort();
  const list = $(id);
  if (list.dataset.values === JSON.stringify(unique)) return;
  list.dataset.values = JSON.stringify(unique);
  fill(list, unique.map((value) => h('option', { value })));
}

function show_suggestions() {
  const tables = state.tables ?? [];
  const played = new Set(tables.flatMap((table) => (table.seats ?? []).map((seat) => seat.node)));
  const directory = tables.map((table) => table.directory ?? {});
  datalist('seat-nodes', [...played]);
  datalist('scripted-nodes', [
    ...tables.flatMap((table) => (table.injects ?? []).map((inject) => inject.from)),
    ...directory.flatMap((entry) => (entry.nodes ?? []).map((node) => node.id)),
  ].filter((node) => !played.has(node)));
  datalist('addressee-names', directory.flatMap((entry) =>
    ['nodes', 'roles', 'lists', 'organisations'].flatMap((kind) => (entry[kind] ?? []).map((item) => item.id))));
  datalist('category-names', tables.flatMap((table) => table.categories ?? []));
  datalist('purpose-names', tables.flatMap((table) => table.purposes ?? []));
  datalist('classification-names', tables.flatMap((table) => (table.scheme?.classifications ?? []).map((entry) => entry.name)));
}

// --- the improvement plan and the report -------------------------------------------------

const PLAN_FIELDS = [
  ['issue', 'Issue', 'textarea'],
  ['corrective_action', 'Corrective action', 'textarea'],
  ['owner', 'Owner', 'input'],
  ['due', 'Due date', 'date'],
  ['objective', 'Objective', 'select'],
];
let plan_row_ids = 0;

function objective_options(select) {
  const previous = select.value;
  fill(select, h('option', { value: '' }, '—'),
    (state?.scenario?.objectives ?? []).map((objective) => h('option', { value: objective.id, title: objective.text }, objective.id)));
  select.value = previous;
}

function add_plan_row(item = {}) {
  const id = ++plan_row_ids;
  const row = h('div', { class: 'plan-row', 'data-testid': 'plan-row' },
    PLAN_FIELDS.map(([name, text, kind]) => {
      const control_id = `plan-${name}-${id}`;
      const control = kind === 'textarea' ? h('textarea', { id: control_id, rows: 2 })
        : kind === 'select' ? h('select', { id: control_id })
          : h('input', { id: control_id, type: kind === 'date' ? 'date' : 'text', autocomplete: 'off' });
      control.dataset.name = name;
      control.setAttribute('data-testid', `plan-${name}`);
      if (kind === 'select') objective_options(control);
      control.value = item[name] ?? '';
      return h('div', { class: 'field' }, h('label', { for: control_id }, text), control);
    }),
    h('button', { type: 'button', class: 'small danger', 'data-testid': 'plan-remove', onclick: () => { row.remove(); renumber_plan(); } }, 'Remove'));
  $('plan-rows').append(row);
  renumber_plan();
  return row;
}

function renumber_plan() {
  [...$('plan-rows').children].forEach((row, index) => {
    row.dataset.field = `items[${index}]`;
    for (const control of row.querySelectorAll('[data-name]')) control.dataset.field = `items[${index}].${control.dataset.name}`;
  });
}

function plan_items() {
  return [...$('plan-rows').children]
    .map((row) => Object.fromEntries([...row.querySelectorAll('[data-name]')].map((control) => [control.dataset.name, control.value.trim()])))
    .filter((item) => Object.values(item).some(Boolean));
}

async function save_plan() {
  return submit_with_feedback($('plan-form'), () => post('api/plan', { items: plan_items() }),
    { done: () => `Saved ${plural(plan_items().length, 'row')} at ${new Date().toLocaleTimeString()}` });
}

// The reports named by api/finish; the host writes them after answering, so
// each link says whether its file is on disk yet (\`reports_ready\` in the state).
function show_reports(files, { ready = false, error = '' } = {}) {
  fill($('reports'), files.map((file) => h('li', {},
    h('a', {
      href: `reports/${encodeURIComponent(file)}`, target: '_blank', rel: 'noopener noreferrer',
      'data-testid': 'report-link', 'data-file': file, 'data-ready': ready ? 'true' : 'false',
    }, file),
    ready ? null : h('span', { class: 'muted' }, error ? '' : ' (being written…)'))),
  error ? h('li', { class: 'error', role: 'alert', 'data-testid': 'report-error' }, `The reports could not be written: ${error}`) : null);
}

function setup_plan_and_report() {
  $('plan-add').addEventListener('click', () => add_plan_row().querySelector('textarea').focus());
  $('plan-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    await save_plan();
  });
  $('finish-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const form = $('finish-form');
    // The plan on the page is what goes into the report: save it first.
    if (!(await save_plan())) {
      show_error(form, new ApiError(400, 'the improvement plan was not saved (see above); the report was not written'));
      return;
    }
    const answer = await submit_with_feedback(form, () => post('api/finish', {}),
      { done: (result) => `Written: ${(result?.reports ?? []).join(', ')}` });
    if (answer) show_reports(answer.reports ?? [], { ready: Boolean(state?.reports_ready) });
    poller?.refresh();
  });
}

// --- evaluators and the CA ------------------------------------------------------------------

function show_evaluators(evaluators) {
  fill($('evaluators'), evaluators.length ? evaluators.map((evaluator) => h('li', { class: 'seat', 'data-testid': 'evaluator' },
    h('div', {}, h('h4', { class: 'message-title' }, evaluator.name),
      h('p', { class: 'link' }, h('a', { href: evaluator.link, target: '_blank', rel: 'noopener noreferrer', 'data-testid': 'evaluator-link' }, evaluator.link)),
      copy_button(evaluator.link ?? '', 'Copy the link')),
    qr_image(evaluator.qr_svg, `QR code of ${evaluator.name}'s link`)))
    : h('li', { class: 'empty' }, 'No evaluators (--evaluators N adds some).'));
}

// The SHA-256 fingerprint of the CA certificate, as `openssl x509 -fingerprint
// -sha256` prints it, worked out here from the PEM the host serves (or taken
// from the state when the host gives it).
async function show_fingerprint() {
  const element = $('ca-fingerprint');
  if (state?.ca_fingerprint) {
    fill(element, state.ca_fingerprint);
    return;
  }
  if (location.protocol !== 'https:') {
    // Plain HTTP is only ever served on loopback: no certificate to install.
    fill(element, 'This exercise is served over plain HTTP on this machine only: there is no certificate to install.');
    $('ca-download').hidden = true;
    return;
  }
  try {
    const response = await fetch('api/ca.crt', { cache: 'no-store', credentials: 'omit' });
    if (!response.ok) throw new Error(`the host answered ${response.status}`);
    const pem = await response.text();
    const base64 = pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
    const der = Uint8Array.from(atob(base64), (char) => char.charCodeAt(0));
    if (!crypto.subtle) throw new Error('this browser works out fingerprints only over HTTPS');
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', der));
    fill(element, [...digest].map((byte) => byte.toString(16).toUpperCase().padStart(2, '0')).join(':'));
    element.dataset.ready = 'true';
  } catch (error) {
    fill(element, `unavailable: ${error.message} (on the host: openssl x509 -in ca.crt -noout -fingerprint -sha256)`);
  }
}

// --- the whole state ----------------------------------------------------------------------

let first = true;

function show(next) {
  state = next;
  const scenario = next.scenario ?? {};
  fill($('scenario-title'), scenario.title || scenario.name || 'Facilitator');
  fill($('scenario-detail'), [`facilitator`, plural((next.tables ?? []).length, 'table'), next.finished ? 'finished' : ''].filter(Boolean).join(' · '));
  document.title = `${scenario.name || 'exercise'} · facilitator · icegate`;
  $('tables').dataset.count = String((next.tables ?? []).length);
  for (const table of next.tables ?? []) show_table(table);
  show_media();
  show_suggestions();
  table_choices($('media-table'), { all: true });
  table_choices($('inject-table'), { all: false });
  show_evaluators(next.evaluators ?? []);
  for (const select of $('plan-rows').querySelectorAll('select[data-name="objective"]')) objective_options(select);
  if (next.reports?.length) show_reports(next.reports, { ready: Boolean(next.reports_ready), error: next.reports_error ?? '' });
  $('finish-form').querySelector('button[type="submit"]').disabled = Boolean(next.finished);
  if (first) {
    first = false;
    show_fingerprint();
    // The plan as the host holds it (a reload keeps what was saved), or one empty row.
    const plan = next.improvement_plan ?? [];
    for (const item of plan) add_plan_row(item);
    if (!plan.length) add_plan_row();
  }
}

for (const button of document.querySelectorAll('[data-action]')) {
  button.addEventListener('click', async () => {
    fill($('global-error'));
    try {
      await post('api/control', { table: null, action: button.dataset.action });
    } catch (error) {
      fill($('global-error'), error.message);
    }
    poller?.refresh();
  });
}
setup_media_form();
setup_inject_form();
setup_plan_and_report();
poller = start_polling('api/state', {
  on_view: show,
  on_status: (status) => show_status(document.querySelector('[data-testid="connection"]'), status),
});
