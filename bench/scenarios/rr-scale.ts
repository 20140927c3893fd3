import type { Scenario } from '../lib/runner.js';
export const rrScale: Scenario = { name: 'rrScale', title: 'not yet', group: 'x', method: '', run: async () => { throw new Error('not implemented'); } };
