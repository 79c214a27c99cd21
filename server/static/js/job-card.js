// One job as a person follows it: status, progress bar with the step (translated from its code), elapsed
// time, queue position, cancel while it runs, the error and a retry when it fails, and the
// rendered result when it completes.

import { el } from './dom.js';
import { ERROR_CODES } from './error-codes.js';
import { formatDuration, t } from './i18n.js';
import { renderResult } from './results.js';
import { apiErrorText, jobErrorText, progressText } from './states.js';
import { progressBar } from './widgets.js';

const cards = new Set();
let ticker = null;

/** The status word of a job, telling a cancelled or timed-out job from other failures. */
export function statusLabel(job) {
  if (job.status === 'failed' && job.error_code === ERROR_CODES.CANCELLED) return t('status.cancelled');
  if (job.status === 'failed' && job.error_code === ERROR_CODES.TIMEOUT) return t('status.timeout');
  return t(`status.${job.status}`);
}

/** CSS class of a status badge. */
export function statusClass(job) {
  return { completed: 'good', failed: 'poor', running: 'info', pending: 'fair' }[job.status] ?? 'fair';
}

/** Seconds the job has been waiting or running (or took, once finished). */
export function elapsedSeconds(job, now = Date.now()) {
  const start = Date.parse(job.started_at || job.created_at);
  const end = job.completed_at ? Date.parse(job.completed_at) : now;
  return Number.isFinite(start) && Number.isFinite(end) ? Math.max(0, (end - start) / 1000) : 0;
}

/**
 * A card for a job. `actions.cancel(job)` and `actions.retry(job)` return promises; their
 * failures are shown on the card.
 * @returns {{root: HTMLElement, update(job): void, destroy(): void}}
 */
export function jobCard(title, job, actions) {
  const badge = el('span', { className: 'badge', attrs: { role: 'status' } }); // announced on change
  const elapsed = el('span', { className: 'elapsed' });
  const queue = el('span', { className: 'queue' });
  const bar = progressBar(t('job.progressOf', { name: title }));
  const percentText = el('span', { className: 'percent' });
  const message = el('span', { className: 'progress-message' });
  const status = el('p', { className: 'status-line' }, badge, ' ', elapsed, ' ', queue);
  const error = el('p', { className: 'error', attrs: { role: 'alert' }, dir: 'auto', hidden: true });
  const actionError = el('p', { className: 'error', attrs: { role: 'alert' }, hidden: true });
  const cancel = el('button', { type: 'button', className: 'secondary', text: t('job.cancel') });
  const retry = el('button', { type: 'button', text: t('job.retry') });
  const result = el('div', { className: 'result-slot' });
  const progressLine = el('p', { className: 'progress-line' }, percentText, ' ', message);
  const root = el('article', { className: 'job-card', attrs: { 'aria-label': title } },
    status, bar.root, progressLine,
    error, actionError, el('div', { className: 'button-row' }, cancel, retry), result);
  let current = job;
  let renderedResultOf = null;

  const run = (action, button) => async () => {
    button.disabled = true;
    actionError.hidden = true;
    try {
      await action(current);
    } catch (failure) {
      actionError.textContent = apiErrorText(failure);
      actionError.hidden = false;
    } finally {
      button.disabled = false;
    }
  };
  cancel.addEventListener('click', run(actions.cancel, cancel));
  retry.addEventListener('click', run(actions.retry, retry));

  const card = {
    root,
    update(next) {
      current = next;
      root.dataset.status = next.status;
      root.dataset.jobId = next.job_id;
      badge.textContent = statusLabel(next);
      badge.className = `badge ${statusClass(next)}`;
      const shown = next.status === 'completed' ? 100 : next.progress;
      const step = progressText(next);
      bar.set(shown, step);
      percentText.textContent = `${Math.round(shown ?? 0)}%`;
      message.textContent = step;
      queue.textContent = next.status === 'pending' && next.queue_position
        ? t('job.queuePosition', { position: next.queue_position }) : '';
      cancel.hidden = next.status !== 'pending' && next.status !== 'running';
      retry.hidden = next.status !== 'failed';
      error.hidden = next.status !== 'failed';
      progressLine.hidden = next.status === 'failed'; // the last step's message would read as current
      error.textContent = next.status === 'failed' ? jobErrorText(next) : '';
      this.tick();
      if (next.status === 'completed' && renderedResultOf !== next.job_id) {
        renderedResultOf = next.job_id;
        result.replaceChildren(renderResult(next.job_type, next.result));
      } else if (next.status !== 'completed') {
        renderedResultOf = null;
        result.replaceChildren();
      }
      if (next.status === 'completed' || next.status === 'failed') cards.delete(card);
      else watchTime(card);
    },
    tick() {
      elapsed.textContent = t('job.elapsed', { time: formatDuration(elapsedSeconds(current)) });
    },
    destroy() {
      cards.delete(card);
    },
  };
  card.update(job);
  return card;
}

// One timer for every card that is still running, stopped when none is.
function watchTime(card) {
  cards.add(card);
  if (ticker) return;
  ticker = setInterval(() => {
    for (const each of cards) each.tick();
    if (!cards.size) {
      clearInterval(ticker);
      ticker = null;
    }
  }, 1000);
}
