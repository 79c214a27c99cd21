// Cases: the list, the create form, and an open case (transcript, documents, upload, analyses).

import { analysisPanel, ANALYSES } from './analyses.js';
import { request } from './api.js';
import { byId, clear, el, userText } from './dom.js';
import { formatBytes, formatDateTime, t, tn } from './i18n.js';
import { loadCaseJobs, onJobsChange, TERMINAL } from './jobs.js';
import { apiErrorText, caseStatusLabel } from './states.js';
import { uploadArea } from './upload.js';

const state = { cases: [], open: null, documents: [], panels: [], admin: false };
let finishedSeen = new Set();

/** Set up the create form and the job listener; call once. */
export function initCases() {
  byId('create-case-form').addEventListener('submit', createCase);
  onJobsChange(onJobs);
}

/** Show everyone's cases with their owners (admins) or just the user's. */
export function setAdmin(admin) {
  state.admin = admin;
}

/** Load and show the case list. */
export async function loadCases() {
  const status = byId('cases-status');
  try {
    const { body } = await request('/cases?limit=100');
    state.cases = body.cases;
    status.textContent = '';
  } catch (failure) {
    status.textContent = apiErrorText(failure);
  }
  renderCaseList();
}

/** The title of a known case, for the jobs panel. */
export function caseTitle(caseId) {
  return state.cases.find((c) => c.case_id === caseId)?.title ?? null;
}

/** Forget everything (sign out). */
export function resetCases() {
  closeCase();
  state.cases = [];
  clear(byId('case-list'));
}

/** Redraw every view in the current language. */
export function rerenderCases() {
  renderCaseList();
  if (state.open) renderCase();
}

function renderCaseList() {
  const list = clear(byId('case-list'));
  byId('cases-empty').hidden = state.cases.length > 0;
  for (const item of state.cases) {
    const current = state.open?.case_id === item.case_id;
    const button = el('button', { type: 'button', className: 'case-item', on: { click: () => openCase(item.case_id) } },
      userText('span', item.title, 'case-title'),
      el('span', { className: 'case-meta' },
        el('span', { className: 'badge fair', text: caseStatusLabel(item.status) }), ' ',
        tn('cases.documentsCount', item.documents_count),
        state.admin ? [' · ', t('cases.owner'), ' ', userText('span', item.user_id)] : null));
    if (current) button.setAttribute('aria-current', 'true');
    list.append(el('li', {}, button));
  }
}

async function createCase(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const error = byId('create-case-error');
  const title = byId('case-title').value;
  const transcript = byId('case-transcript').value;
  const json = transcript.trim() ? { title, call_details: { transcript } } : { title };
  form.querySelector('button[type=submit]').disabled = true;
  error.textContent = '';
  try {
    const { body } = await request('/cases', { method: 'POST', json });
    form.reset();
    await loadCases();
    await openCase(body.case_id);
  } catch (failure) {
    error.textContent = apiErrorText(failure);
  } finally {
    form.querySelector('button[type=submit]').disabled = false;
  }
}

/** Open a case: load it, its documents and its recent jobs, then show it. */
export async function openCase(caseId) {
  const view = byId('case-view');
  try {
    const [{ body: record }, { body: docs }] = await Promise.all([
      request(`/cases/${encodeURIComponent(caseId)}`),
      request(`/cases/${encodeURIComponent(caseId)}/documents`),
    ]);
    state.open = record;
    state.documents = docs.documents;
    await loadCaseJobs(caseId).catch(() => {}); // the feed still brings new jobs
  } catch (failure) {
    closeCase();
    view.replaceChildren(el('p', { className: 'error', attrs: { role: 'alert' }, text: apiErrorText(failure) }));
    return;
  }
  finishedSeen = new Set();
  renderCaseList();
  renderCase();
  byId('case-heading')?.focus();
}

