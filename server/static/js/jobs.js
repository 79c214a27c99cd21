// The jobs the page knows about, kept fresh by two followers: the list change feed (all of the
// user's jobs, admins: everyone's) and one long-poll on the focused job. Both write here; the
// newer version of a job always wins, so the two never fight.

import { request } from './api.js';
import { Follower } from './transport.js';

export const TERMINAL = new Set(['completed', 'failed']);
const FEED_PAGE = 50;
const jobs = new Map();
const listeners = new Set();
let feed = null;
let focused = null;

/** Call `listener(changedJobs)` after jobs change. */
export function onJobsChange(listener) {
  listeners.add(listener);
}

/** Store `job` unless an equal or newer version is already known; returns true when stored. */
export function upsertJob(job) {
  const known = jobs.get(job.job_id);
  if (known && known.version >= job.version) return false;
  jobs.set(job.job_id, job);
  for (const listener of listeners) listener([job]);
  return true;
}

/** A known job by id. */
export function getJob(jobId) {
  return jobs.get(jobId) ?? null;
}

/** Every known job, newest first. */
export function allJobs() {
  return [...jobs.values()].sort((a, b) => (a.created_at < b.created_at ? 1 : -1));
}

/** The newest known job of `jobType` on case `caseId`, or null. */
export function latestJob(caseId, jobType) {
  return allJobs().find((job) => job.metadata?.case_id === caseId && job.job_type === jobType) ?? null;
}

/** Load the recent jobs of one case (the feed only lists the newest few overall). */
export async function loadCaseJobs(caseId) {
  const { body } = await request(`/jobs?${new URLSearchParams({ case_id: caseId, limit: '20' })}`);
  for (const job of body.jobs) upsertJob(job);
}

/** Start following the change feed of the user's jobs. */
export function startFeed() {
  if (feed) return;
  let cursor = null;
  feed = new Follower('jobs', async (wait, signal) => {
    if (cursor === null) {
      const { body } = await request(`/jobs?limit=${FEED_PAGE}`, { signal });
      body.jobs.forEach(upsertJob);
      cursor = body.cursor;
      return { changed: true };
    }
    const query = new URLSearchParams({ since: cursor });
    if (wait) query.set('wait', String(wait));
    try {
      const { body } = await request(`/jobs?${query}`, { signal });
      body.jobs.forEach(upsertJob);
      cursor = body.cursor;
      return { changed: body.jobs.length > 0 };
    } catch (error) {
      if (error.status !== 410) throw error;
      cursor = null; // cursor_expired: too far behind, list again
      return { changed: true };
    }
  });
  feed.start();
}

/**
 * Follow one job closely (the one the user just started or opened) until it finishes.
 * Only one job is focused at a time, so with the feed at most two long-polls are open.
 */
export function focusJob(jobId) {
  if (focused?.jobId === jobId && focused.follower.running) return;
  focused?.follower.stop();
  const follower = new Follower(`job ${jobId}`, async (wait, signal) => {
    const known = getJob(jobId);
    const query = new URLSearchParams();
    if (known) query.set('since', String(known.version));
    if (wait) query.set('wait', String(wait));
    const { body } = await request(`/jobs/${encodeURIComponent(jobId)}?${query}`, { signal });
    upsertJob(body);
    return { changed: !known || body.version !== known.version, done: TERMINAL.has(body.status) };
  });
  focused = { jobId, follower };
  follower.start();
}

/** Stop following everything and forget every job (sign out). */
export function stopAll() {
  feed?.stop();
  focused?.follower.stop();
  feed = null;
  focused = null;
  jobs.clear();
  for (const listener of listeners) listener([]);
}

/** Cancel a pending or running job; the followers bring the new state. */
export async function cancelJob(jobId) {
  const { body } = await request(`/jobs/${encodeURIComponent(jobId)}/cancel`, { method: 'POST' });
  upsertJob(body);
}
