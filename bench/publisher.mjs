// Load generator: a field device acting as gateway --gateway (run as its own process), on
// MQTT.js from bench/node_modules.
//
// It announces itself like a gateway (retained `online` status and meta, QoS 1, acknowledged
// before anything else), waits --settle seconds, then publishes DeviceState messages
// round-robin over its devices at a fixed rate, each stamped with `ts` = the wall clock when
// it is handed to the client, so any receiver can compute the latency of what it gets.
//
//   node bench/publisher.mjs --url mqtt://user:pass@127.0.0.1:1883 --rate 20000 \
//     --duration 8 --devices 100 --out pub.json
//
// The schedule does not drift: every turn sends what is due since the start
// (floor(elapsed * rate) + 1 - sent), then yields to the event loop until the next message
// is due (at least one timer tick, ~1 ms), so that acknowledgements and socket writes go on
// and a turn's messages leave in one write. The output is JSON:
// {sent, elapsed, rate, last_seq, start, end, sent_log: [[seq, ts], ...]}; times are Unix
// seconds, elapsed is monotonic.

import { now, parseCli, sleep, writeJson } from './loadgen.mjs';

const PROG = 'publisher.mjs';
const USAGE = `usage: node bench/publisher.mjs --url URL --rate RATE --duration S --out FILE
  [--prefix factory] [--gateway bench] [--devices 10] [--qos {0,1}] [--settle 0.5]
  [--first-seq N] [--log-sent]`;

// The contract's patterns (factory_core/contract.py: PREFIX_PATTERN, ID_PATTERN) and the
// most devices a gateway's meta may list.
const PREFIX_RE = /^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/;
const ID_RE = /^[a-z0-9_-]{1,64}$/;
const MAX_DEVICES = 1024;
// MQTT packet ids are 16 bits and MQTT.js hands them out round-robin without checking which
// are still unacknowledged: never have more than this many QoS 1 messages in flight.
const MAX_INFLIGHT = 60000;
// Bytes the socket may hold unsent before the publisher waits (QoS 0 has no acks to wait for).
const MAX_BUFFERED = 16 * 1024 * 1024;
const ACK_TIMEOUT_MS = 10000; // for the meta and status
const DRAIN_MS = 5000; // for what is still unacknowledged at the end

/** The URL with its password masked, for messages. */
function shown(url) {
  return url.replace(/^([a-z]+:\/\/[^:@/]*:)[^@/]*@/i, '$1***@');
}

/** `mqtt://[user:pass@]host[:port]` (or `mqtts://`) like factory_core.settings.parse_mqtt_url. */
function brokerAddress(url, problems) {
  let parts;
  try {
    parts = new URL(url);
  } catch {
    problems.push(`--url: MQTT URL ${shown(url)} is not a URL`);
    return null;
  }
  const scheme = parts.protocol.slice(0, -1);
  if (scheme !== 'mqtt' && scheme !== 'mqtts') {
    problems.push(`--url: MQTT URL ${shown(url)} must start with mqtt:// or mqtts://`);
    return null;
  }
  const host = parts.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!host) problems.push(`--url: MQTT URL ${shown(url)} has no host`);
  if (parts.pathname !== '' && parts.pathname !== '/') {
    problems.push(`--url: MQTT URL ${shown(url)} must not have a path`);
  }
  let username;
  let password;
  try {
    username = parts.username ? decodeURIComponent(parts.username) : undefined;
    password = parts.password ? decodeURIComponent(parts.password) : undefined;
  } catch {
    problems.push(`--url: MQTT URL ${shown(url)} has badly percent-encoded credentials`);
  }
  const port = parts.port ? Number(parts.port) : scheme === 'mqtts' ? 8883 : 1883;
  const where = `${scheme}://${username ? `${username}@` : ''}${host}:${port}`;
  return { protocol: scheme, host, port, username, password, where };
}

