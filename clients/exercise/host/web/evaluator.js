// The evaluator's console (evaluator.html), on the model of HSEEP's Exercise
// Evaluation Guide: timed observations against the scenario's objectives, a
// rating per objective on the P/S/M/U scale, and what the players did.

import { h, fill, decision_chip } from './dom.js';
import { post, start_polling, show_status, submit_with_feedback } from './api.js';

const $ = (id) => document.getElementById(id);
const RATINGS = [
  ['P', 'Performed without challenges'],
  ['S', 'Performed with some challenges'],
  ['M', 'Performed with major challenges'],
  ['U', 'Unable to be performed'],
];
let state = null;
let poller = null;
const objective_cards = new Map();  // objective id -> {element, history, current}
let last = {};

function table_index() {
  const select = $('table');
  return select.value === '' ? (state?.tables?.[0]?.index ?? 0) : Number(select.value);
}

function table_name(index) {
  return state?.tables?.find((table) => table.index === index)?.name ?? '';
}

function make_objective(objective) {
  const id = objective.id;
  const rating_form = h('form', { novalidate: true, 'data-testid': 'rating-form' },
    h('fieldset', { 'data-field': 'rating' },
      h('legend', {}, `Rating of ${id}`),
      h('div', { class: 'ratings' }, RATINGS.map(([value, words]) => h('label', { class: 'check rating-option' },
        h('input', { type: 'radio', name: `rating-${id}`, value, 'data-testid': `rating-${value}` }),
        h('span', {}, h('strong', {}, value), ` — ${words}`))))),
    h('div', { class: 'field' },
      h('label', { for: `note-${id}` }, 'Why (the evidence for this rating)'),
      h('textarea', { id: `note-${id}`, rows: 2, 'data-field': 'note', 'data-testid': 'rating-note' })),
    h('p', { 'data-role': 'form-error', role: 'alert' }),
    h('div', { class: 'buttons' },
      h('button', { type: 'submit', class: 'primary', 'data-testid': 'rating-save' }, 'Save the rating'),
      h('span', { 'data-role': 'form-status', role: 'status', 'data-testid': 'rating-status' })));
  rating_form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const chosen = rating_form.querySelector('input[type="radio"]:checked')?.value ?? '';
    await submit_with_feedback(rating_form, () => post('api/rating', {
      table: table_index(), objective: id, rating: chosen, note: rating_form.querySelector('textarea').value,
    }), { done: () => `Saved: ${chosen}` });
    poller?.refresh();
  });

  const observation_form = h('form', { novalidate: true, 'data-testid': 'observation-form' },
    h('div', { class: 'field' },
      h('label', { for: `observation-${id}` }, 'Observation (timed now, by the scenario clock)'),
      h('textarea', { id: `observation-${id}`, rows: 3, 'data-field': 'text', 'data-testid': 'observation-text' })),
    h('p', { 'data-role': 'form-error', role: 'alert' }),
    h('div', { class: 'buttons' },
      h('button', { type: 'submit', 'data-testid': 'observation-save' }, 'Record the observation'),
      h('span', { 'data-role': 'form-status', role: 'status' })));
  observation_form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const text = observation_form.querySelector('textarea');
    const done = await submit_with_feedback(observation_form, () => post('api/observation', {
      table: table_index(), objective: id, text: text.value,
    }), { done: () => 'Recorded' });
    if (done !== undefined) text.value = '';
    poller?.refresh();
  });

  const current = h('p', { 'data-testid': 'current-rating' });
  const history = h('ol', { class: 'list', 'data-testid': 'observations' });
  const element = h('li', { class: 'message', 'data-testid': 'objective', 'data-id': id },
    h('h3', { class: 'message-title' }, id), h('p', {}, objective.text || ''),
    current, rating_form, observation_form, h('h4', {}, 'My observations'), history);
  return { element, current, history, rating_form };
}

// Whether a rating or an observation is of the table shown: the host names
// the table by its index (a name would do as well, so both are accepted).
function of_table(entry, index) {
  return typeof entry.table === 'number' ? entry.table === index : (entry.table ?? '') === table_name(index);
}

function show_objectives() {
  const list = $('objectives');
  const table = table_index();
  for (const objective of state.objectives ?? []) {
    let card = objective_cards.get(objective.id);
    if (!card) {
      card = make_objective(objective);
      objective_cards.set(objective.id, card);
      list.append(card.element);
    }
    const mine = (state.ratings ?? []).find((rating) => rating.objective === objective.id && of_table(rating, table));
    fill(card.current, mine ? h('span', { 'data-rating': mine.rating }, `Current rating: `, h('strong', {}, mine.rating),
      ` — ${RATINGS.find(([value]) => value === mine.rating)?.[1] ?? ''}${mine.note ? ` (${mine.note})` : ''}`) : 'Not rated yet.');
    card.current.dataset.rating = mine?.rating ?? '';
    const observations = (state.observations ?? []).filter((observation) => observation.objective === objective.id && of_table(observation, table));
    fill(card.history, observations.length ? [...observations].reverse().map((observation) =>
      h('li', { 'data-testid': 'observation' }, h('strong', {}, observation.at || ''), ' ', observation.text))
      : h('li', { class: 'empty' }, 'None yet.'));
  }
}

function show_actions(table) {
  const actions = [...(table?.human_actions ?? [])].reverse();
  fill($('actions'), actions.length ? actions.map((action) => h('li', { class: 'message', 'data-testid': 'action', 'data-node': action.node, 'data-kind': action.kind },
    h('div', { class: 'message-head' }, h('strong', {}, action.at || ''), ` ${action.node} — ${action.kind}${action.title ? `: ${action.title}` : ''}`),
    action.to?.length ? h('p', { class: 'meta' }, `to ${action.to.join(', ')}${action.labels?.length ? ` · marked ${action.labels.join(' + ')}` : ''}`) : null,
    action.outcomes?.length ? h('p', {}, action.outcomes.map((outcome) => h('span', {}, `${outcome.node}${outcome.gateway ? ` (${outcome.gateway})` : ''} `, decision_chip(outcome.decision), ' '))) : null))
    : h('li', { class: 'empty' }, 'Nobody has acted yet.'));
}

function show_board(table) {
  const board = table?.expectations ?? [];
  fill($('board'), board.map((expectation) => h('li', { 'data-testid': 'expectation', 'data-state': expectation.state },
    h('span', { class: `state-${expectation.state}` }, expectation.state), ' ', h('strong', {}, expectation.id), ` ${expectation.description || ''}`)));
}

function show(next) {
  state = next;
  fill($('me-name'), next.me?.name ? `Evaluator: ${next.me.name}` : 'Evaluator');
  const tables = next.tables ?? [];
  const select = $('table');
  const previous = select.value;
  fill(select, tables.map((table) => h('option', { value: String(table.index) }, table.name || `Table ${table.index + 1}`)));
  if ([...select.options].some((option) => option.value === previous)) select.value = previous;
  $('table-field').hidden = tables.length < 2;
  const table = tables.find((entry) => entry.index === table_index());
  const clock = table?.clock ?? {};
  fill($('clock-time'), clock.scenario_time || '—');
  fill($('clock-state'), clock.state || '');
  show_objectives();
  const json = JSON.stringify([table?.human_actions, table?.expectations]);
  if (last.table !== json) {
    last.table = json;
    show_actions(table);
    show_board(table);
  }
}

$('table').addEventListener('change', () => {
  last = {};
  if (state) show(state);
});
poller = start_polling('api/state', {
  on_view: show,
  on_status: (status) => show_status(document.querySelector('[data-testid="connection"]'), status),
});
