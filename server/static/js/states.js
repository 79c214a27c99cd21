// Server states shown in the UI language: case statuses, job progress codes, job error codes, API
// error codes and Form 7801 field paths. The server's English texts stay for other clients; the
// page shows only the catalogue's sentences (one language at a time).

import { has, language, t } from './i18n.js';

/** A case status ("New", "Submission pending") in the UI language; an unknown one as given. */
export function caseStatusLabel(status) {
  return has(`caseStatus.${status}`) ? t(`caseStatus.${status}`) : status;
}

/**
 * The progress line of a job from its `progress_code` and `progress_params` (issue 18). A job from
 * an older server without codes falls back to its status.
 */
export function progressText(job) {
  if (job.status === 'pending') return t('progress.queued');
  if (job.status === 'completed') return t('progress.completed');
  const code = job.progress_code;
  if (code && has(`progress.${code}`)) return t(`progress.${code}`, job.progress_params ?? {});
  return t(job.progress_message === 'Started' ? 'progress.started' : 'progress.running');
}

/** What a failed job's person should know and do next, by its `error_code`. */
export function jobErrorText(job) {
  const code = job.error_code;
  return has(`jobError.${code}`) ? t(`jobError.${code}`) : t('jobError.unknown');
}

/** The message of a failed request (ApiError): translated by its code, else the server's detail
 * in English, else a generic sentence in the UI language. */
export function apiErrorText(failure) {
  if (failure?.code && has(`apiError.${failure.code}`)) return t(`apiError.${failure.code}`);
  if (failure?.status === 0) return t('error.network');
  if (language() === 'en' && failure?.detail) return failure.detail;
  return t('error.http', { status: failure?.status ?? '?' });
}

// Form 7801 field paths (form_7801.*) and the catalogue keys of their labels.
const FIELD_KEYS = {
  'personal_info.full_name': 'form.fullName',
  'personal_info.id_number': 'form.idNumber',
  'personal_info.date_of_birth': 'form.dateOfBirth',
  'personal_info.gender': 'form.gender',
  'personal_info.marital_status': 'form.maritalStatus',
  'personal_info.address': 'form.address',
  'personal_info.phone': 'form.phone',
  'personal_info.email': 'form.email',
  personal_info: 'form.personal',
  bank_details: 'form.bank',
  'bank_details.bank_name': 'form.bankName',
  'bank_details.branch_number': 'form.branch',
  'bank_details.account_number': 'form.accountNumber',
  'bank_details.account_holder': 'form.accountHolder',
  medical_waiver: 'form.waiver',
  disability_info: 'form.disability',
};

/** A Form 7801 field path ("personal_info.full_name") as its label; an unknown path as given. */
export function fieldLabel(path) {
  const bare = String(path).replace(/^form_7801\./, '');
  const key = FIELD_KEYS[bare] ?? `field.${bare}`;
  return has(key) ? t(key) : String(path);
}
