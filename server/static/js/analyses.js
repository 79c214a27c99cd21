// The three analyses of a case: a start button each, the card of its latest job, and, when no
// job is known (jobs expire after a day), the analysis saved on the case.

import { request } from './api.js';
import { el } from './dom.js';
import { t } from './i18n.js';
import { jobCard } from './job-card.js';
import { cancelJob, focusJob, getJob, latestJob, upsertJob } from './jobs.js';
import { renderResult } from './results.js';
import { apiErrorText } from './states.js';

export const ANALYSES = [
  { jobType: 'call_analysis', label: 'analysis.call', hint: 'analysis.callHint',
    path: (id) => `/vapi/re-analyze-call/${id}`, caseField: 'call_summary' },
  { jobType: 'document_analysis_agent', label: 'analysis.agent', hint: 'analysis.agentHint',
    path: (id) => `/cases/${id}/analyze-with-agent`, caseField: 'agent_analysis' },
  { jobType: 'document_analysis_form7801', label: 'analysis.form7801', hint: 'analysis.form7801Hint',
    path: (id) => `/cases/${id}/analyze-documents-form7801`, caseField: 'final_document_analysis' },
];

/** Ask the server to start `analysis` on case `caseId`; returns the job id (maybe a deduplicated one). */
export async function startAnalysis(analysis, caseId) {
  const { body } = await request(analysis.path(encodeURIComponent(caseId)), { method: 'POST' });
  focusJob(body.job_id);
  if (!getJob(body.job_id)) {
    const { body: job } = await request(`/jobs/${encodeURIComponent(body.job_id)}`);
    upsertJob(job);
  }
  return body.job_id;
}

/**
 * The panel of one analysis on an open case.
 * @returns {{root: HTMLElement, refresh(): void, destroy(): void}}
 */
export function analysisPanel(analysis, caseRecord) {
  const title = t(analysis.label);
  const headingId = `analysis-${analysis.jobType}`;
  // Visible "Start", spoken "Start Call analysis": three identical names would be ambiguous.
  const start = el('button', { type: 'button', className: 'primary', text: t('analysis.start'),
    attrs: { 'aria-label': t('analysis.startLabel', { name: title }) } });
  const problem = el('p', { className: 'error', attrs: { role: 'alert' }, dir: 'auto', hidden: true });
  const body = el('div', { className: 'analysis-body' });
  const root = el('section', { className: 'analysis', attrs: { 'aria-labelledby': headingId } },
    el('div', { className: 'analysis-head' },
      el('div', {}, el('h3', { id: headingId, text: title }), el('p', { className: 'hint', text: t(analysis.hint) })),
      start),
    problem, body);
  let card = null;

  const launch = async () => {
    start.disabled = true;
    problem.hidden = true;
    try {
      await startAnalysis(analysis, caseRecord.case_id);
    } catch (failure) {
      problem.textContent = apiErrorText(failure);
      problem.hidden = false;
    } finally {
      start.disabled = false;
    }
  };
  start.addEventListener('click', launch);
  const actions = { cancel: (job) => cancelJob(job.job_id), retry: launch };

  const panel = {
    root,
    refresh() {
      const job = latestJob(caseRecord.case_id, analysis.jobType);
      if (job && card && card.root.dataset.jobId === job.job_id) {
        card.update(job);
      } else if (job) {
        card?.destroy();
        card = jobCard(title, job, actions);
        body.replaceChildren(card.root);
      } else if (!card) {
        body.replaceChildren(savedAnalysis(caseRecord[analysis.caseField], analysis.jobType));
      }
      // Running: the card has Cancel. Failed: the card has Retry. Either way one button, not two.
      start.hidden = Boolean(job && job.status !== 'completed');
    },
    destroy() {
      card?.destroy();
    },
  };
  panel.refresh();
  return panel;
}

function savedAnalysis(saved, jobType) {
  if (!saved) return el('p', { className: 'empty', text: t('analysis.notRun') });
  return el('div', { className: 'saved' },
    el('p', { className: 'meta', text: t('analysis.saved') }),
    renderResult(jobType, saved));
}
