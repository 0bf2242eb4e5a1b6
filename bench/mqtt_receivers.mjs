// Load receiver for the "MQTT in the browser" alternative (issue 19, item 4): many MQTT.js
// clients in one Node.js process, each connected over WebSockets (ws://, subprotocol
// `mqtt`, as a browser's MQTT.js is) and subscribed to one gateway's device states, the way
// a dashboard written on that architecture reads the plant: straight from the broker.
//
// Like bench/receivers.mjs: each measuring client records, for every device state of
// --gateway, its latency (arrival - the `ts` the publisher stamped); retained messages (the
// value stored before it subscribed) are not timed. Marks --ready-file once every client
// has its SUBACK, writes --out on SIGTERM.
//
//   FACTORY_BENCH_MQTT_AUTH=user:password node bench/mqtt_receivers.mjs \
//     --url ws://127.0.0.1:9001 --clients 100 --out r.json
//
// Output: {clients, connect_errors, connect_failed, connect_s, disconnects, messages,
// samples: [[ts, latency s], ...]}; times are Unix seconds.

import { createRequire } from 'node:module';
import { markReady, now, parseCli, writeJson } from './loadgen.mjs';

const USAGE = `usage: node bench/mqtt_receivers.mjs --url ws://HOST:PORT --clients N --out FILE
  [--prefix factory] [--gateway bench] [--measure N] [--concurrency 25] [--qos 0]
  [--ready-file FILE]`;

const mqtt = createRequire(import.meta.url)('mqtt');

const { values, cli } = parseCli(process.argv.slice(2), USAGE, {
  url: 'string',
  clients: 'string',
  prefix: 'string',
  gateway: 'string',
  measure: 'string',
  concurrency: 'string',
  qos: 'string',
  'ready-file': 'string',
  out: 'string',
});
cli.require('url', 'clients', 'out');
const count = cli.number('clients', true);
const concurrency = cli.number('concurrency', true, '25');
const qos = cli.number('qos', true, '0');
const measure = values.measure === undefined ? count : cli.number('measure', true);
if (count !== undefined && count < 1) cli.problems.push(`--clients must be >= 1, got ${count}`);
if (qos !== 0 && qos !== 1) cli.problems.push(`--qos must be 0 or 1, got ${qos}`);
cli.done();
const filter = `${values.prefix ?? 'factory'}/${values.gateway ?? 'bench'}/devices/+/state`;
const [username, ...rest] = (process.env.FACTORY_BENCH_MQTT_AUTH ?? '').split(':');
const password = rest.join(':');

const samples = [];
const errors = [];
let messages = 0;
let disconnects = 0;

function connect(index) {
  const client = mqtt.connect(values.url, {
    protocolVersion: 4,
    clientId: `bench-ws-${process.pid}-${index}`,
    username: username || undefined,
    password: password || undefined,
    clean: true,
    keepalive: 60,
    reconnectPeriod: 0,
    connectTimeout: 30000,
    reschedulePings: false,
    log: () => {},
  });
  const timed = index < measure;
  client.on('message', (_topic, payload, packet) => {
    const at = now();
    messages++;
    if (!timed || packet.retain) return;
    const ts = Number(JSON.parse(payload).ts);
    samples.push([ts, at - ts]);
  });
  return new Promise((resolve, reject) => {
    client.once('error', reject);
    client.once('connect', () => {
      client.subscribe(filter, { qos }, (err) => {
        if (err) return reject(err);
        client.off('error', reject);
        client.on('close', () => disconnects++);
        resolve(client);
      });
    });
  });
}

const started = performance.now();
const clients = [];
let next = 0;
async function lane() {
  while (next < count) {
    const i = next++;
    try {
      clients.push(await connect(i));
    } catch (err) {
      errors.push(String(err.message ?? err));
    }
  }
}
await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
const connectS = (performance.now() - started) / 1000;
markReady(values['ready-file'] ?? null);

process.on('SIGTERM', () => {
  const lost = disconnects;
  for (const c of clients) c.end(true);
  writeJson(values.out, {
    clients: clients.length,
    connect_errors: errors.slice(0, 20),
    connect_failed: errors.length,
    connect_s: connectS,
    disconnects: lost,
    messages,
    samples,
  });
  process.exit(0);
});
