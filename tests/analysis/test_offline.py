"""The offline analyzer: deterministic, every field derived from the input, Hebrew too."""

from __future__ import annotations

import os

import pytest

from server.analysis.inputs import AnalysisInput, AnalysisKind, DocumentInput
from server.analysis.prompts import system_prompt, user_message
from server.analysis.providers.offline import MODEL, OfflineProvider, analyze_offline
from server.analysis.schemas import CallAnalysis, Form7801Analysis
from server.cases.demo import FILES_DIR, HEBREW_TRANSCRIPT
from server.cases.extraction import extract

HEBREW = AnalysisInput(
    case_id="c-he",
    transcript=(
        "שלום, נפגעתי בגב בתאונת עבודה ואני לא עובד מאז. ד\"ר כהן המליץ על ניתוח.\n"
        "הרופא נתן לי סיכום רפואי. הרווחתי 8,500 ש\"ח בחודש. האם מגיעה לי קצבת נכות מביטוח לאומי?\n"
        "צריך גם תלושי שכר. שמעתי על פטור ממס הכנסה ועל קצבה חודשית של 3,000 ₪."
    ),
    documents=(
        DocumentInput("d1", "a.pdf", "medical_report",
                      "שם: ישראל ישראלי\nתאריך לידה: 1980-05-01\nאבחנה: פריצת דיסק. אושפז בבית חולים.\n"
                      "נכות 40%. ד\"ר לוי ממליץ על טיפול. Ibuprofen 400 mg."),
        DocumentInput("d2", "b.pdf", "pay_slip", "מעסיק: חברת בנייה בע\"מ\nשכר ברוטו: 9,000 ש\"ח"),
    ),
)


def test_offline_is_deterministic():
    for kind in AnalysisKind:
        assert analyze_offline(kind, HEBREW) == analyze_offline(kind, HEBREW)


def test_offline_call_analysis_hebrew_fields_come_from_input():
    result = analyze_offline(AnalysisKind.CALL_ANALYSIS, HEBREW)
    assert isinstance(result, CallAnalysis)
    assert result.call_summary.startswith("שלום, נפגעתי בגב")
    assert result.case_summary and all(s in HEBREW.transcript + HEBREW.documents[0].text
                                       for s in result.key_legal_points)
    names = {d.name: d for d in result.documents_requested_list}  # Hebrew input: Hebrew names
    assert names["דוח רפואי"].uploaded and names["תלושי שכר"].uploaded
    assert names["דוח רפואי"].document_type == "medical_report"
    assert result.monthly_allowance == 3000  # said of an allowance ("קצבה חודשית של 3,000 ₪")
    assert result.income_tax_exemption is True
    assert "קצבת נכות כללית" in result.products


def test_offline_does_not_assess_scores_rates_or_strategy():
    call = analyze_offline(AnalysisKind.CALL_ANALYSIS, HEBREW)
    assert (call.risk_assessment, call.estimated_claim_amount, call.chance_of_approval,
            call.strength_score) == (None, None, None, None)
    agent = analyze_offline(AnalysisKind.DOCUMENT_ANALYSIS_AGENT, HEBREW)
    assert (agent.claim_strength, agent.recommended_claim_rate, agent.eligibility_assessment,
            agent.strategy) == (None, None, "", "")
    form = analyze_offline(AnalysisKind.DOCUMENT_ANALYSIS_FORM7801, HEBREW)
    assert (form.claim_rate, form.strategy) == ("", "")
    assert all(item.should_say == "" for item in form.preparation_data)


def test_offline_salary_is_never_a_claim_amount():
    data = AnalysisInput("c", "השכר ירד מ-12,000 ל-6,000 ש\"ח. My salary was 9,000 ILS a month.")
    result = analyze_offline(AnalysisKind.CALL_ANALYSIS, data)
    assert result.estimated_claim_amount is None and result.monthly_allowance == 0


def test_offline_documents_the_case_holds_are_never_missing():
    # The call analysis reads no document text: it knows the held types only.
    data = AnalysisInput("c", HEBREW.transcript, (), document_types=("medical_report", "pay_slip", "identity"))
    call = analyze_offline(AnalysisKind.CALL_ANALYSIS, data)
    assert call.documents_requested_list and all(d.uploaded for d in call.documents_requested_list)
    agent = analyze_offline(AnalysisKind.DOCUMENT_ANALYSIS_AGENT, HEBREW)
    assert agent.gaps == ["תעודת זהות"] and agent.recommendations == ["יש להשיג ולהעלות: תעודת זהות"]
    held = AnalysisInput("c", "", HEBREW.documents, document_types=("medical_report", "pay_slip", "identity"))
    assert analyze_offline(AnalysisKind.DOCUMENT_ANALYSIS_AGENT, held).gaps == []


