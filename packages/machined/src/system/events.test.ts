import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventRing, ServiceState, maxEventsToKeep } from './events.ts';

test('EventRing: keeps only the last 64 events, oldest first', () => {
  const ring = new EventRing();
  assert.equal(ring.capacity, maxEventsToKeep);
  assert.equal(maxEventsToKeep, 64);
  for (let i = 0; i < 100; i++) ring.push({ timestamp: i, state: ServiceState.Running, message: `event ${i}` });
  const events = ring.list();
  assert.equal(events.length, 64);
  assert.equal(events[0]?.message, 'event 36');
  assert.equal(events.at(-1)?.message, 'event 99');
  assert.equal(ring.dropped, 36);
});

test('EventRing: list(n) returns the most recent n, and fewer when fewer were pushed', () => {
  const ring = new EventRing(4);
  assert.deepEqual(ring.list(), []);
  ring.push({ timestamp: 1, state: ServiceState.Preparing, message: 'a' });
  ring.push({ timestamp: 2, state: ServiceState.Running, message: 'b' });
  assert.deepEqual(ring.list(10).map((e) => e.message), ['a', 'b']);
  assert.deepEqual(ring.list(1).map((e) => e.message), ['b']);
});
