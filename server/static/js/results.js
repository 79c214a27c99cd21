// A finished analysis rendered for a person to read (never raw JSON): one view per job type,
// following the output schemas of issue 4.

import { el, userText } from './dom.js';
import { formatDateTime, t, tNodes } from './i18n.js';
import { fieldLabel } from './states.js';
import { bullets, facts, prose, scoreBar, section, shekels, table, yesNo } from './widgets.js';

const RISK_CLASS = { 'High Viability': 'good', 'Low Viability': 'poor', 'Needs More Info': 'fair' };
const RISK_KEY = { 'High Viability': 'risk.high', 'Low Viability': 'risk.low', 'Needs More Info': 'risk.moreInfo' };

/**
 * The view of a result. `result` is a job's result ({analysis, ...}) or a case's saved analysis
 * (the analysis object itself).
 */
export function renderResult(jobType, result) {
  const analysis = result?.analysis ?? result ?? {};
  const render = VIEWS[jobType];
  const body = render ? render(analysis) : [prose(t('result.unknownType'))];
  const demo = Boolean(result?.demo || analysis.provenance?.demo);
  return el('div', { className: demo ? 'result demo' : 'result' }, demo && demoBanner(), resultNotes(result, analysis, demo), body);
}

const VIEWS = {
  call_analysis: callAnalysis,
  document_analysis_agent: agentAnalysis,
  document_analysis_form7801: form7801Analysis,
};

/** The banner on every result of the offline (demo) analyzer: it cannot be taken for advice. */
function demoBanner() {
  return el('div', { className: 'demo-banner', attrs: { role: 'note' } },
    el('strong', { text: t('result.demoBanner') }), ' ', t('result.demoDetail'));
}

function resultNotes(result, analysis, demo) {
  const notes = [];
  if (result?.truncated || result?.analysis?.truncated) notes.push(el('p', { className: 'note', text: t('result.truncated') }));
  if (result?.documents_analyzed !== undefined) {
    notes.push(el('p', { className: 'meta', text: t('result.documentsAnalyzed', { count: result.documents_analyzed }) }));
  }
  if (result?.timestamp) notes.push(el('p', { className: 'meta', text: formatDateTime(result.timestamp) }));
  const provider = result?.provider ?? analysis.provenance?.provider;
  const model = result?.model ?? analysis.provenance?.model ?? '';
  if (provider && !demo) {
    notes.push(el('p', { className: 'meta' }, tNodes('result.producedBy', { provider, model })));
  }
  return notes;
}

function callAnalysis(a) {
  return [
    el('div', { className: 'headline' },
      riskBadge(a.risk_assessment),
      a.estimated_claim_amount !== undefined && el('div', { className: 'amount' },
        el('span', { className: 'amount-label', text: t('result.estimatedAmount') }),
        el('span', { className: 'amount-value', text: amountOrNull(a.estimated_claim_amount) ?? t('result.notEstimated') }))),
    el('div', { className: 'scores' },
      scoreBar(t('result.chanceOfApproval'), a.chance_of_approval),
      scoreBar(t('result.strengthScore'), a.strength_score)),
    section(t('result.callSummary'), prose(a.call_summary)),
    section(t('result.caseSummary'), prose(a.case_summary)),
    section(t('result.requestedDocuments'), checklist(a.documents_requested_list)),
    section(t('result.keyLegalPoints'), bullets(a.key_legal_points)),
    section(t('result.benefits'), facts([
      [t('result.monthlyAllowance'), amountOrNull(a.monthly_allowance)],
      [t('result.degreeFunding'), amountOrNull(a.degree_funding)],
      [t('result.livingExpenses'), amountOrNull(a.living_expenses)],
      [t('result.incomeTaxExemption'), yesNo(a.income_tax_exemption)],
    ])),
    section(t('result.products'), bullets(a.products)),
  ];
}

/** A headline amount: its label, and the model's value as text (or "not assessed" when absent). */
function amount(label, value) {
  return el('div', { className: 'amount' },
    el('span', { className: 'amount-label', text: label }),
    value ? userText('span', value, 'amount-value')
      : el('span', { className: 'amount-value empty', text: t('result.notAssessed') }));
}

function agentAnalysis(a) {
  return [
    el('div', { className: 'headline' }, amount(t('result.recommendedRate'), a.recommended_claim_rate)),
    el('div', { className: 'scores' }, scoreBar(t('result.claimStrength'), a.claim_strength)),
    section(t('result.summary'), prose(a.summary)),
    section(t('result.eligibility'), prose(a.eligibility_assessment)),
    section(t('result.keyFindings'), bullets(a.key_findings)),
    section(t('result.strategy'), prose(a.strategy)),
    section(t('result.recommendations'), bullets(a.recommendations)),
    section(t('result.gaps'), bullets(a.gaps)),
  ];
}

function form7801Analysis(a) {
  const form = a.form_7801 ?? {};
  return [
    el('div', { className: 'headline' }, amount(t('result.claimRate'), a.claim_rate)),
    el('div', { className: 'scores' },
      scoreBar(t('form.completion'), form.metadata?.completion_percentage)),
    readiness(a.filing_readiness),
    formView(form),
    section(t('result.summary'), prose(a.summary)),
    section(t('result.strategy'), prose(a.strategy)),
    section(t('result.recommendations'), bullets(a.recommendations)),
    section(t('result.preparation'), preparation(a.preparation_data)),
  ];
}

