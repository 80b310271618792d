import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Code, TalosError, hasCode } from './errors.ts';
import { createLogger, type LogRecord } from './log.ts';

test('TalosError.from keeps TalosErrors, maps aborts to Canceled and wraps the rest with a cause', () => {
  const own = new TalosError(Code.NotFound, 'x');
  assert.equal(TalosError.from(own), own);
  const abort = new DOMException('stop', 'AbortError');
  assert.equal(TalosError.from(abort).code, Code.Canceled);
  const plain = new Error('boom');
  const wrapped = TalosError.from(plain, Code.Internal);
  assert.equal(wrapped.code, Code.Internal);
  assert.equal(wrapped.cause, plain);
  assert.ok(hasCode(wrapped, Code.Internal));
  assert.ok(!hasCode(plain, Code.Internal));
});

test('logger: child fields are merged, levels below the minimum are dropped, errors render as messages', () => {
  const records: LogRecord[] = [];
  const log = createLogger({ level: 'info', sink: (r) => records.push(r) }).child({ controller: 'c1' });
  log.debug('hidden');
  log.warn('shown', { err: new Error('bad') });
  assert.equal(records.length, 1);
  assert.equal(records[0]?.['controller'], 'c1');
  assert.equal(records[0]?.['err'], 'bad');
  assert.equal(records[0]?.level, 'warn');
});
