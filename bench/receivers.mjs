// Load receiver: many Socket.IO clients in one Node.js process (websocket transport only),
// on socket.io-client from web/node_modules, the library the dashboard itself uses.
//
// Each client records, for every `devices_update` value of gateway --gateway, its latency
// (arrival - the `ts` the publisher stamped), and, for `relays_update`, when it first saw
// each command id. With --commands the first client is also the operator: it waits for
// --go-file, then switches --relay back and forth through `set_relay` and times the
// acknowledgement and its own confirming `relays_update`.
//
// The process marks --ready-file once every client is connected and holds the full state,
// and writes --out when it gets SIGTERM (or after --duration).
//
//   node bench/receivers.mjs --url http://127.0.0.1:8000 --clients 100 --out r.json
//
// The bridge's API token comes from FACTORY_BENCH_TOKEN. The output is JSON:
// {clients, connect_errors, connect_failed, connect_s, disconnects, messages,
//  samples: [[ts, latency s], ...], relay_seen: {cmd: [clients, last arrival]},
//  commands: [{id, sent, acked, confirmed, ack}, ...]}; times are Unix seconds.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { markReady, now, parseCli, sleep, writeJson } from './loadgen.mjs';

const USAGE = `usage: node bench/receivers.mjs --url URL --clients N --out FILE
  [--concurrency 25] [--gateway bench] [--measure N] [--relay GATEWAY/RELAY]
  [--commands 0] [--command-gap 0.1] [--go-file FILE] [--done-file FILE]
  [--duration 600] [--ready-file FILE]`;

function loadClient() {
  const web = new URL('../web/package.json', import.meta.url);
  try {
    return createRequire(web)('socket.io-client');
  } catch (err) {
    const why = err.message.split('\n')[0];
    console.error(`bench/receivers.mjs needs socket.io-client: run \`npm ci\` in web/ (${why})`);
    process.exit(2);
  }
}

const { io } = loadClient();

const isObject = (v) => v !== null && typeof v === 'object';

function parse(argv) {
  const { values, cli } = parseCli(argv, USAGE, {
    url: 'string',
    clients: 'string',
    concurrency: 'string',
    gateway: 'string',
    measure: 'string',
    relay: 'string',
    commands: 'string',
    'command-gap': 'string',
    'go-file': 'string',
    'done-file': 'string',
    duration: 'string',
    'ready-file': 'string',
    out: 'string',
  });
  cli.require('url', 'clients', 'out');
  const args = {
    url: values.url,
    clients: cli.number('clients', true),
    concurrency: cli.number('concurrency', true, '25'),
    gateway: values.gateway ?? 'bench',
    measure: values.measure === undefined ? null : cli.number('measure', true),
    relay: values.relay ?? null,
    commands: cli.number('commands', true, '0'),
    commandGap: cli.number('command-gap', false, '0.1'),
    goFile: values['go-file'] ?? null,
    doneFile: values['done-file'] ?? null,
    duration: cli.number('duration', false, '600'),
    readyFile: values['ready-file'] ?? null,
    out: values.out,
  };
  if (args.clients < 1) cli.problems.push(`--clients must be >= 1, got ${args.clients}`);
  if (args.concurrency < 1) {
    cli.problems.push(`--concurrency must be >= 1, got ${args.concurrency}`);
  }
  if (args.commands && !(args.relay?.includes('/') && args.goFile)) {
    cli.problems.push(`--commands needs --relay gateway/relay and --go-file, got ${args.relay}`);
  }
  cli.done();
  return args;
}

/** What all clients of this process saw. */
class Recorder {
  constructor(gateway, relayKey) {
    this.prefix = `${gateway}/`;
    this.relayKey = relayKey;
    // (send ts, latency) of every value a measuring client received, flat: ts0, lat0, ts1, ...
    this.samples = [];
    this.messages = 0;
    // command id -> [clients that saw it confirmed, last arrival]
    this.relaySeen = new Map();
    this.disconnects = 0;
  }

  samplePairs() {
    const pairs = new Array(this.samples.length / 2);
    for (let i = 0; i < pairs.length; i++) {
      pairs[i] = [this.samples[2 * i], this.samples[2 * i + 1]];
    }
    return pairs;
  }
}