function parse(argv) {
  const { values, cli } = parseCli(argv, USAGE, {
    url: 'string',
    prefix: 'string',
    gateway: 'string',
    devices: 'string',
    rate: 'string',
    duration: 'string',
    qos: 'string',
    settle: 'string',
    'first-seq': 'string',
    'log-sent': 'boolean',
    out: 'string',
  });
  const problems = cli.problems;
  cli.require('url', 'rate', 'duration', 'out');
  const args = {
    broker: values.url === undefined ? null : brokerAddress(values.url, problems),
    prefix: values.prefix ?? 'factory',
    gateway: values.gateway ?? 'bench',
    devices: cli.number('devices', true, '10'),
    rate: cli.number('rate', false),
    duration: cli.number('duration', false),
    qos: values.qos ?? '1',
    settle: cli.number('settle', false, '0.5'),
    firstSeq: cli.number('first-seq', true, String(Date.now())),
    logSent: values['log-sent'] ?? false,
    out: values.out,
  };
  if (args.qos !== '0' && args.qos !== '1') {
    problems.push(`argument --qos: invalid choice: '${args.qos}' (choose from 0, 1)`);
  }
  args.qos = Number(args.qos);
  if (!PREFIX_RE.test(args.prefix)) {
    problems.push(
      `--prefix ${JSON.stringify(args.prefix)} is invalid: use letters, digits, '_' or '-', ` +
        "optionally in levels separated by '/'",
    );
  }
  if (!ID_RE.test(args.gateway)) {
    problems.push(`--gateway ${JSON.stringify(args.gateway)} does not match ${ID_RE.source}`);
  }
  if (args.devices !== undefined && !(args.devices >= 1 && args.devices <= MAX_DEVICES)) {
    problems.push(`--devices must be >= 1 and <= ${MAX_DEVICES}, got ${args.devices}`);
  }
  if (args.rate !== undefined && !(args.rate > 0)) {
    problems.push(`--rate must be > 0, got ${args.rate}`);
  }
  if (args.duration !== undefined && !(args.duration > 0)) {
    problems.push(`--duration must be > 0, got ${args.duration}`);
  }
  if (args.settle !== undefined && args.settle < 0) {
    problems.push(`--settle must be >= 0, got ${args.settle}`);
  }
  if (args.firstSeq !== undefined && !(args.firstSeq >= 0 && Number.isSafeInteger(args.firstSeq))) {
    problems.push(`--first-seq must be an integer >= 0 and < 2**53, got ${args.firstSeq}`);
  }
  cli.done();
  return args;
}

async function loadMqtt() {
  try {
    return (await import('mqtt')).default;
  } catch (err) {
    const why = err.message.split('\n')[0];
    console.error(`bench/publisher.mjs needs MQTT.js: run \`npm ci\` in bench/ (${why})`);
    process.exit(2);
  }
}

/** A connected MQTT 5 client with TCP_NODELAY (Nagle would hold small publishes ~40 ms). */
function connect(mqtt, broker, clientId) {
  const { protocol, host, port, username, password } = broker;
  const client = mqtt.connect({
    protocol,
    host,
    port,
    username,
    password,
    clientId,
    protocolVersion: 5,
    clean: true,
    keepalive: 30,
    reconnectPeriod: 0, // a lost connection ends the run instead of silently losing messages
    connectTimeout: 10000,
    // Per publish, MQTT.js would otherwise move its keepalive timer and call its debug log
    // (a tenth of the publisher's CPU at 30,000 msg/s); DEBUG=mqttjs:* still logs.
    reschedulePings: false,
    ...(process.env.DEBUG ? {} : { log: () => {} }),
  });
  // net.Socket keeps the setting until it is connected; MQTT.js creates the stream at once.
  client.stream.setNoDelay(true);
  return new Promise((resolve, reject) => {
    const failed = (err) => {
      client.off('error', failed).off('close', closed);
      client.end(true);
      reject(new Error(`cannot connect to ${broker.where}: ${err.message}`));
    };
    const closed = () => failed(new Error('connection closed before CONNACK'));
    client.on('error', failed).on('close', closed);
    client.once('connect', () => {
      client.off('error', failed).off('close', closed);
      resolve(client);
    });
  });
}

/** Publish with QoS 1 and wait for the broker's acknowledgement. */
function publishAcked(client, topic, payload, retain) {
  return new Promise((resolve, reject) => {
    client.publish(topic, payload, { qos: 1, retain }, (err) => (err ? reject(err) : resolve()));
  });
}

