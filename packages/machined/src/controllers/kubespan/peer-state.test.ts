import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '@talos-ts/testkit';
import { ENDPOINT_CONNECTION_TIMEOUT_MS, PEER_DOWN_INTERVAL_MS, peerState, pickNextEndpoint, shouldChangeEndpoint, type PeerRotation } from './peer-state.ts';

const fresh: PeerRotation = { endpoint: '', lastUsedEndpoint: '', lastEndpointChangeMs: undefined, lastHandshakeMs: undefined };

test('peerState: a peer never given an endpoint is unknown and gets the first endpoint', () => {
  assert.equal(peerState(fresh, 1_000_000), 'unknown');
  assert.equal(shouldChangeEndpoint('unknown', fresh), true);
  assert.equal(pickNextEndpoint(fresh, ['10.0.0.1:51820', '10.0.0.2:51820']), '10.0.0.1:51820');
  assert.equal(pickNextEndpoint(fresh, []), undefined);
});

test('peerState: rotation on a fake clock follows upstream timeouts (15 s to connect, 275 s down interval)', async () => {
  const clock = new FakeClock(1_700_000_000_000);
  const endpoints = ['192.0.2.1:51820', '10.5.0.3:51820'];
  // T0: the first (wrong) endpoint is set.
  let p: PeerRotation = { endpoint: endpoints[0]!, lastUsedEndpoint: endpoints[0]!, lastEndpointChangeMs: clock.now(), lastHandshakeMs: undefined };
  await clock.advance(ENDPOINT_CONNECTION_TIMEOUT_MS - 1);
  assert.equal(peerState(p, clock.now()), 'unknown', 'still within the connection timeout');
  assert.equal(shouldChangeEndpoint(peerState(p, clock.now()), p), false);
  await clock.advance(2);
  assert.equal(peerState(p, clock.now()), 'down', 'no handshake 15 s after the change');
  const next = pickNextEndpoint(p, endpoints);
  assert.equal(next, endpoints[1]);
  p = { endpoint: next!, lastUsedEndpoint: next!, lastEndpointChangeMs: clock.now(), lastHandshakeMs: undefined };
  await clock.advance(1_000);
  p = { ...p, lastHandshakeMs: clock.now() };
  assert.equal(peerState(p, clock.now()), 'up', 'handshake after the change');
  await clock.advance(PEER_DOWN_INTERVAL_MS - 1_000);
  assert.equal(peerState(p, clock.now()), 'up', 'a handshake 274 s ago still counts');
  await clock.advance(1_001);
  assert.equal(peerState(p, clock.now()), 'down', 'no handshake for more than 275 s');
  assert.equal(pickNextEndpoint(p, endpoints), endpoints[0], 'wraps around');
});

test('pickNextEndpoint: a lone endpoint in use is kept; a vanished one restarts at the first', () => {
  const p: PeerRotation = { endpoint: 'a:1', lastUsedEndpoint: 'a:1', lastEndpointChangeMs: 0, lastHandshakeMs: undefined };
  assert.equal(pickNextEndpoint(p, ['a:1']), undefined);
  assert.equal(pickNextEndpoint({ ...p, endpoint: '' }, ['a:1']), 'a:1', 'the link lost it: set it again');
  assert.equal(pickNextEndpoint({ ...p, lastUsedEndpoint: 'gone:1' }, ['a:1', 'b:1']), 'a:1');
});
