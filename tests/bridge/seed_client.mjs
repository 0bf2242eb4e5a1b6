// A client written the way the seed's users wrote theirs: socket.io-client, websocket then
// polling (the seed's defaults); after `connect` it emits `request_devices`, `request_relays`
// and `request_system_stats` (no acknowledgement callbacks) and listens only for
// `devices_update`, `relays_update` and `system_stats_update`. It knows nothing of `state`,
// versions or acknowledgements. The only addition is the API token the bridge now requires.
//
// It connects --connects times in a row, one connection at a time, each until it has seen all
// three events or --timeout seconds have passed, and prints one JSON line per connection:
//   {"connect": 0, "error": null, "events": {"devices_update": 0.004, ...}}
// with each event's first arrival in seconds after `connect` ("error": "timeout" when one
// never came, or the connection's error).
//
//   FACTORY_TOKEN=<API token> node tests/bridge/seed_client.mjs --url http://127.0.0.1:8000

import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';

const EVENTS = ['devices_update', 'relays_update', 'system_stats_update'];
const REQUESTS = ['request_devices', 'request_relays', 'request_system_stats'];

function loadClient() {
  const web = new URL('../../web/package.json', import.meta.url);
  try {
    return createRequire(web)('socket.io-client');
  } catch (err) {
    const why = err.message.split('\n')[0];
    console.error(`seed_client.mjs needs socket.io-client: run \`npm ci\` in web/ (${why})`);
    process.exit(2);
  }
}

function parse() {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      connects: { type: 'string', default: '50' },
      timeout: { type: 'string', default: '5' },
    },
  });
  const connects = Number(values.connects);
  const timeout = Number(values.timeout);
  const problems = [];
  if (!values.url) problems.push('--url is required');
  if (!Number.isInteger(connects) || connects < 1) {
    problems.push(`--connects must be a whole number >= 1, got ${values.connects}`);
  }
  if (!(timeout > 0)) problems.push(`--timeout must be > 0 seconds, got ${values.timeout}`);
  if (!process.env.FACTORY_TOKEN) problems.push('FACTORY_TOKEN (an API token) is not set');
  if (problems.length) {
    console.error(`seed_client.mjs: ${problems.join('; ')}`);
    process.exit(2);
  }
  return { url: values.url, connects, timeout };
}

const { io } = loadClient();

function connectOnce(index, { url, timeout }) {
  return new Promise((resolve) => {
    const events = {};
    let connectedAt = null;
    const socket = io(url, {
      transports: ['websocket', 'polling'],
      reconnection: false,
      forceNew: true,
      auth: { token: process.env.FACTORY_TOKEN },
    });
    const finish = (error) => {
      clearTimeout(timer);
      socket.close();
      resolve({ connect: index, error, events });
    };
    const timer = setTimeout(() => finish('timeout'), timeout * 1000);
    socket.on('connect_error', (err) => finish(`connect_error: ${err.message}`));
    socket.on('connect', () => {
      connectedAt = performance.now();
      for (const request of REQUESTS) socket.emit(request);
    });
    for (const event of EVENTS) {
      socket.on(event, () => {
        if (connectedAt === null || event in events) return;
        events[event] = (performance.now() - connectedAt) / 1000;
        if (EVENTS.every((e) => e in events)) finish(null);
      });
    }
  });
}

const args = parse();
for (let i = 0; i < args.connects; i++) {
  console.log(JSON.stringify(await connectOnce(i, args)));
}
