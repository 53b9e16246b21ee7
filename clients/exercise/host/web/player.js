// The player's console (player.html): one seat, one node. Everything shown
// here is what the gateway delivered to this seat's node (the host's seat
// view); everything done here is a request the host passes to that node's
// own client, so the gateway decides exactly as for any node.

import { h, clear, fill, keyed_list, plural, marking_banner, decision_chip, decision_key } from './dom.js';
import { post, start_polling, show_status, submit_with_feedback, clear_errors } from './api.js';

const $ = (id) => document.getElementById(id);
const ADDRESSEE_KINDS = [
  ['node', 'Node'],
  ['role', 'Role'],
  ['list', 'List'],
  ['organisation', 'Organisation'],
];

let view = null;        // the last whole view from api/seat
let lookup = null;      // names for ids: nodes, roles, lists, organisations
let poller = null;
let reply_to = null;    // {message_id, title} while replying
const shown_reviews = new Map();  // hold_id -> {answer, element}: keeps what a player is typing

// --- who I am and the clock ------------------------------------------------------

function show_me(me, table, clock, pages_open) {
  const organisation = me.organisation?.name || me.organisation?.id || '';
  fill($('me-name'), me.name || me.node || 'Unknown seat');
  const role = me.role ? `${me.role.name || me.role.id}${me.role.level ? ` (${me.role.level})` : ''}` : '';
  fill($('me-detail'), [organisation, role, me.vetting ? `vetting ${me.vetting}` : '', me.node ? `node ${me.node}` : '']
    .filter(Boolean).join(' · '));
  document.title = `${me.name || me.node} · icegate exercise`;
  fill($('clock-time'), clock?.scenario_time || '—');
  const state = clock?.state || 'starting';
  fill($('clock-state'), state === 'running' && clock.speed ? `running ×${clock.speed}` : state);
  $('clock-state').dataset.state = state;
  fill($('table-name'), table ? `table: ${table}` : '');
  const pages = $('pages-open');
  pages.hidden = !(pages_open > 1);
  fill(pages, pages_open > 1 ? `This seat is open on ${plural(pages_open, 'page')} (say, a laptop and a phone): all show the same seat and all may act.` : '');
}

function set_count(id, count) {
  const element = $(id);
  fill(element, String(count));
  if (count) delete element.dataset.zero;
  else element.dataset.zero = '';
}

function name_of(kind, id) {
  return lookup?.[kind]?.get(id) || id;
}

// --- portions, as received ---------------------------------------------------------

function portion_view(portion) {
  return h('section', { class: 'portion', 'data-testid': 'portion', 'data-portion-id': portion.id, 'data-marking': portion.marking },
    marking_banner(portion),
    h('p', { class: 'body', 'data-testid': 'portion-body' }, portion.body ?? ''));
}

function withheld_view(withheld) {
  return h('section', { class: 'portion withheld', 'data-testid': 'withheld-portion', 'data-portion-id': withheld.portion_id, 'data-marking': withheld.marking },
    marking_banner(withheld),
    h('p', { class: 'body' }, 'Withheld from you: ', h('span', { 'data-testid': 'withheld-reason' }, withheld.reason || 'no reason given')));
}

// --- the inbox ---------------------------------------------------------------------

function inbox_item(delivery) {
  const decision = decision_key(delivery.decision);
  return h('li', { class: 'message', 'data-testid': 'inbox-item', 'data-seq': delivery.seq, 'data-decision': decision, 'data-message-id': delivery.message_id, 'data-inject': delivery.inject || undefined },
    h('article', { 'aria-labelledby': `inbox-title-${delivery.seq}` },
      h('div', { class: 'message-head' },
        h('h3', { class: 'message-title', id: `inbox-title-${delivery.seq}`, 'data-testid': 'inbox-title' }, delivery.title || '(no title)'),
        decision_chip(decision, { 'data-testid': 'inbox-decision' })),
      h('p', { class: 'meta' },
        `${delivery.at || ''} · from `, h('strong', { 'data-testid': 'inbox-from' }, name_of('nodes', delivery.from)),
        delivery.category ? ` · ${delivery.category}` : '', delivery.purpose ? ` · for ${delivery.purpose}` : '',
        delivery.label?.classification ? ` · marked ${delivery.label.classification}` : ''),
      (delivery.portions ?? []).map(portion_view),
      (delivery.withheld ?? []).map(withheld_view),
      delivery.reason && decision !== 'release' ? h('p', { class: 'meta' }, 'Gateway: ', delivery.reason,
        delivery.rules?.length ? ` (rules: ${delivery.rules.join(', ')})` : '') : null,
      h('div', { class: 'buttons' },
        h('button', { type: 'button', class: 'small', 'data-testid': 'reply', onclick: () => start_reply(delivery) }, 'Reply'))));
}