/** One client; `ready` settles once it is connected and holds the state. */
function makeClient(url, auth, rec, measure) {
  const socket = io(url, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true, // one connection per client, not one Manager shared by all
    timeout: 30000,
    // Offers permessage-deflate like a browser does (the default); the bridge declines it.
    ...(auth ? { auth } : {}),
  });
  const client = {
    socket,
    relayOn: null,
    confirmed: new Map(), // command id -> arrival of its relays_update at this client
    wake: null, // the operator's pending wait for a relays_update
    ready: null,
  };
  const { prefix, relayKey } = rec;

  // Like the Python client's connect(wait_timeout=30), then up to 30 s more for the state.
  client.ready = new Promise((resolve, reject) => {
    let settled = false;
    let timer = setTimeout(() => fail('TimeoutError: not connected within 30 s'), 30000);
    function fail(message) {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(new Error(message));
    }
    socket.once('connect_error', (err) => {
      const cause = err.description?.message ?? err.data?.message;
      fail(`ConnectionError: ${err.message}${cause ? ` (${cause})` : ''}`);
    });
    socket.once('connect', () => {
      clearTimeout(timer);
      if (!settled) timer = setTimeout(() => fail('TimeoutError: no state within 30 s'), 30000);
    });
    socket.once('disconnect', (reason) => fail(`ConnectionError: disconnected: ${reason}`));
    socket.on('state', (data) => {
      if (relayKey !== null && isObject(data)) {
        const item = data.relays?.[relayKey];
        if (item != null) client.relayOn = Boolean(item.on);
      }
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve();
    });
  });

  if (measure) {
    socket.on('devices_update', (data) => {
      const at = now();
      rec.messages++;
      const devices = data?.devices;
      if (!isObject(devices)) return;
      for (const key in devices) {
        if (key.startsWith(prefix)) {
          const ts = Number(devices[key].ts);
          rec.samples.push(ts, at - ts);
        }
      }
    });
  } else {
    socket.on('devices_update', () => {
      rec.messages++;
    });
  }

  if (relayKey !== null) {
    socket.on('relays_update', (data) => {
      const at = now();
      if (!isObject(data)) return;
      const item = data.relays?.[relayKey];
      if (!item?.cmd) return;
      const cmd = String(item.cmd);
      if (!client.confirmed.has(cmd)) {
        client.confirmed.set(cmd, at);
        const seen = rec.relaySeen.get(cmd);
        if (seen === undefined) rec.relaySeen.set(cmd, [1, at]);
        else {
          seen[0]++;
          seen[1] = Math.max(seen[1], at);
        }
      }
      client.relayOn = Boolean(item.on);
      client.wake?.();
    });
  }

  socket.on('disconnect', () => {
    rec.disconnects++;
  });
  return client;
}

/** Connect `count` clients, `concurrency` at a time; (clients in index order, errors). */
async function connectAll(args, rec) {
  const token = process.env.FACTORY_BENCH_TOKEN || null;
  const auth = token ? { token } : null;
  const measured = args.measure ?? args.clients;
  const made = new Array(args.clients).fill(null);
  const errors = [];
  let next = 0;

  async function lane() {
    while (next < args.clients) {
      const i = next++;
      const client = makeClient(args.url, auth, rec, i < measured);
      try {
        await client.ready;
        made[i] = client;
      } catch (err) {
        errors.push(err.message);
        client.socket.off('disconnect');
        client.socket.disconnect();
      }
    }
  }

  await Promise.all(Array.from({ length: Math.min(args.concurrency, args.clients) }, lane));
  return { clients: made.filter((c) => c !== null), errors };
}

/** Wait up to `ms` for the next relays_update at `client`. */
function changed(client, ms) {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      client.wake = null;
      resolve();
    }
    client.wake = done;
  });
}

/** Switch the relay --commands times, timing the ack and the confirming push. */
async function operate(operator, args, results, stopped) {
  const slash = args.relay.indexOf('/');
  const gateway = args.relay.slice(0, slash);
  const relay = args.relay.slice(slash + 1);
  while (!existsSync(args.goFile)) {
    if (stopped()) return;
    await sleep(10);
  }
  let on = !operator.relayOn;
  for (let n = 0; n < args.commands && !stopped(); n++) {
    const sent = now();
    let ack;
    try {
      const command = { gateway, relay, on };
      ack = (await operator.socket.timeout(15000).emitWithAck('set_relay', command)) ?? null;
    } catch {
      ack = null; // no acknowledgement within 15 s: counted as a failed command
    }
    const acked = now();
    const cmd = isObject(ack) ? (ack.id ?? null) : null;
    const key = cmd === null ? null : String(cmd);
    const deadline = performance.now() + 10000;
    while (cmd && !operator.confirmed.has(key) && performance.now() < deadline && !stopped()) {
      await changed(operator, Math.min(500, deadline - performance.now()));
    }
    const confirmed = operator.confirmed.get(key) ?? null;
    if (stopped()) return; // like a cancelled task: the command in flight is not recorded
    results.push({ id: cmd, sent, acked, confirmed, ack });
    on = !on;
    await sleep(args.commandGap * 1000);
  }
  if (!stopped()) markReady(args.doneFile);
}

async function run(args) {
  const rec = new Recorder(args.gateway, args.relay);
  let stop;
  const stopping = new Promise((resolve) => {
    stop = resolve;
  });
  let isStopped = false;
  process.on('SIGTERM', () => stop());
  const started = performance.now();
  const { clients, errors } = await connectAll(args, rec);
  const connectS = (performance.now() - started) / 1000;
  markReady(args.readyFile);
  const commands = [];
  if (args.commands && clients.length) {
    operate(clients[0], args, commands, () => isStopped).catch((err) => {
      console.error('operator failed:', err);
    });
  }
  // setTimeout takes at most 2^31 - 1 ms.
  const timer = setTimeout(() => stop(), Math.min(args.duration * 1000, 2 ** 31 - 1));
  await stopping;
  isStopped = true;
  clearTimeout(timer);
  const disconnects = rec.disconnects;
  for (const c of clients) c.socket.disconnect();
  return {
    clients: clients.length,
    connect_errors: errors.slice(0, 20),
    connect_failed: errors.length,
    connect_s: connectS,
    disconnects,
    messages: rec.messages,
    samples: rec.samplePairs(),
    relay_seen: Object.fromEntries(rec.relaySeen),
    commands,
  };
}

const args = parse(process.argv.slice(2));
writeJson(args.out, await run(args));
process.exit(0);
