/**
 * Writes into the lab's etcd from inside its namespace (the bench process lives
 * outside it):
 *
 *   etcd-writer.js <url> load <file.json>         put every [key, value] (transactions of 100), print {"event":"loaded"}
 *   etcd-writer.js <url> paced <file.json> <rate> put one [key, value] every 1/rate s; for each print
 *                                                {"event":"put","i","t":<mono ms before the put>,"acked":<mono ms>}
 *
 * Times are CLOCK_MONOTONIC ms (process.hrtime), the same clock every bench process reads.
 */
import { readFileSync } from 'node:fs';
import { Etcd3 } from 'etcd3';

const [url, mode, file, rateText] = process.argv.slice(2);
const kvs = JSON.parse(readFileSync(file, 'utf8')) as [string, string][];
const client = new Etcd3({ hosts: url });
const mono = (): number => Number(process.hrtime.bigint()) / 1e6;

try {
  if (mode === 'load') {
    for (let i = 0; i < kvs.length; i += 100) {
      const ops = kvs.slice(i, i + 100).map(([k, v]) => client.put(k).value(v));
      await client.if(kvs[i][0], 'Version', '>', -1).then(...ops).else(...ops).commit();
    }
    console.log(JSON.stringify({ event: 'loaded', count: kvs.length }));
  } else if (mode === 'paced') {
    const gap = 1000 / Number(rateText);
    const start = mono();
    const pending: Promise<void>[] = [];
    for (let i = 0; i < kvs.length; i++) {
      const due = start + i * gap;
      const wait = due - mono();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const t = mono();
      pending.push(
        client
          .put(kvs[i][0])
          .value(kvs[i][1])
          .then(() => console.log(JSON.stringify({ event: 'put', i, t, acked: mono() }))),
      );
    }
    await Promise.all(pending);
    console.log(JSON.stringify({ event: 'done', count: kvs.length }));
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
} finally {
  client.close();
}