function show_inbox(inbox) {
  const sorted = [...inbox].sort((a, b) => Number(b.seq) - Number(a.seq));
  keyed_list($('inbox'), sorted, (delivery) => delivery.seq, inbox_item, 'Nothing has reached you yet.');
  set_count('count-inbox', sorted.length);
}

// --- receipts and what I asked for -------------------------------------------------

function receipt_item(receipt) {
  return h('li', { class: 'message', 'data-testid': 'receipt', 'data-message-id': receipt.message_id },
    h('div', { class: 'message-head' },
      h('h3', { class: 'message-title' }, receipt.title || receipt.message_id),
      receipt.follow_up ? h('span', { class: 'meta' }, 'follow-up') : null),
    h('p', { class: 'meta' }, receipt.at || ''),
    receipt.unresolved?.length ? h('p', { class: 'error' }, `Named nobody: ${receipt.unresolved.join(', ')}`) : null,
    h('table', { class: 'outcomes' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Recipient'), h('th', { scope: 'col' }, 'Decision'),
        h('th', { scope: 'col' }, 'Got'), h('th', { scope: 'col' }, 'Why'))),
      h('tbody', {}, (receipt.outcomes ?? []).map((outcome) =>
        h('tr', { 'data-testid': 'receipt-outcome', 'data-node': outcome.node, 'data-decision': decision_key(outcome.decision) },
          h('td', {}, name_of('nodes', outcome.node),
            outcome.gateway ? h('div', { class: 'meta', 'data-testid': 'outcome-gateway' }, `decided at ${outcome.gateway}`) : null),
          h('td', {}, decision_chip(outcome.decision)),
          h('td', {}, outcome.released?.length ? outcome.released.join(', ') : 'nothing',
            outcome.withheld?.length ? h('div', { class: 'meta' }, `withheld: ${outcome.withheld.join(', ')}`) : null),
          h('td', {}, outcome.reason || ''))))));
}

function sent_item(sent) {
  const state = sent.state || 'queued';
  return h('li', { 'data-testid': 'sent-item', 'data-state': state, 'data-what': sent.what },
    h('span', { class: `state-${state}` }, state), ' ',
    `${sent.what}: ${sent.title || sent.message_id}`, h('span', { class: 'meta' }, ` · ${sent.at || ''}`),
    sent.error ? h('div', { class: 'error', 'data-testid': 'sent-error' }, sent.error) : null);
}

// --- reviews and consent ----------------------------------------------------------

function review_item(review) {
  const answered = Boolean(review.answer);
  const portions = review.message?.portions ?? [];
  const form = h('form', { novalidate: true });
  const verdict = async (which) => {
    const withhold = [...form.querySelectorAll('input[data-withhold]:checked')].map((box) => box.dataset.withhold);
    await submit_with_feedback(form, () => post('api/review', {
      hold_id: review.hold_id, verdict: which, withhold_portions: which === 'redact' ? withhold : [],
      comment: form.querySelector('textarea').value,
    }), { done: () => `Your answer (${which}) is on its way to the gateway.` });
    poller?.refresh();
  };
  form.addEventListener('submit', (event) => event.preventDefault());
  form.append(
    portions.length > 1 ? h('fieldset', { 'data-field': 'withhold_portions' },
      h('legend', {}, 'To redact: the portions to withhold'),
      portions.map((portion) => h('label', { class: 'check' },
        h('input', { type: 'checkbox', 'data-withhold': portion.id, 'data-testid': `review-withhold-${portion.id}` }),
        `portion ${portion.id} (${portion.marking || portion.label?.classification || ''})`))) : null,
    h('div', { class: 'field' },
      h('label', { for: `comment-${review.hold_id}` }, 'Comment (goes into the audit trail)'),
      h('textarea', { id: `comment-${review.hold_id}`, 'data-field': 'comment', 'data-testid': 'review-comment', rows: 2 })),
    h('p', { 'data-role': 'form-error', role: 'alert' }),
    h('div', { class: 'buttons' },
      h('button', { type: 'button', class: 'primary', 'data-testid': 'review-approve', onclick: () => verdict('approve') }, review.consent ? 'Consent' : 'Approve'),
      portions.length > 1 ? h('button', { type: 'button', 'data-testid': 'review-redact', onclick: () => verdict('redact') }, 'Release without the ticked portions') : null,
      h('button', { type: 'button', class: 'danger', 'data-testid': 'review-refuse', onclick: () => verdict('refuse') }, 'Refuse'),
      h('span', { 'data-role': 'form-status', role: 'status' })));
  return h('li', { class: 'message', 'data-testid': 'review-item', 'data-hold-id': review.hold_id, 'data-answered': answered ? 'true' : 'false' },
    h('div', { class: 'message-head' },
      h('h3', { class: 'message-title' }, `${review.consent ? 'Consent asked' : 'Review asked'}: ${review.message?.title || ''}`)),
    h('p', { class: 'meta' }, `${review.at || ''} · from ${name_of('nodes', review.message?.from)} · for ${(review.recipients ?? []).map((id) => name_of('nodes', id)).join(', ')}`),
    review.reason ? h('p', {}, review.reason) : null,
    portions.map(portion_view),
    answered ? h('p', { class: 'ok', 'data-testid': 'review-answer' }, `Answered: ${review.answer}`) : form);
}

