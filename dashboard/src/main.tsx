// Entry point: render the page, then connect to the agent's broker.

import { render } from 'preact';
import { App } from './app.js';
import { connect } from './live.js';
import './style.css';

render(<App />, document.getElementById('app') as HTMLElement);
connect().catch(() => undefined);
