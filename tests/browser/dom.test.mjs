// The dashboard's time formatting (gateway/http/web/dom.js), in node without a
// browser: `node --test tests/browser/dom.test.mjs`; ctest runs it as dashboard_dom.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clock_time, show_clock_dates } from '../../gateway/http/web/dom.js';

test('a live gateway shows clock times of day', () => {
  show_clock_dates(false);
  assert.equal(clock_time('2026-11-21T14:02:03.120Z'), '14:02:03.120');
  assert.equal(clock_time('2026-11-21T14:02:03.120Z', { fraction: false }), '14:02:03');
});

// An exercise runs on a simulated clock over days (T-48h to T+24h): a time
// without its date would not say which day.
test('an exercise shows the date with every clock time', () => {
  show_clock_dates(true);
  try {
    assert.equal(clock_time('2026-11-19T06:00:00.000Z'), '2026-11-19 06:00:00.000');
    assert.equal(clock_time('2026-11-21T06:00:00.250Z', { fraction: false }), '2026-11-21 06:00:00');
  } finally {
    show_clock_dates(false);
  }
});

test('show_clock_dates says whether the setting changed', () => {
  show_clock_dates(false);
  assert.equal(show_clock_dates(true), true);
  assert.equal(show_clock_dates(true), false);
  assert.equal(show_clock_dates(false), true);
});

test('text that is not a time is shown as given', () => {
  assert.equal(clock_time('soon'), 'soon');
  assert.equal(clock_time(undefined), '');
});
