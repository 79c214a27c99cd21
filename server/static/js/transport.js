// How the page follows changes: long-poll with `since`, fall back to 2-second polling when the
// server does not hold requests, back off and say "reconnecting" on network errors, pause
// while the tab is hidden, and never hold more than two long-polls open at once.

import { ERROR_CODES } from './error-codes.js';

export const LONG_POLL_SECONDS = 20; // under the server's 25 s cap and Heroku's 30 s router limit
export const POLL_INTERVAL_MS = 2000; // the seed's recommended interval
export const MAX_LONG_POLLS = 2; // browsers allow 6 connections per origin; leave room for actions
const MIN_GAP_MS = 200; // a job that changes constantly must not turn into a request storm
const MAX_BACKOFF_MS = 30000;
const QUICK_EMPTY_MS = 1000; // a long-poll that came back empty this fast was not held
const QUICK_EMPTY_LIMIT = 3;

let openLongPolls = 0;
const followers = new Set();
const connectionListeners = new Set();
const troubled = new Set();
const polling = new Set();

document.addEventListener('visibilitychange', () => {
  for (const follower of followers) {
    if (document.hidden) follower.pause();
    else follower.resume();
  }
});

/** Call `listener({reconnecting, polling})` whenever the connection state changes. */
export function onConnectionChange(listener) {
  connectionListeners.add(listener);
}

function reportConnection() {
  const state = { reconnecting: troubled.size > 0, polling: polling.size > 0 };
  for (const listener of connectionListeners) listener(state);
}

/** Long-polls open right now (for tests and the two-at-most rule). */
export function openLongPollCount() {
  return openLongPolls;
}

/**
 * Repeats `step` until stopped or `step` reports done.
 *
 * `step(waitSeconds, signal)` makes one request: with `waitSeconds` a number it asks the server
 * to hold the answer (long-poll); with null it asks for the current state (plain poll). It
 * returns {changed, done} or throws an ApiError. `onFatal(error)` gets a 403/404 (the thing
 * followed is gone or not ours); the follower then stops.
 */
export class Follower {
  constructor(name, step, { onFatal = () => {} } = {}) {
    this.name = name;
    this.step = step;
    this.onFatal = onFatal;
    this.mode = 'long';
    this.running = false;
    this.failures = 0;
    this.quickEmpty = 0;
    this.controller = null;
    this.wake = null;
  }

  start() {
    if (this.running) return;
    this.running = true;
    followers.add(this);
    this.loop();
  }

  stop() {
    this.running = false;
    followers.delete(this);
    this.controller?.abort();
    this.wake?.();
    troubled.delete(this.name);
    polling.delete(this.name);
    reportConnection();
  }

  /** Tab hidden: drop the open request; the loop waits for `resume`. */
  pause() {
    this.controller?.abort();
  }

  /** Tab visible again: cut any wait short and ask at once. */
  resume() {
    this.wake?.();
  }

  async loop() {
    while (this.running) {
      if (document.hidden) {
        await this.sleep(Infinity);
        continue;
      }
      await this.once();
    }
  }

  async once() {
    const longPoll = this.mode === 'long' && openLongPolls < MAX_LONG_POLLS;
    const started = performance.now();
    let outcome;
    try {
      outcome = await this.call(longPoll);
    } catch (error) {
      await this.handle(error);
      return;
    }
    this.recovered();
    if (outcome.done) {
      this.stop();
      return;
    }
    const elapsed = performance.now() - started;
    if (longPoll) this.noteLongPoll(outcome.changed, elapsed);
    const gap = longPoll ? MIN_GAP_MS - elapsed : POLL_INTERVAL_MS;
    if (gap > 0) await this.sleep(gap);
  }

  async call(longPoll) {
    this.controller = new AbortController();
    if (longPoll) openLongPolls += 1;
    try {
      return await this.step(longPoll ? LONG_POLL_SECONDS : null, this.controller.signal);
    } finally {
      if (longPoll) openLongPolls -= 1;
      this.controller = null;
    }
  }

  // A server (or proxy) that answers a long-poll at once with nothing new does not support it.
  noteLongPoll(changed, elapsed) {
    this.quickEmpty = !changed && elapsed < QUICK_EMPTY_MS ? this.quickEmpty + 1 : 0;
    if (this.quickEmpty >= QUICK_EMPTY_LIMIT) this.fallBackToPolling();
  }

  fallBackToPolling() {
    this.mode = 'poll';
    polling.add(this.name);
    reportConnection();
  }

  recovered() {
    this.failures = 0;
    if (troubled.delete(this.name)) reportConnection();
  }

  async handle(error) {
    if (error.aborted || !this.running) return; // stopped, or paused because the tab was hidden
    const unusableWait = error.code === ERROR_CODES.INVALID_WAIT || error.code === ERROR_CODES.INVALID_SINCE;
    if (error.status === 400 && unusableWait) {
      this.fallBackToPolling();
      return;
    }
    if (error.status === 401) {
      this.stop(); // the session is over; the sign-in view takes it from here
      return;
    }
    if (error.status === 403 || error.status === 404) {
      this.stop();
      this.onFatal(error);
      return;
    }
    this.failures += 1;
    troubled.add(this.name);
    reportConnection();
    await this.sleep(backoff(this.failures, error.retryAfter));
  }

  sleep(ms) {
    return new Promise((resolve) => {
      let timer = null;
      const done = () => {
        clearTimeout(timer);
        if (this.wake === done) this.wake = null;
        resolve();
      };
      this.wake = done;
      if (Number.isFinite(ms)) timer = setTimeout(done, ms);
    });
  }
}

/** Delay before retry `attempt` (1, 2, ...): exponential with jitter, or the server's Retry-After. */
export function backoff(attempt, retryAfterSeconds) {
  if (retryAfterSeconds) return Math.min(MAX_BACKOFF_MS, retryAfterSeconds * 1000);
  const ceiling = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** (attempt - 1));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}
