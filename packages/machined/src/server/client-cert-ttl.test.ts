import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Code, TalosError } from '@talos-ts/cosi';
import { clientCertTtlMs } from './machine-service.ts';

const now = Date.UTC(2026, 11, 2);
const invalid = (err: unknown): boolean => err instanceof TalosError && err.code === Code.InvalidArgument;

test('GenerateClientConfiguration: crt_ttl unset is a year; a positive one is used as given', () => {
  assert.equal(clientCertTtlMs(undefined, now), 365 * 24 * 3600 * 1000);
  assert.equal(clientCertTtlMs({ seconds: 3600n, nanos: 0 } as never, now), 3600_000);
});

test('GenerateClientConfiguration: a zero, negative or past-9999 crt_ttl is InvalidArgument (was Unknown from the certificate encoder)', () => {
  assert.throws(() => clientCertTtlMs({ seconds: 0n, nanos: 0 } as never, now), invalid);
  assert.throws(() => clientCertTtlMs({ seconds: -5n, nanos: 0 } as never, now), invalid);
  assert.throws(() => clientCertTtlMs({ seconds: 400_000_000_000n, nanos: 0 } as never, now), invalid);
});
