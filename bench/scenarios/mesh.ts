import type { Scenario } from '../lib/runner.js';
export const meshCalico: Scenario = { name: 'meshCalico', title: 'not yet', group: 'x', method: '', run: async () => { throw new Error('not implemented'); } };
export const meshStorm: Scenario = { name: 'meshStorm', title: 'not yet', group: 'x', method: '', run: async () => { throw new Error('not implemented'); } };
