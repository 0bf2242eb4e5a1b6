import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { io } from 'socket.io-client';
import { LiveClient } from './client';
import { App } from './components/App';
import { readConfig } from './config';
import './styles.css';

const config = readConfig(window.location.search);
const client = new LiveClient(config, {
  io,
  fetch: window.fetch.bind(window),
  now: Date.now,
  baseUrl: document.baseURI,
});
client.start();

const root = document.getElementById('root');
if (root === null) throw new Error('index.html has no #root element');
createRoot(root).render(
  <StrictMode>
    <App client={client} config={config} />
  </StrictMode>,
);
