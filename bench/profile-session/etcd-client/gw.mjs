import http from 'node:http';
import fs from 'node:fs';
const base = new URL(process.argv[2]);
const b64 = (s) => Buffer.from(s).toString('base64');
function post(path, body) {
  return new Promise((res, rej) => {
    const r = http.request({ host: base.hostname, port: base.port, path, method: 'POST', headers: { 'content-type': 'application/json' } }, (resp) => {
      let d = ''; resp.setEncoding('utf8'); resp.on('data', (c) => (d += c)); resp.on('end', () => res(JSON.parse(d)));
    });
    r.on('error', rej); r.end(JSON.stringify(body));
  });
}
const range = await post('/v3/kv/range', { key: b64('/calico/'), range_end: b64('/calico0') });
const kvs = range.kvs ?? [];
// watch: a streaming POST; etcd answers one JSON object per event batch
const wr = http.request({ host: base.hostname, port: base.port, path: '/v3/watch', method: 'POST' }, (resp) => resp.on('data', () => {}));
wr.write(JSON.stringify({ create_request: { key: b64('/calico/'), range_end: b64('/calico0'), start_revision: Number(range.header.revision) + 1 } }));
setTimeout(() => { const s = fs.readFileSync('/proc/self/status','utf8'); console.log('gw', kvs.length, s.match(/VmRSS:\s+(\d+)/)[1], 'anon', s.match(/RssAnon:\s+(\d+)/)[1], 'file', s.match(/RssFile:\s+(\d+)/)[1]); process.exit(0); }, 3000);
