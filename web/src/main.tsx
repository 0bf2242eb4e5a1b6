import LanguageDetector from 'i18next-browser-languagedetector';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { io } from 'socket.io-client';
import { LiveClient } from './client';
import { App } from './components/App';
import { readConfig } from './config';
import { createI18n, LocaleProvider, LocaleStore } from './i18n';
import './styles.css';

// The browser's languages pick the first language; a choice made in the header overrides it.
const detector = new LanguageDetector(null, { order: ['navigator'], caches: [] });
const locale = new LocaleStore(createI18n(undefined, detector), window.localStorage);
const showLocale = () => {
  const { language, dir, t } = locale.getSnapshot();
  document.documentElement.lang = language;
  document.documentElement.dir = dir;
  document.title = t('app.documentTitle');
};
showLocale();
locale.subscribe(showLocale);

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
    <LocaleProvider store={locale}>
      <App client={client} config={config} />
    </LocaleProvider>
  </StrictMode>,
);
