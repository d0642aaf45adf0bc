/** Entry point: connect to the back end (Electron bridge or serve mode) and mount the app. */
import './zod-jitless.js';
import { mount } from 'svelte';
import App from './App.svelte';
import { connect, MissingTokenError } from './api/connect.js';
import { AppState } from './state/app.svelte.js';

const target = document.getElementById('app');
if (!target) throw new Error('index.html has no #app element');

try {
  const { api, bridge, mode } = connect();
  mount(App, { target, props: { app: new AppState(api, bridge, mode) } });
} catch (error) {
  // No client, no app: say why in plain words (built without the framework, nothing else can run).
  const box = document.createElement('div');
  box.className = 'boot-error';
  const title = document.createElement('h1');
  title.textContent = 'Vetbench cannot reach its back end';
  const message = document.createElement('p');
  message.textContent =
    error instanceof MissingTokenError
      ? 'This page was opened without its access token. Open the exact URL that `vetbench serve` (or `npm start`) printed, including ?token=….'
      : String(error instanceof Error ? error.message : error);
  box.append(title, message);
  target.append(box);
}
