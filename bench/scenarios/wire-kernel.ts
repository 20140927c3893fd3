import type { Scenario } from '../lib/runner.js';
export const wireToKernel: Scenario = { name: 'wireToKernel', title: 'not yet', group: 'x', method: '', run: async () => { throw new Error('not implemented'); } };