function show_reviews(reviews) {
  const list = $('reviews');
  const wanted = new Set(reviews.map((review) => review.hold_id));
  for (const [hold_id, shown] of shown_reviews) {
    if (!wanted.has(hold_id)) {
      shown.element.remove();
      shown_reviews.delete(hold_id);
    }
  }
  for (const review of reviews) {
    const shown = shown_reviews.get(review.hold_id);
    if (shown && shown.answer === (review.answer || '')) continue;  // keep what is being typed
    const element = review_item(review);
    if (shown) shown.element.replaceWith(element);
    else list.prepend(element);
    shown_reviews.set(review.hold_id, { answer: review.answer || '', element });
  }
  for (const item of [...list.querySelectorAll('li.empty')]) item.remove();
  if (!reviews.length) list.append(h('li', { class: 'empty' }, 'Nothing waits for your answer.'));
  set_count('count-reviews', reviews.filter((review) => !review.answer).length);
}

// --- media and events --------------------------------------------------------------

function media_item(item) {
  return h('li', { class: 'message media-item', 'data-testid': 'media-item', 'data-media-id': item.id, 'data-kind': item.kind },
    h('span', { class: 'media-kind' }, { news: 'News', social: 'Social media', call: 'Journalist calling' }[item.kind] ?? item.kind),
    h('h3', { class: 'message-title', 'data-testid': 'media-headline' }, item.headline || ''),
    h('p', { class: 'meta' }, [item.source, item.at].filter(Boolean).join(' · ')),
    item.body ? h('p', { class: 'body' }, item.body) : null);
}

function show_events(events) {
  const form = $('events-form');
  const list = fill($('events'));
  if (!events.length) list.append(h('li', { class: 'empty' }, 'No event is yours to declare.'));
  for (const event of events) {
    list.append(h('li', { class: 'message', 'data-testid': 'event', 'data-event': event.id },
      h('h3', { class: 'message-title' }, event.id),
      h('p', {}, event.description || ''),
      h('button', {
        type: 'button', class: 'primary', 'data-testid': `trigger-${event.id}`,
        onclick: async () => {
          await submit_with_feedback(form, () => post('api/trigger', { event: event.id }),
            { done: () => `Declared ${event.id}: the gateway lifts what was embargoed until it.` });
          poller?.refresh();
        },
      }, `Declare “${event.id}”`)));
  }
}

// --- compose -----------------------------------------------------------------------------

function options(select, entries, { keep = true, blank = null } = {}) {
  const previous = select.value;
  fill(select, blank !== null ? h('option', { value: '' }, blank) : null,
    entries.map(([value, text]) => h('option', { value }, text)));
  if (keep && [...select.options].some((option) => option.value === previous)) select.value = previous;
}

function directory_entries(kind) {
  const directory = view?.directory ?? {};
  const plural_kind = { node: 'nodes', role: 'roles', list: 'lists', organisation: 'organisations' }[kind];
  return (directory[plural_kind] ?? []).map((entry) =>
    [entry.id, entry.name && entry.name !== entry.id ? `${entry.name} (${entry.id})` : entry.id]);
}

