/** RFC 4271 §8 finite state machine: pure transitions + the injected clock. */
export * from './types.js';
export * from './transition.js';
export * from '../../clock.js';
export { FsmRunner } from './runner.js';
