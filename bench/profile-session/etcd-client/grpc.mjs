import { createRequire } from 'node:module';
const require = createRequire('/work/main/package.json');
const { Etcd3 } = require('etcd3');
const c = new Etcd3({ hosts: process.argv[2] });
const all = await c.getAll().prefix('/calico/').strings();
const w = await c.watch().prefix('/calico/').create();
w.on('put', () => {});
setTimeout(() => { const s = require('fs').readFileSync('/proc/self/status','utf8'); console.log('grpc', Object.keys(all).length, s.match(/VmRSS:\s+(\d+)/)[1], 'anon', s.match(/RssAnon:\s+(\d+)/)[1], 'file', s.match(/RssFile:\s+(\d+)/)[1]); process.exit(0); }, 3000);