function renumber() {
  [...$('addressees').children].forEach((row, index) => {
    row.dataset.field = `to[${index}]`;
    row.querySelector('[data-role="kind"]').dataset.field = `to[${index}].kind`;
    row.querySelector('[data-role="name"]').dataset.field = `to[${index}].name`;
    row.querySelector('[data-role="kind-label"]').textContent = `Addressee ${index + 1}: kind`;
  });
  [...$('portions').children].forEach((row, index) => {
    row.dataset.field = `portions[${index}]`;
    row.querySelector('legend').textContent = `Portion ${index + 1}`;
    row.querySelector('[data-role="classification"]').dataset.field = `portions[${index}].label.classification`;
    row.querySelector('[data-role="categories"]').dataset.field = `portions[${index}].label.categories`;
    row.querySelector('[data-role="body"]').dataset.field = `portions[${index}].body`;
  });
}

let row_ids = 0;

function add_addressee(kind = 'node', name = '') {
  const id = ++row_ids;
  const kind_select = h('select', { id: `kind-${id}`, class: 'row-input', 'data-role': 'kind', 'data-testid': 'addressee-kind' },
    ADDRESSEE_KINDS.map(([value, text]) => h('option', { value }, text)));
  const name_select = h('select', { id: `name-${id}`, class: 'row-input', 'data-role': 'name', 'data-testid': 'addressee-name' });
  kind_select.value = kind;
  const refill = () => options(name_select, directory_entries(kind_select.value), { blank: '— choose —' });
  kind_select.addEventListener('change', refill);
  refill();
  if (name) name_select.value = name;
  const row = h('div', { class: 'addressee-row', 'data-testid': 'addressee' },
    h('div', { class: 'field' }, h('label', { for: `kind-${id}`, 'data-role': 'kind-label' }, 'Kind'), kind_select),
    h('div', { class: 'field' }, h('label', { for: `name-${id}` }, 'Who'), name_select),
    h('button', {
      type: 'button', class: 'small danger', 'aria-label': 'Remove this addressee', 'data-testid': 'remove-addressee',
      onclick: () => { row.remove(); renumber(); },
    }, 'Remove'));
  row.refill = refill;
  $('addressees').append(row);
  renumber();
  return row;
}

function add_portion() {
  const id = ++row_ids;
  const scheme = view?.scheme ?? {};
  const classification = h('select', { id: `classification-${id}`, 'data-role': 'classification', 'data-testid': 'compose-classification' },
    (scheme.classifications ?? []).map((entry) => h('option', { value: entry.name }, entry.marking || entry.name)));
  const categories = h('div', { 'data-role': 'categories' },
    (scheme.categories ?? []).map((entry) => h('label', { class: 'check' },
      h('input', { type: 'checkbox', value: entry.name, 'data-testid': `portion-category-${entry.name}` }), entry.name)));
  const body = h('textarea', { id: `body-${id}`, 'data-role': 'body', 'data-testid': 'compose-body', rows: 4, maxlength: 16384 });
  const row = h('fieldset', { class: 'portion-row', 'data-testid': 'compose-portion' },
    h('legend', {}, 'Portion'),
    h('div', { class: 'field' }, h('label', { for: `classification-${id}` }, 'Marking'), classification),
    (scheme.categories ?? []).length ? h('div', { class: 'field' }, h('span', { class: 'label' }, 'Caveats and categories'), categories) : categories,
    h('div', { class: 'field' }, h('label', { for: `body-${id}` }, 'Text'), body),
    h('button', {
      type: 'button', class: 'small danger', 'data-testid': 'remove-portion',
      onclick: () => { if ($('portions').children.length > 1) { row.remove(); renumber(); } },
    }, 'Remove this portion'));
  $('portions').append(row);
  renumber();
  return row;
}

function fill_compose_choices() {
  options($('category'), (view.categories ?? []).map((name) => [name, name]), { blank: '— choose —' });
  options($('purpose'), (view.purposes ?? []).map((name) => [name, name]), { blank: '— choose —' });
  for (const row of $('addressees').children) row.refill();
}

function reset_compose() {
  const form = $('compose');
  form.reset();
  clear_errors(form);
  clear($('addressees'));
  clear($('portions'));
  add_addressee();
  add_portion();
  cancel_reply();
}