function closeCase() {
  for (const panel of state.panels) panel.destroy();
  state.panels = [];
  state.open = null;
  clear(byId('case-view')).append(el('p', { className: 'empty', text: t('cases.noneOpen') }));
}

function renderCase() {
  const record = state.open;
  for (const panel of state.panels) panel.destroy();
  state.panels = ANALYSES.map((analysis) => analysisPanel(analysis, record));
  const transcript = record.call_details?.transcript ?? '';
  byId('case-view').replaceChildren(
    el('header', { className: 'case-head' },
      el('h2', { id: 'case-heading', tabIndex: -1, dir: 'auto', text: record.title }),
      el('p', { className: 'meta' },
        el('span', { className: 'badge fair', text: caseStatusLabel(record.status) }), ' ',
        t('cases.created', { when: formatDateTime(record.created_at) }),
        state.admin ? [' · ', t('cases.owner'), ' ', userText('span', record.user_id)] : null)),
    el('details', { className: 'transcript', open: true },
      el('summary', { text: t('cases.transcript') }),
      transcript ? userText('pre', transcript) : el('p', { className: 'empty', text: t('cases.noTranscript') })),
    el('section', { className: 'documents', attrs: { 'aria-labelledby': 'documents-heading' } },
      el('h3', { id: 'documents-heading', text: t('docs.title') }),
      documentsTable(state.documents),
      uploadArea(record.case_id, refreshDocuments)),
    el('div', { className: 'analyses' }, state.panels.map((panel) => panel.root)));
}

function documentsTable(documents) {
  if (!documents.length) return el('p', { className: 'empty', id: 'documents-table', text: t('docs.none') });
  return el('table', { className: 'data-table', id: 'documents-table' },
    el('caption', { className: 'visually-hidden', text: t('docs.title') }),
    el('thead', {}, el('tr', {}, ['docs.name', 'docs.type', 'docs.pages', 'docs.text', 'docs.size'].map(
      (key) => el('th', { scope: 'col', text: t(key) })))),
    el('tbody', {}, documents.map((doc) => el('tr', {},
      userText('td', doc.file_name),
      el('td', { text: t(`doctype.${doc.document_type}`) }),
      el('td', { text: doc.page_count ?? '—' }),
      el('td', { className: doc.text_found ? '' : 'warn', text: t(doc.text_found ? 'docs.textYes' : 'docs.textNo') }),
      el('td', {}, el('bdi', { dir: 'ltr', text: formatBytes(doc.size_bytes) })))))); // "12.4 kB" in RTL too
}

async function refreshDocuments() {
  const record = state.open;
  if (!record) return;
  try {
    const { body } = await request(`/cases/${encodeURIComponent(record.case_id)}/documents`);
    if (state.open?.case_id !== record.case_id) return;
    state.documents = body.documents;
    byId('documents-table').replaceWith(documentsTable(state.documents));
    const item = state.cases.find((c) => c.case_id === record.case_id);
    if (item) item.documents_count = body.documents.length;
    renderCaseList();
  } catch {
    // the upload line already says what went wrong
  }
}

function onJobs(changed) {
  const record = state.open;
  if (!record) return;
  for (const panel of state.panels) panel.refresh();
  // A finished analysis may have changed the case (status, saved analyses): reload it quietly.
  const finished = changed.filter((job) => job.metadata?.case_id === record.case_id && TERMINAL.has(job.status)
    && !finishedSeen.has(job.job_id));
  if (!finished.length) return;
  finished.forEach((job) => finishedSeen.add(job.job_id));
  if (finished.some((job) => job.status === 'completed')) reloadOpenCase(record.case_id);
}

async function reloadOpenCase(caseId) {
  try {
    const { body } = await request(`/cases/${encodeURIComponent(caseId)}`);
    if (state.open?.case_id !== caseId) return;
    state.open = body;
    const item = state.cases.find((c) => c.case_id === caseId);
    if (item) item.status = body.status;
    renderCaseList();
  } catch {
    // not worth bothering the user: the job card already shows the result
  }
}
