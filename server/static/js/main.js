// Wires the page together: sign in and out, the language switch, the connection indicator,
// and the views. Loaded as a module from index.html (no inline script: the CSP forbids it).

import { ApiError, onUnauthorized, request } from './api.js';
import { caseTitle, initCases, loadCases, openCase, rerenderCases, resetCases, setAdmin } from './cases.js';
import { byId, el } from './dom.js';
import { applyDocumentLanguage, language, onLanguageChange, setLanguage, t } from './i18n.js';
import { startFeed, stopAll } from './jobs.js';
import { initJobsPanel, rerenderJobsPanel } from './jobs-panel.js';
import { clearToken, saveToken, token, tokenIdentity } from './session.js';
import { onConnectionChange } from './transport.js';

let identity = null;

async function signIn(candidate) {
  const error = byId('sign-in-error');
  error.textContent = '';
  try {
    await request('/jobs?limit=1', { bearer: candidate }); // proves the token before keeping it
  } catch (failure) {
    error.textContent = failure instanceof ApiError && failure.status === 401
      ? t('auth.rejected', { detail: failure.detail }) : failure.detail || t('error.network');
    return;
  }
  saveToken(candidate);
  enterWorkspace();
}

function enterWorkspace() {
  identity = tokenIdentity(token()) ?? { user: '', admin: false };
  byId('sign-in').hidden = true;
  byId('workspace').hidden = false;
  byId('sign-out').hidden = false;
  byId('whoami').textContent = identity.user;
  byId('whoami-role').textContent = identity.admin ? t('auth.admin') : '';
  setAdmin(identity.admin);
  rerenderJobsPanel({ admin: identity.admin });
  startFeed();
  loadCases();
}

function signOut(message = '') {
  stopAll();
  clearToken();
  resetCases();
  identity = null;
  byId('workspace').hidden = true;
  byId('sign-out').hidden = true;
  byId('whoami').textContent = '';
  byId('whoami-role').textContent = '';
  byId('sign-in').hidden = false;
  byId('token-input').value = '';
  byId('sign-in-error').textContent = message;
  loadDevUsers();
}

async function loadDevUsers() {
  const box = byId('dev-sign-in');
  let tokens = [];
  try {
    ({ body: { tokens } } = await request('/dev/tokens', { bearer: '' }));
  } catch {
    box.hidden = true; // not dev mode: 404, nothing to offer
    return;
  }
  byId('dev-buttons').replaceChildren(...tokens.map((item) => el('button', {
    type: 'button', className: 'secondary',
    text: t('auth.signInAs', { user: item.user }), on: { click: () => signIn(item.token) },
  })));
  box.hidden = false;
}

function showConnection({ reconnecting, polling }) {
  const node = byId('connection');
  node.dataset.state = reconnecting ? 'reconnecting' : polling ? 'polling' : 'live';
  node.textContent = reconnecting ? t('connection.reconnecting') : polling ? t('connection.polling') : t('connection.live');
}

function switchLanguage() {
  setLanguage(language() === 'he' ? 'en' : 'he');
}

function onLanguage() {
  const other = language() === 'he' ? 'en' : 'he';
  const button = byId('lang-switch');
  button.textContent = t(`lang.${other}`);
  button.lang = other;
  if (identity) {
    byId('whoami-role').textContent = identity.admin ? t('auth.admin') : '';
    rerenderCases();
    rerenderJobsPanel();
  } else {
    loadDevUsers();
  }
  showConnection({ reconnecting: byId('connection').dataset.state === 'reconnecting',
    polling: byId('connection').dataset.state === 'polling' });
}

function init() {
  applyDocumentLanguage();
  onLanguageChange(onLanguage);
  onLanguage();
  onConnectionChange(showConnection);
  onUnauthorized(() => signOut(t('auth.expired')));
  initCases();
  initJobsPanel({ caseTitle, openJob: (job) => job.metadata?.case_id && openCase(job.metadata.case_id) });
  byId('lang-switch').addEventListener('click', switchLanguage);
  byId('sign-out').addEventListener('click', () => signOut());
  byId('token-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const value = byId('token-input').value.trim();
    if (value) signIn(value);
  });
  if (token()) enterWorkspace();
  else signOut();
}

init();