async function announce(client, topicBase, devices) {
  const meta = {
    version: 'bench',
    name: 'Benchmark load generator',
    devices: devices.map((d) => ({ id: d, name: `Bench ${d}`, kind: 'bench', unit: 'u' })),
    relays: [],
  };
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(
      () => reject(new Error("the broker did not acknowledge the bench gateway's meta")),
      ACK_TIMEOUT_MS,
    );
  });
  try {
    await Promise.race([
      Promise.all([
        publishAcked(client, `${topicBase}/meta`, JSON.stringify(meta), true),
        publishAcked(client, `${topicBase}/status`, 'online', true),
      ]),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** A float as Python's json.dumps writes it: 1.0, never 1. */
const pyFloat = (x) => (Number.isInteger(x) ? `${x}.0` : `${x}`);

async function run(args, mqtt) {
  const topicBase = `${args.prefix}/${args.gateway}`;
  const devices = Array.from({ length: args.devices }, (_, i) => `d${i}`);
  const deviceTopics = devices.map((d) => `${topicBase}/devices/${d}/state`);
  const client = await connect(mqtt, args.broker, `bench-pub-${args.gateway}-${process.pid}`);
  let lost = null;
  client.on('error', (err) => {
    lost ??= err;
  });
  client.on('close', () => {
    lost ??= new Error('the broker closed the connection');
  });
  await announce(client, topicBase, devices);
  if (args.settle > 0) await sleep(args.settle * 1000);

  const { qos, rate } = args;
  const stream = client.stream;
  const options = { qos, retain: true };
  const count = deviceTopics.length;
  const sentLog = [];
  let inflight = 0;
  let refused = 0;
  let refusal = null;
  const acked = (err) => {
    inflight--;
    if (err) {
      refused++;
      refusal ??= err.message;
    }
  };
  let seq = args.firstSeq;
  let sent = 0;
  let device = 0;
  const durationMs = args.duration * 1000;
  const wallStart = now();
  const start = performance.now();
  let elapsedMs = 0;

  await new Promise((resolve) => {
    const turn = () => {
      elapsedMs = performance.now() - start;
      if (elapsedMs >= durationMs || lost) {
        resolve();
        return;
      }
      let due = Math.floor((elapsedMs * rate) / 1000) + 1 - sent;
      if (qos === 1) due = Math.min(due, MAX_INFLIGHT - inflight);
      if (stream.writableLength > MAX_BUFFERED) due = 0;
      for (; due > 0; due--) {
        const at = now();
        const ts = pyFloat(at);
        const payload = `{"value":${seq},"unit":"u","ts":${ts},"seq":${seq},"quality":"good"}`;
        if (qos === 1) {
          inflight++;
          client.publish(deviceTopics[device], payload, options, acked);
        } else {
          client.publish(deviceTopics[device], payload, options);
        }
        if (args.logSent) sentLog.push([seq, at]);
        seq++;
        sent++;
        device = device + 1 === count ? 0 : device + 1;
      }
      const wait = (sent * 1000) / rate - (performance.now() - start);
      setTimeout(turn, Math.max(1, wait));
    };
    turn();
  });
  const elapsed = elapsedMs / 1000;
  const wallEnd = now();
  if (lost) throw lost;

  // Wait (bounded) for what is still unacknowledged or unwritten, so that the last messages
  // do reach the broker.
  const drainEnd = performance.now() + DRAIN_MS;
  while ((inflight > 0 || stream.writableLength > 0) && !lost && performance.now() < drainEnd) {
    await sleep(5);
  }
  if (inflight > 0) {
    console.error(`${PROG}: ${inflight} QoS 1 messages still unacknowledged after ${DRAIN_MS} ms`);
  }
  await new Promise((resolve) => client.end(inflight > 0 || lost !== null, {}, resolve));
  if (refused > 0) throw new Error(`the broker refused ${refused} of ${sent} (${refusal})`);
  return {
    sent,
    elapsed,
    rate: elapsed > 0 ? sent / elapsed : 0,
    last_seq: seq - 1,
    start: wallStart,
    end: wallEnd,
    sent_log: sentLog,
  };
}

const args = parse(process.argv.slice(2));
const mqtt = await loadMqtt();
try {
  writeJson(args.out, await run(args, mqtt));
} catch (err) {
  console.error(`${PROG}: ${err.message}`);
  process.exit(1);
}
process.exit(0);
