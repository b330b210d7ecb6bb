// Group commit of the store-and-forward spool (spool.ts): records are
// write()n at append, and fsynced together at most syncIntervalMs later
// (0: at every append and ack), with the delivery cursor. The background
// round runs its fdatasyncs on libuv's thread pool, one round at a time.
// Shape after the group commit of databases (PostgreSQL's commit_delay,
// SQLite's WAL checkpoints): many appends, one fsync.

import { fdatasync, fdatasyncSync } from 'node:fs';
import type { SpoolCounters } from './spool.js';
import { type CursorFile, syncSegment } from './spool-files.js';
import type { GroupState } from './spool-window.js';

export class GroupCommit {
  private timer: NodeJS.Timeout | null = null;
  /** A background group commit is running; another is due when it ends. */
  private syncing = false;
  private syncAgain = false;
  private stopped = false;

  constructor(
    private readonly groups: readonly GroupState[],
    private readonly cursor: CursorFile,
    private readonly intervalMs: number,
    private readonly counters: SpoolCounters,
    /** The next sequence number, persisted with the cursor. */
    private readonly nextSeq: () => number,
  ) {}

  /** Something was written or acked: commit it within intervalMs (at once when that is 0). */
  schedule(): void {
    if (this.intervalMs === 0) {
      this.syncNow();
      return;
    }
    if (this.timer !== null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.syncInBackground();
    }, this.intervalMs);
    this.timer.unref();
  }

  /**
   * Acks or drops moved the delivery cursor: write it now (it then survives a
   * crash of the agent, so a restarted agent re-sends only what was in flight,
   * not every record acked since the last group commit) and fsync it with the
   * next group commit. Between two fsyncs both slots may be rewritten, so a
   * power cut can leave neither intact: recovery then re-sends every record
   * still in the spool's files — more duplicates, never a loss.
   */
  cursorMoved(): void {
    if (!this.stopped && this.cursor.fd >= 0) this.writeCursor();
    else this.cursor.dirty = true;
    this.schedule();
  }

  /** fsync what was written since the last sync, and persist the delivery cursor. */
  syncNow(): void {
    this.cancelTimer();
    if (this.stopped) return;
    for (const g of this.groups) {
      for (const s of g.segments) syncSegment(s);
    }
    if (this.cursor.dirty) this.writeCursor();
    if (this.cursor.unsynced) {
      fdatasyncSync(this.cursor.fd);
      this.cursor.unsynced = false;
    }
  }

  /** No commit after this (the files are being closed); a round still running finds its fds closed. */
  stop(): void {
    this.cancelTimer();
    this.stopped = true;
  }

  private cancelTimer(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }

  /** Write the cursor into the older of its two slots (not yet synced). */
  private writeCursor(): void {
    this.cursor.writeSlot([this.groups[0].acked, this.groups[1].acked], this.nextSeq());
  }

  /**
   * Group commit off the event loop: the fdatasyncs run on libuv's thread
   * pool, so a slow disk (an SD card takes 10-100 ms) never holds up capture
   * and publishing. Records are already written (they survive a crash of the
   * agent); this makes them survive a power cut too. One round at a time.
   */
  private syncInBackground(): void {
    if (this.stopped) return;
    if (this.syncing) {
      this.syncAgain = true;
      return;
    }
    const fds: number[] = [];
    for (const g of this.groups) {
      for (const seg of g.segments) {
        if (seg.dirty && seg.fd >= 0) {
          fds.push(seg.fd);
          seg.dirty = false;
        }
      }
    }
    if (this.cursor.dirty) this.writeCursor();
    if (this.cursor.unsynced) {
      fds.push(this.cursor.fd);
      this.cursor.unsynced = false;
    }
    if (fds.length === 0) return;
    this.syncing = true;
    let left = fds.length;
    for (const fd of fds) {
      fdatasync(fd, (err) => {
        // EBADF: the segment was dropped or fully delivered and closed meanwhile; nothing to keep.
        if (err && err.code !== 'EBADF') this.counters.sync_errors++;
        if (--left > 0) return;
        this.syncing = false;
        if (this.syncAgain) {
          this.syncAgain = false;
          this.schedule();
        }
      });
    }
  }
}
