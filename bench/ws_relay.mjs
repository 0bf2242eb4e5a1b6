// WebSocket-to-TCP relay in front of Mosquitto, for the "MQTT in the browser" alternative
// (issue 19, item 4): browsers speak MQTT over WebSockets to the broker. Debian's Mosquitto
// 2.0.11 is built without WebSocket support, so on this machine each WebSocket connection
// (subprotocol `mqtt`) is relayed byte for byte to the broker's TCP listener: one extra
// loopback hop, both legs with TCP_NODELAY, no parsing of MQTT. A broker with a WebSocket
// listener of its own (Mosquitto built with websockets, EMQX, HiveMQ) would not need it.
//
//   node bench/ws_relay.mjs --port 9001 --broker-port 1883 [--ready-file FILE]
//
// Runs until SIGTERM; writes --out ({connections, bytes_up, bytes_down}) then.

import { createRequire } from 'node:module';
import net from 'node:net';
import { markReady, parseCli, writeJson } from './loadgen.mjs';

const USAGE = `usage: node bench/ws_relay.mjs --port PORT --broker-port PORT --out FILE
  [--host 127.0.0.1] [--broker-host 127.0.0.1] [--ready-file FILE]`;

const { WebSocketServer } = createRequire(import.meta.url)('ws');

const { values, cli } = parseCli(process.argv.slice(2), USAGE, {
  port: 'string',
  host: 'string',
  'broker-port': 'string',
  'broker-host': 'string',
  'ready-file': 'string',
  out: 'string',
});
cli.require('port', 'broker-port', 'out');
const port = cli.number('port', true);
const brokerPort = cli.number('broker-port', true);
cli.done();
const host = values.host ?? '127.0.0.1';
const brokerHost = values['broker-host'] ?? '127.0.0.1';

const stats = { connections: 0, bytes_up: 0, bytes_down: 0 };
const server = new WebSocketServer({
  host,
  port,
  perMessageDeflate: false,
  handleProtocols: (protocols) => (protocols.has('mqtt') ? 'mqtt' : false),
});

server.on('connection', (ws, request) => {
  stats.connections++;
  request.socket.setNoDelay(true);
  const tcp = net.connect({ host: brokerHost, port: brokerPort, noDelay: true });
  const pending = [];
  tcp.on('connect', () => {
    for (const chunk of pending) tcp.write(chunk);
    pending.length = 0;
  });
  ws.on('message', (data) => {
    stats.bytes_up += data.length;
    if (tcp.connecting) pending.push(data);
    else tcp.write(data);
  });
  tcp.on('data', (data) => {
    stats.bytes_down += data.length;
    ws.send(data, { binary: true });
  });
  const close = () => {
    tcp.destroy();
    ws.terminate();
  };
  ws.on('close', close).on('error', close);
  tcp.on('close', close).on('error', close);
});

server.on('listening', () => markReady(values['ready-file'] ?? null));
server.on('error', (err) => {
  console.error(`ws_relay: ${err.message}`);
  process.exit(1);
});
process.on('SIGTERM', () => {
  writeJson(values.out, stats);
  process.exit(0);
});
