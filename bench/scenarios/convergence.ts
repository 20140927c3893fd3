import type { Scenario } from '../lib/runner.js';
export const convergence: Scenario = { name: 'convergence', title: 'not yet', group: 'x', method: '', run: async () => { throw new Error('not implemented'); } };
