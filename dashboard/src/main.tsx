// Entry point: render the page, then connect to the agent's broker.

import { render } from 'preact';
import { App } from './app.js';
import { connect } from './live.js';
import './style.css';

const root = document.getElementById('app') as HTMLElement;
root.textContent = ''; // the "loading" line of index.html
render(<App />, root);
connect().catch(() => undefined);
