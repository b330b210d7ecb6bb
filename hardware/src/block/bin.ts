#!/usr/bin/env node
// egress-block: the block helper process (egress-block.service).
//   node hardware/dist/block/bin.js --socket /run/egress-block/block.sock [--nft PATH]

import { parseArgs } from 'node:util';
import { BlockHelper } from './helper.js';

const { values } = parseArgs({ options: { socket: { type: 'string' }, nft: { type: 'string' } } });
if (values.socket === undefined) {
  process.stderr.write('egress-block: EGRESS_USAGE: --socket PATH is required\n');
  process.exit(2);
}
const helper = new BlockHelper({
  socket: values.socket,
  nft: values.nft,
  log: (l) => process.stderr.write(`egress-block: ${l}\n`),
});
await helper.listen();
process.stderr.write(`egress-block: listening on ${values.socket}\n`);
for (const sig of ['SIGTERM', 'SIGINT'] as const)
  process.once(sig, () => {
    void helper.close().then(() => process.exit(0));
  });