function start_reply(delivery) {
  reply_to = { message_id: delivery.message_id, title: delivery.title };
  clear($('addressees'));
  add_addressee('node', delivery.from);
  if (delivery.category) $('category').value = delivery.category;
  if (delivery.purpose) $('purpose').value = delivery.purpose;
  $('title').value = /^re:/i.test(delivery.title ?? '') ? delivery.title : `Re: ${delivery.title ?? ''}`;
  const banner = fill($('reply-to'), 'Replying to ', h('strong', {}, delivery.title || delivery.message_id), ' ',
    h('button', { type: 'button', class: 'small', onclick: cancel_reply }, 'Not a reply'));
  banner.dataset.field = 'in_reply_to';
  banner.hidden = false;
  $('compose-heading').scrollIntoView({ block: 'start' });
  $('title').focus();
}

function cancel_reply() {
  reply_to = null;
  fill($('reply-to'));
  $('reply-to').hidden = true;
}

function compose_request() {
  const to = [...$('addressees').children].map((row) => ({
    kind: row.querySelector('[data-role="kind"]').value,
    name: row.querySelector('[data-role="name"]').value,
  }));
  const portions = [...$('portions').children].map((row) => ({
    label: {
      classification: row.querySelector('[data-role="classification"]').value,
      categories: [...row.querySelectorAll('[data-role="categories"] input:checked')].map((box) => box.value),
    },
    body: row.querySelector('[data-role="body"]').value,
  }));
  const request = {
    to,
    category: $('category').value,
    purpose: $('purpose').value,
    title: $('title').value.trim(),
    portions,
    handling: {
      originator_control: $('originator-control').checked,
      no_onward_sharing: $('no-onward-sharing').checked,
      embargo_event: $('embargo').value.trim(),
      expires_after_minutes: Number($('expires').value) || 0,
    },
  };
  if (reply_to) request.in_reply_to = reply_to.message_id;
  return request;
}

function setup_compose() {
  const form = $('compose');
  $('add-addressee').addEventListener('click', () => add_addressee().querySelector('select').focus());
  $('add-portion').addEventListener('click', () => add_portion().querySelector('select').focus());
  $('compose-reset').addEventListener('click', reset_compose);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const request = compose_request();
    const title = request.title;
    const result = await submit_with_feedback(form, () => post('api/send', request), {
      done: (answer) => `Sent “${title}” to the gateway (${answer?.message_id ?? ''}): what each addressee got appears in your receipts.`,
    });
    if (result) {
      // Keep the status line; clear the rest for the next message.
      const status = form.querySelector('[data-role="form-status"]').textContent;
      reset_compose();
      fill(form.querySelector('[data-role="form-status"]'), status);
      poller?.refresh();
    }
  });
}

// --- the whole view ---------------------------------------------------------------------

let compose_ready = false;
let directory_json = '';

function show(next) {
  view = next;
  const directory = next.directory ?? {};
  lookup = Object.fromEntries(['nodes', 'roles', 'lists', 'organisations'].map((kind) =>
    [kind, new Map((directory[kind] ?? []).map((entry) => [entry.id, entry.name || entry.id]))]));
  show_me(next.me ?? {}, next.table, next.clock, next.pages_open);

  const choices = JSON.stringify([next.directory, next.categories, next.purposes, next.scheme]);
  if (!compose_ready) {
    compose_ready = true;
    directory_json = choices;
    fill_compose_choices();
    reset_compose();
  } else if (choices !== directory_json) {
    directory_json = choices;
    fill_compose_choices();
  }

  show_inbox(next.inbox ?? []);
  show_reviews(next.reviews ?? []);
  const receipts = [...(next.receipts ?? [])].reverse();
  fill($('receipts'), receipts.length ? receipts.map(receipt_item) : h('li', { class: 'empty' }, 'You have sent nothing yet.'));
  const sent = [...(next.sent ?? [])].reverse();
  fill($('sent'), sent.length ? sent.map(sent_item) : h('li', { class: 'empty' }, 'Nothing yet.'));
  const media = [...(next.media ?? [])].reverse();
  keyed_list($('media'), media, (item) => item.id, media_item, 'No media coverage has reached you yet.');
  set_count('count-media', media.length);
  show_events(next.may_trigger ?? []);
  // Embargo until any of the policy's events (\`events\`, when the host gives
  // them), not only those this seat may declare.
  const events = next.events ?? next.may_trigger ?? [];
  fill($('events-list'), events.map((event) => h('option', { value: event.id }, event.description || event.id)));
}

setup_compose();
poller = start_polling('api/seat', {
  on_view: show,
  on_status: (status) => show_status(document.querySelector('[data-testid="connection"]'), status),
});
