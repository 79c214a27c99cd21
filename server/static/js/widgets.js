// Small display pieces shared by the job card and the result views.

import { el, userText } from './dom.js';
import { formatShekels, t } from './i18n.js';

/** A 0-100 value clamped and rounded; NaN becomes 0. */
export function percent(value) {
  const number = Math.round(Number(value));
  return Number.isFinite(number) ? Math.min(100, Math.max(0, number)) : 0;
}

/** The progress bar of a job: role=progressbar with aria-valuenow, and a visible fill. */
export function progressBar(label) {
  const fill = el('div', { className: 'bar-fill' });
  const bar = el('div', {
    className: 'bar progress',
    attrs: { role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': 0, 'aria-label': label },
  }, fill);
  return {
    root: bar,
    set(value, text) {
      const v = percent(value);
      bar.setAttribute('aria-valuenow', String(v));
      bar.setAttribute('aria-valuetext', text ? `${v}% ${text}` : `${v}%`);
      fill.style.width = `${v}%`; // CSSOM, not a style attribute in markup: allowed by the CSP
    },
  };
}

/** A score out of 100 as a labelled bar (role=meter) with the number beside it; null: "not assessed". */
export function scoreBar(label, value) {
  if (value === null || value === undefined) { // not assessed: no bar, which would read as 0
    return el('div', { className: 'score not-assessed' },
      el('span', { className: 'score-label', text: label }),
      el('span', { className: 'score-value empty', text: t('result.notAssessed') }));
  }
  const v = percent(value);
  const fill = el('div', { className: `bar-fill ${v >= 67 ? 'good' : v >= 34 ? 'fair' : 'poor'}` });
  fill.style.width = `${v}%`;
  return el('div', { className: 'score' },
    el('span', { className: 'score-label', text: label }),
    el('div', {
      className: 'bar',
      attrs: { role: 'meter', 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': v, 'aria-label': label },
    }, fill),
    el('span', { className: 'score-value', text: t('result.outOf100', { value: v }) }));
}

/** An amount in ILS for the locale; a non-numeric value from an older server is shown as given. */
export function shekels(value) {
  if (typeof value === 'number' && Number.isFinite(value)) return formatShekels(value);
  const parsed = typeof value === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value) : NaN;
  return Number.isFinite(parsed) ? formatShekels(parsed) : String(value ?? '');
}

/** A titled block of a result. Returns null when it has nothing to show. */
export function section(title, ...children) {
  const content = children.flat().filter(Boolean);
  if (!content.length) return null;
  return el('section', { className: 'result-section' }, el('h4', { text: title }), content);
}

/** A paragraph of model text, or null when empty. */
export function prose(text) {
  return text ? userText('p', text, 'prose') : null;
}

/** A bulleted list of model strings, or null when empty. */
export function bullets(items) {
  const list = (items ?? []).filter((item) => item !== null && item !== undefined && item !== '');
  if (!list.length) return null;
  // dir=auto on the list too: its markers follow the language of the items, not of the UI.
  return el('ul', { className: 'bullets', dir: 'auto' }, list.map((item) => userText('li', String(item))));
}

/**
 * A definition list of [label, value] pairs; empty values show "not provided" so a reader sees
 * what the documents did not support (nothing is invented).
 */
export function facts(pairs) {
  return el('dl', { className: 'facts' }, pairs.map(([label, value]) => [
    el('dt', { text: label }),
    isEmpty(value)
      ? el('dd', { className: 'empty', text: t('result.notProvided') })
      : userText('dd', String(value)),
  ]));
}

/** A table of objects: columns are [label, key or function]. Null when there are no rows. */
export function table(caption, columns, rows, { hideCaption = false } = {}) {
  if (!rows?.length) return null;
  return el('table', { className: 'data-table' },
    el('caption', { text: caption, className: hideCaption ? 'visually-hidden' : undefined }),
    el('thead', {}, el('tr', {}, columns.map(([label]) => el('th', { scope: 'col', text: label })))),
    el('tbody', {}, rows.map((row) => el('tr', {}, columns.map(([, key]) => {
      const value = typeof key === 'function' ? key(row) : row?.[key];
      return isEmpty(value) ? el('td', { className: 'empty', text: '—' }) : userText('td', String(value));
    })))));
}

/** Yes / No / not provided for a boolean that may be unknown. */
export function yesNo(value) {
  if (value === true) return t('common.yes');
  if (value === false) return t('common.no');
  return null;
}

function isEmpty(value) {
  return value === null || value === undefined || value === '' || (Array.isArray(value) && !value.length);
}
