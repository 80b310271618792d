export { FakeClock } from './clock.ts';
export { startControllerSuite } from './suite.ts';
export type { ControllerSuite, ControllerSuiteOptions } from './suite.ts';
export { runStateConformance } from './state-conformance.ts';
export { assertResources, assertNoResource } from './assert.ts';
export type { ResourceExpectation, WaitOptions } from './assert.ts';
export { startNode, processesUsing, waitForPort, waitFor, tempDir } from './host/nodes.ts';
export type { NodeProcess, StartNodeOptions } from './host/nodes.ts';
