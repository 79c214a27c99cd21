// The jobs panel: the user's recent jobs (admins: everyone's, with the owner), live from the
// list change feed. Rows are updated in place so keyboard focus is never lost to a redraw.

import { byId, el, userText } from './dom.js';
import { t } from './i18n.js';
import { statusClass, statusLabel } from './job-card.js';
import { allJobs, focusJob, onJobsChange, TERMINAL } from './jobs.js';
import { percent } from './widgets.js';

const MAX_ROWS = 50;
const rows = new Map();
let options = { admin: false, caseTitle: () => null, openJob: () => {} };
let scheduled = false;

/** Set up the panel; `openJob(job)` opens the job's case. */
export function initJobsPanel(opts) {
  options = { ...options, ...opts };
  onJobsChange(schedule);
}

/** Redraw from scratch (language switch, sign in/out, admin change). */
export function rerenderJobsPanel(opts = {}) {
  options = { ...options, ...opts };
  rows.clear();
  byId('jobs-list').replaceChildren();
  render();
}

// Many jobs can change in one feed answer: draw once per frame.
function schedule() {
  if (scheduled) return;
  scheduled = true;
  requestAnimationFrame(() => {
    scheduled = false;
    render();
  });
}

function render() {
  const list = byId('jobs-list');
  const jobs = allJobs().slice(0, MAX_ROWS);
  byId('jobs-empty').hidden = jobs.length > 0;
  const wanted = new Set(jobs.map((job) => job.job_id));
  for (const [id, row] of rows) {
    if (!wanted.has(id)) {
      row.root.remove();
      rows.delete(id);
    }
  }
  jobs.forEach((job, index) => {
    let row = rows.get(job.job_id);
    if (!row) {
      row = jobRow(job);
      rows.set(job.job_id, row);
    }
    row.update(job);
    if (list.children[index] !== row.root) list.insertBefore(row.root, list.children[index] ?? null);
  });
}

function jobRow(job) {
  const badge = el('span', { className: 'badge' });
  const name = el('span', { className: 'job-name' });
  const detail = el('span', { className: 'job-detail' });
  const button = el('button', { type: 'button', className: 'job-row', on: { click: () => open(job) } }, name, badge, detail);
  const root = el('li', {}, button);
  let current = job;
  const open = () => {
    options.openJob(current);
    if (!TERMINAL.has(current.status)) focusJob(current.job_id);
  };
  return {
    root,
    update(next) {
      current = next;
      root.dataset.jobId = next.job_id;
      root.dataset.status = next.status;
      name.textContent = t(`jobType.${next.job_type}`);
      badge.textContent = statusLabel(next);
      badge.className = `badge ${statusClass(next)}`;
      const parts = [];
      if (next.status === 'running') parts.push(`${percent(next.progress)}%`);
      const title = options.caseTitle(next.metadata?.case_id);
      detail.replaceChildren(parts.join(' '), parts.length && title ? ' · ' : '', title ? userText('span', title) : '',
        options.admin ? el('span', { className: 'owner' }, ` · ${t('cases.owner')} `, userText('span', next.metadata?.user_id ?? '')) : '');
    },
  };
}