def test_offline_english_input_answers_in_english():
    data = AnalysisInput("c", "I need a medical report for my back. I want a disability allowance.")
    call = analyze_offline(AnalysisKind.CALL_ANALYSIS, data)
    assert [d.name for d in call.documents_requested_list] == ["Medical report"]
    assert call.products == ["General disability allowance"]
    assert analyze_offline(AnalysisKind.DOCUMENT_ANALYSIS_AGENT, data).gaps == [
        "Medical report", "Pay slips", "Identity card"]


def test_offline_form7801_reads_labels_and_leaves_unknown_empty():
    result = analyze_offline(AnalysisKind.DOCUMENT_ANALYSIS_FORM7801, HEBREW)
    assert isinstance(result, Form7801Analysis)
    form = result.form_7801
    assert form.personal_info.full_name == "ישראל ישראלי"
    assert form.personal_info.date_of_birth == "1980-05-01"
    assert form.personal_info.phone == ""  # not in the documents: not invented
    assert form.employment_history[0].monthly_salary == 9000
    assert {p.name for p in form.disability_info.treating_physicians} == {"כהן", "לוי"}
    assert form.disability_info.disability_types == ["אורתופדית"]
    assert form.disability_info.description == "פריצת דיסק. אושפז בבית חולים."
    assert form.disability_info.hospitalizations
    assert 0 < form.metadata.completion_percentage < 100
    assert "personal_info.phone" in form.metadata.missing_fields
    assert result.preparation_data and result.preparation_data[0].title == "נקודה רפואית 1"


def _demo_input() -> AnalysisInput:
    documents = []
    for name, document_type in (("medical_summary_he.pdf", "medical_report"), ("pay_slip_he.docx", "pay_slip")):
        with open(os.path.join(FILES_DIR, name), "rb") as handle:
            documents.append(DocumentInput(name, name, document_type, extract(handle.read()).text))
    return AnalysisInput("demo", HEBREW_TRANSCRIPT, tuple(documents))


def test_offline_form7801_fills_what_the_demo_files_state():
    form = analyze_offline(AnalysisKind.DOCUMENT_ANALYSIS_FORM7801, _demo_input()).form_7801
    person, work, disability = form.personal_info, form.employment_history, form.disability_info
    assert (person.full_name, person.id_number) == ("יוסי לוי", "000000018")
    assert [(job.employer, job.monthly_salary) for job in work] == [("חברת הדמו בע\"מ", 12050)]
    assert disability.description == "פריצת דיסק L4-L5 וכאבי גב תחתון כרוניים."
    assert disability.disability_types == ["אורתופדית"]
    assert "personal_info.full_name" not in form.metadata.missing_fields
    assert "personal_info.id_number" not in form.metadata.missing_fields
    assert person.date_of_birth == person.address == person.phone == ""  # the files do not state them


def test_form7801_prompt_gives_the_models_the_demo_files_and_asks_for_their_fields():
    data = _demo_input()
    message = user_message(data)
    assert "שם המטופל: יוסי לוי, ת.ז. 000000018" in message and "מעסיק: חברת הדמו" in message
    assert "<case_documents>medical_report, pay_slip</case_documents>" in message
    prompt = system_prompt(AnalysisKind.DOCUMENT_ANALYSIS_FORM7801)
    assert "full name and the id number" in prompt and "employer" in prompt and "diagnosis" in prompt
    assert "never list a document of a held type as missing" in prompt


def test_call_prompt_lists_held_types_without_document_text():
    data = AnalysisInput("c", "transcript", (), document_types=("pay_slip", "medical_report"))
    message = user_message(data)
    assert "<case_documents>medical_report, pay_slip</case_documents>" in message
    assert "<document " not in message


def test_offline_empty_input_needs_more_info():
    result = analyze_offline(AnalysisKind.CALL_ANALYSIS, AnalysisInput("c", "", ()))
    assert result.risk_assessment is None
    assert result.estimated_claim_amount is None and result.documents_requested_list == []


@pytest.mark.gen_test(timeout=10)
async def test_offline_provider_reports_progress_and_marks_result():
    calls = []

    async def progress(percent, message, code=None, params=None):
        calls.append((percent, code))

    outcome = await OfflineProvider().analyze(AnalysisKind.DOCUMENT_ANALYSIS_AGENT, HEBREW, progress)
    assert outcome.provider == "offline" and outcome.model == MODEL == "offline-extractive-1"
    assert outcome.output == analyze_offline(AnalysisKind.DOCUMENT_ANALYSIS_AGENT, HEBREW)
    assert calls == [(0, "offline_analysing"), (100, "offline_complete")]
