import type { Scenario } from '../lib/runner.js';
export const kernelIngest: Scenario = { name: 'kernelIngest', title: 'not yet', group: 'x', method: '', run: async () => { throw new Error('not implemented'); } };
