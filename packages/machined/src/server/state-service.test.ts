import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { create } from '@bufbuild/protobuf';
import { Code, InMemoryState, ResourceDefinitionType, hasCode, metaNamespace } from '@talos-ts/cosi';
import { cosiStatePb, registerTalosResources, type CallContext } from '@talos-ts/machinery';
import { MAX_ID_QUERY_LENGTH, createStateService } from './state-service.ts';

function service() {
  const state = new InMemoryState();
  registerTalosResources(state);
  return createStateService({ state: () => state, principal: () => ({ kind: 'roles', roles: new Set(['os:admin'] as const) }) });
}

const ctx = (): CallContext => ({ signal: new AbortController().signal, metadata: {}, peer: 'unix', peerCertificate: undefined }) as unknown as CallContext;

async function listIds(pattern: string): Promise<string[]> {
  const req = create(cosiStatePb.ListRequestSchema, { namespace: metaNamespace, type: ResourceDefinitionType, options: { idQuery: { regexp: pattern } } });
  const ids: string[] = [];
  for await (const r of service().list!(req, ctx())) ids.push(r.resource?.metadata?.id ?? '');
  return ids;
}

// In a worker the test file only runs the one list call it is asked for and reports the count.
if (!isMainThread) {
  const ids = await listIds((workerData as { pattern: string }).pattern);
  parentPort?.postMessage(ids.length);
}

if (isMainThread) {
  test('State.List: a backtracking id_query over resource definitions finishes (RE2 semantics, linear time)', async () => {
    // With a backtracking engine this pattern runs for minutes per id and holds the event loop, so
    // the call runs in a worker that can be terminated: the bound only ends a hung run, it measures nothing.
    // Node 20 does not hand tsx's loader hooks to workers, so the worker loads this file through tsx's API.
    const boot = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => m.tsImport(${JSON.stringify(import.meta.url)}, ${JSON.stringify(import.meta.url)}))`;
    const worker = new Worker(boot, { eval: true, workerData: { pattern: '([A-Za-z.]+)+!$' } });
    const hardBoundMs = 60_000;
    let timer: NodeJS.Timeout | undefined;
    try {
      const outcome = await Promise.race([
        once(worker, 'message').then(([n]) => ({ count: n as number })),
        once(worker, 'error').then(([err]) => ({ error: err as Error })),
        new Promise<{ hung: true }>((resolve) => {
          timer = setTimeout(() => resolve({ hung: true }), hardBoundMs);
        }),
      ]);
      assert.ok(!('hung' in outcome), `list with id_query ([A-Za-z.]+)+!$ did not finish within ${hardBoundMs} ms`);
      assert.ok(!('error' in outcome), `worker failed: ${'error' in outcome ? outcome.error.message : ''}`);
      assert.equal(outcome.count, 0);
    } finally {
      clearTimeout(timer);
      await worker.terminate();
    }
  });

  test('State.List: id_query is an unanchored RE2 search over ids', async () => {
    assert.deepEqual(await listIds('^Services\\.'), ['Services.v1alpha1.talos.dev']);
    const config = await listIds('config\\.talos');
    assert.ok(config.length >= 2 && config.every((id) => id.includes('config.talos')), config.join(', '));
  });

  test('State.List: an invalid or overlong id_query is InvalidArgument', async () => {
    await assert.rejects(listIds('(unclosed'), (err) => hasCode(err, Code.InvalidArgument) && /invalid id query/.test((err as Error).message));
    // JS-only syntax (lookbehind) is not RE2 and is refused rather than misread.
    await assert.rejects(listIds('(?<=a)b'), (err) => hasCode(err, Code.InvalidArgument));
    await assert.rejects(listIds('a'.repeat(MAX_ID_QUERY_LENGTH + 1)), (err) => hasCode(err, Code.InvalidArgument) && /longer than 1024 characters/.test((err as Error).message));
  });
}
