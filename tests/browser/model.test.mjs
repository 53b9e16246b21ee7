// The dashboard's store (gateway/http/web/model.js), in node without a
// browser: `node --test tests/browser/model.test.mjs`; ctest runs it as dashboard_model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Store, hop_line, merge_detail } from '../../gateway/http/web/model.js';

const forward = {
  seq: 3, time: '2026-11-21T06:00:00.000Z', type: 'hop', kind: 'forward', message_id: 'm-123', peer: 'gw-birmingham',
  origin: 'gw-wm-ctu', via: [], hop: 1, outcome: 'forwarded_redacted', portions: ['3'],
  withheld: [{ portion: '1', reason: 'beyond-accreditation' }, { portion: '2', reason: 'beyond-accreditation' }],
  reason: '',
};

test('a hop decision reads as one line, the withheld portions counted by reason', () => {
  assert.equal(hop_line(forward), 'forward m-123 to gw-birmingham: forwarded_redacted (withheld 2: beyond accreditation)');
  assert.equal(hop_line({ ...forward, kind: 'receive', peer: 'gw-wm-ctu', outcome: 'accepted', withheld: [] }),
    'receive m-123 from gw-wm-ctu: accepted');
  assert.equal(hop_line({
    ...forward, kind: 'refused', peer: 'gw-wm-ctu', outcome: 'binding-portion-not-bound', withheld: [],
    reason: 'portion 2 is not bound',
  }), 'refused m-123 from gw-wm-ctu: binding-portion-not-bound (portion 2 is not bound)');
  assert.equal(hop_line({
    ...forward, outcome: 'not_sent', portions: [], withheld: [{ portion: '1', reason: 'category-not-received' }],
    reason: 'nothing gw-birmingham may receive',
  }), 'forward m-123 to gw-birmingham: not_sent (withheld 1: category not received; nothing gw-birmingham may receive)');
});

test('the snapshot lists the peers as they are now, and peer events change them', () => {
  const store = new Store();
  store.load_state({
    peers: [{ id: 'gw-birmingham', state: 'connecting', since: '2026-11-21T06:00:00Z', address: '127.0.0.3:7443',
      last_error: 'cannot connect to 127.0.0.3:7443: Connection refused' }],
    events: [{ seq: 1, type: 'peer', id: 'gw-old', state: 'up' }],
  });
  assert.deepEqual([...store.peers.keys()], ['gw-birmingham'], 'older peer events are history');
  store.apply({ seq: 2, type: 'peer', id: 'gw-birmingham', state: 'up', direction: 'dialled', last_error: '' });
  assert.equal(store.peers.get('gw-birmingham').state, 'up');
  store.apply({ seq: 4, type: 'peer', id: 'gw-birmingham', state: 'removed' });
  assert.equal(store.peers.size, 0);
});

test('hops are kept with their message and merged with the fetched detail, once each', () => {
  const store = new Store();
  store.apply(forward);
  const receive = { ...forward, seq: 5, kind: 'receive', outcome: 'accepted', withheld: [] };
  store.apply(receive);
  const detail = merge_detail(store, 'm-123', { hops: [forward] });
  assert.deepEqual(detail.hops.map((h) => h.seq), [3, 5]);
});
