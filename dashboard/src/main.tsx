import { render } from 'preact';

render(<p>Egress Sentinel</p>, document.getElementById('app') as HTMLElement);
