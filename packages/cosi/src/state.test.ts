import { runStateConformance } from '@talos-ts/testkit';
import { InMemoryState } from './state.ts';

runStateConformance('InMemoryState', () => new InMemoryState());
