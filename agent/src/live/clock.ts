// Is the system clock synchronised? Evidence timestamps are only worth what
// the clock is: systemd-timesyncd/chrony report it through timedated
// (`timedatectl show -p NTPSynchronized --value`: "yes" or "no"). Asked in
// the background once a minute; null when it cannot be told (no systemd).

import { execFile } from 'node:child_process';

export class ClockCheck {
  synchronised: boolean | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly command: string[] = ['timedatectl', 'show', '-p', 'NTPSynchronized', '--value']) {}

  start(intervalMs = 60_000): void {
    this.check();
    this.timer = setInterval(() => this.check(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private check(): void {
    execFile(this.command[0], this.command.slice(1), { timeout: 5000 }, (err, stdout) => {
      const answer = String(stdout).trim();
      this.synchronised = err ? null : answer === 'yes' ? true : answer === 'no' ? false : null;
    });
  }
}