/** Form 7801 as a readable form: one fieldset per part of the form. */
function formView(form) {
  const person = form.personal_info ?? {};
  const disability = form.disability_info ?? {};
  const bank = form.bank_details ?? {};
  const waiver = form.medical_waiver ?? {};
  const missing = form.metadata?.missing_fields ?? [];
  return el('div', { className: 'form-7801' },
    el('h4', { text: t('form.title') }),
    part(t('form.personal'), facts([
      [t('form.fullName'), person.full_name], [t('form.idNumber'), person.id_number],
      [t('form.dateOfBirth'), person.date_of_birth], [t('form.gender'), person.gender],
      [t('form.maritalStatus'), person.marital_status], [t('form.address'), person.address],
      [t('form.phone'), person.phone], [t('form.email'), person.email],
    ])),
    part(t('form.employment'), table(t('form.employment'), [
      [t('form.employer'), 'employer'], [t('form.role'), (row) => row.position ?? row.role],
      [t('form.startDate'), 'start_date'], [t('form.endDate'), 'end_date'],
      [t('form.monthlySalary'), (row) => amountOrNull(row.monthly_salary)],
    ], form.employment_history, { hideCaption: true }) ?? empty()),
    part(t('form.disability'),
      facts([
        [t('form.disabilityTypes'), (disability.disability_types ?? []).join(', ')],
        [t('form.description'), disability.description], [t('form.onset'), disability.onset_date],
        [t('form.medications'), (disability.medications ?? []).join(', ')],
      ]),
      table(t('form.physicians'), [
        [t('form.physicianName'), 'name'], [t('form.specialty'), 'specialty'], [t('form.clinic'), 'clinic'],
      ], disability.treating_physicians),
      table(t('form.hospitalizations'), [
        [t('form.hospital'), 'hospital'], [t('form.department'), 'department'],
        [t('form.admitted'), 'admission_date'], [t('form.discharged'), 'discharge_date'], [t('form.reason'), 'reason'],
      ], disability.hospitalizations)),
    part(t('form.bank'), facts([
      [t('form.bankName'), bank.bank_name], [t('form.branch'), bank.branch_number ?? bank.branch],
      [t('form.accountNumber'), bank.account_number], [t('form.accountHolder'), bank.account_holder],
    ])),
    part(t('form.waiver'), facts([
      [t('form.waiverSigned'), yesNo(waiver.signed)], [t('form.signatureDate'), waiver.signature_date],
      [t('form.notes'), waiver.notes],
    ])),
    missing.length ? part(t('form.missing'), bullets(missing.map(fieldLabel))) : null);
}

/** The filing rule and the server's verdict on this form (``filing_readiness``). */
function readiness(verdict) {
  if (!verdict) return null;
  const vars = { percent: verdict.completion_percentage, min: verdict.min_completion_percent };
  const missing = verdict.missing_required_fields ?? [];
  return el('section', { className: `readiness ${verdict.ready ? 'good' : 'poor'}`, attrs: { 'aria-label': t('readiness.title') } },
    el('h4', { text: t('readiness.title') }),
    el('p', { className: 'verdict', text: t(verdict.ready ? 'readiness.ready' : 'readiness.notReady', vars) }),
    missing.length ? el('div', {}, el('p', { text: `${t('readiness.missingRequired')}:` }), bullets(missing.map(fieldLabel))) : null,
    el('p', { className: 'meta', text: t('readiness.rule', { min: verdict.min_completion_percent }) }));
}

function part(legend, ...children) {
  return el('fieldset', { className: 'form-part' }, el('legend', { text: legend }), children);
}

function empty() {
  return el('p', { className: 'empty', text: t('result.notProvided') });
}

function checklist(items) {
  if (!items?.length) return el('p', { className: 'empty', text: t('result.noDocumentsRequested') });
  return el('ul', { className: 'checklist' }, items.map((item) => {
    const uploaded = Boolean(item.uploaded);
    return el('li', { className: uploaded ? 'uploaded' : 'missing' },
      el('span', { className: 'mark', attrs: { 'aria-hidden': 'true' }, text: uploaded ? '✓' : '○' }),
      el('div', { className: 'check-body' },
        el('div', { className: 'check-line' },
          userText('span', item.name, 'doc-name'),
          el('span', { className: `tag ${uploaded ? 'good' : 'poor'}`, text: t(uploaded ? 'doc.uploaded' : 'doc.missing') }),
          el('span', { className: 'tag', text: t(item.required === false ? 'doc.optional' : 'doc.required') })),
        item.reason && userText('p', item.reason, 'doc-reason'),
        item.source && el('p', { className: 'doc-source' }, tNodes('doc.sourceLine', { source: item.source }))));
  }));
}

function preparation(items) {
  if (!items?.length) return null;
  return el('ol', { className: 'preparation', dir: 'auto' }, items.map((item) => el('li', {},
    userText('strong', item.title),
    item.detail && userText('p', item.detail),
    item.should_say && el('p', { className: 'should-say' },
      tNodes('result.shouldSayLine', { text: el('q', { dir: 'auto', text: item.should_say }) })))));
}

function riskBadge(risk) {
  if (risk === undefined) return null;
  if (risk === null) {
    return el('div', { className: 'risk' }, el('span', { className: 'amount-label', text: t('result.risk') }),
      el('span', { className: 'badge', text: t('result.notAssessed') }));
  }
  return el('div', { className: 'risk' },
    el('span', { className: 'amount-label', text: t('result.risk') }),
    el('span', { className: `badge ${RISK_CLASS[risk] ?? 'fair'}`, text: RISK_KEY[risk] ? t(RISK_KEY[risk]) : risk }));
}

// The schema uses 0 for "unknown" amounts: show "not provided" rather than a made-up ₪0.
function amountOrNull(value) {
  return value === null || value === undefined || value === 0 ? null : shekels(value);
}
