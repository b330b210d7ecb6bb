// Child processes that must not outlive the agent.

import type { ChildProcess } from 'node:child_process';

// tcpdump dies of SIGPIPE at its next write when the agent is gone, but on a
// quiet interface that may be never: kill every live child when the agent
// exits (normally or through an uncaught exception).
const liveChildren = new Set<ChildProcess>();
let exitHook = false;

export function trackChild(child: ChildProcess): void {
  liveChildren.add(child);
  if (!exitHook) {
    exitHook = true;
    process.on('exit', () => {
      for (const c of liveChildren) c.kill('SIGKILL');
    });
  }
}

export function untrackChild(child: ChildProcess): void {
  liveChildren.delete(child);
}
