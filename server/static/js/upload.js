// Uploading documents to a case: drop files on the zone or pick them, one request per file, and
// a line per file saying what the server found (pages, text or not, warnings) or why it refused.

import { request } from './api.js';
import { el, userText } from './dom.js';
import { formatBytes, language, t, tn } from './i18n.js';
import { apiErrorText } from './states.js';

export const DOCUMENT_TYPES = ['general', 'medical_report', 'pay_slip', 'identity', 'employment', 'bank', 'legal',
  'other'];

/**
 * The upload area of a case. `onUploaded()` runs after each stored file (to refresh the list).
 * @returns {HTMLElement}
 */
export function uploadArea(caseId, onUploaded) {
  const inputId = `file-${caseId}`;
  const typeId = `doctype-${caseId}`;
  const input = el('input', { type: 'file', id: inputId, multiple: true, className: 'file-input',
    accept: '.pdf,.docx,.txt,application/pdf,text/plain' });
  const kind = el('select', { id: typeId },
    DOCUMENT_TYPES.map((value) => el('option', { value, text: t(`doctype.${value}`) })));
  const results = el('ul', { className: 'upload-results', attrs: { 'aria-live': 'polite' } });
  const zone = el('div', { className: 'dropzone' },
    el('p', { text: t('upload.drop') }),
    input, // before its label: the CSS draws the input's keyboard focus on the label that follows it
    el('label', { htmlFor: inputId, className: 'file-label', text: t('upload.choose') }));
  const root = el('div', { className: 'upload' },
    el('div', { className: 'field inline' }, el('label', { htmlFor: typeId, text: t('upload.type') }), kind),
    zone, results);

  const send = async (files) => {
    for (const file of files) {
      const line = el('li', { className: 'pending' }, userText('strong', file.name), ' ',
        el('span', { className: 'upload-status', text: t('upload.sending') }));
      results.prepend(line);
      await uploadOne(caseId, file, kind.value, line);
      onUploaded();
    }
  };
  input.addEventListener('change', () => {
    send([...input.files]);
    input.value = ''; // picking the same file again must upload it again
  });
  zone.addEventListener('dragover', (event) => {
    event.preventDefault();
    zone.classList.add('over');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (event) => {
    event.preventDefault();
    zone.classList.remove('over');
    send([...(event.dataTransfer?.files ?? [])]);
  });
  return root;
}

async function uploadOne(caseId, file, documentType, line) {
  const form = new FormData();
  form.append('document_type', documentType);
  form.append('file', file, file.name);
  const status = line.querySelector('.upload-status');
  try {
    const { body } = await request(`/cases/${encodeURIComponent(caseId)}/documents`, { method: 'POST', form });
    line.className = body.text_found ? 'ok' : 'warn';
    status.replaceChildren(...describe(body));
    for (const warning of body.warnings ?? []) line.append(el('p', { className: 'warning', text: warningText(warning) }));
  } catch (failure) {
    line.className = 'failed';
    status.textContent = apiErrorText(failure);
  }
}

// The server's extraction warnings (English text, no code) in the UI language.
const WARNINGS = [
  [/^No extractable text/, 'upload.warnScan'],
  [/^The document contains no text/, 'upload.warnEmpty'],
  [/^Right-to-left text/, 'upload.warnReordered'],
];

function warningText(warning) {
  const known = WARNINGS.find(([pattern]) => pattern.test(warning));
  if (known) return t(known[1]);
  return language() === 'en' ? warning : t('upload.warnOther');
}

function describe(doc) {
  const parts = [t('upload.stored'), el('bdi', { dir: 'ltr', text: formatBytes(doc.size_bytes) })];
  if (doc.page_count) parts.push(tn('upload.pages', doc.page_count));
  parts.push(doc.text_found ? t('upload.textFound') : t('upload.noText'));
  return parts.flatMap((part, index) => (index ? [' · ', part] : [part]));
}
