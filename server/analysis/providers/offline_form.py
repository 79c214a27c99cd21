"""Form 7801 part of the offline analyzer: fields read from what the documents state.

Fields come from "Label: value" lines (Hebrew and English labels; a table row "Label<TAB>value"
too), the id number after its label (ת.ז., ID), dates in ISO or day-first form, physicians after
"Dr."/"ד\"ר" or a physician label, the diagnosis after its label. A field the documents do not
state stays empty; ``metadata.completion_percentage`` is the share (percent) of the form's fields
that were filled. The claim rate and strategy are not assessed (empty): judging them needs a
model or a person.
"""

from __future__ import annotations

import re

from server.analysis.inputs import AnalysisInput
from server.analysis.providers import _offline_rules as rules
from server.analysis.providers._extract import (
    amounts,
    contains_any,
    id_number,
    iso_date,
    labelled,
    matching,
    sentences,
    summary,
)
from server.analysis.schemas import (
    BankDetails,
    DisabilityInfo,
    EmploymentEntry,
    Form7801,
    Form7801Analysis,
    FormMetadata,
    Hospitalization,
    MedicalWaiver,
    PersonalInfo,
    PreparationItem,
    TreatingPhysician,
)

# The surname after the title; first names are not reliably separable from the next word.
_PHYSICIAN = re.compile(r"(?:Dr\.?|ד\"ר|ד״ר)\s+([^\s,.;:]+)")
# Where a name written on the same line as other details ends.
_NAME_STOP = ",(;"


def form7801_analysis(data: AnalysisInput, lang: int, gaps: list[str]) -> Form7801Analysis:
    """The offline ``document_analysis_form7801``.

    Args:
        data: the input.
        lang: 0 for English, 1 for Hebrew (the language of the fixed phrases).
        gaps: names of the expected documents the case does not hold.
    """
    # Documents first: they state facts; the transcript only reports them.
    text = "\n".join([*(doc.text for doc in data.documents), data.transcript])
    every = sentences(text)
    form = Form7801(
        personal_info=_personal(text),
        employment_history=_employment(text),
        disability_info=_disability(text, every, lang),
        bank_details=BankDetails(
            bank_name=labelled(text, ("Bank", "בנק")),
            branch_number=labelled(text, ("Branch", "סניף")),
            account_number=labelled(text, ("Account number", "Account", "מספר חשבון", "חשבון")),
            account_holder=labelled(text, ("Account holder", "בעל החשבון")),
        ),
        medical_waiver=_waiver(text),
        metadata=FormMetadata(completion_percentage=0, missing_fields=[], source_documents=[
            rules.SOURCE_DOCUMENT[lang].format(i, _type_name(doc.document_type, lang))
            for i, doc in enumerate(data.documents, start=1)
        ]),
    )
    form = _with_completion(form)
    committee = matching(every, rules.MEDICAL, 3)
    return Form7801Analysis(
        form_7801=form,
        summary=summary(every),
        strategy="",
        claim_rate="",
        recommendations=[rules.OBTAIN[lang].format(gap) for gap in gaps],
        preparation_data=[
            PreparationItem(title=rules.MEDICAL_POINT[lang].format(i), detail=s, should_say="")
            for i, s in enumerate(committee, start=1)
        ],
    )


def _type_name(document_type: str, lang: int) -> str:
    return rules.DOCUMENT_TYPE_NAMES.get(document_type, (document_type, document_type))[lang]


def _personal(text: str) -> PersonalInfo:
    return PersonalInfo(
        full_name=labelled(text, rules.NAME_LABELS, stop=_NAME_STOP),
        id_number=id_number(text),
        date_of_birth=iso_date(labelled(text, ("Date of birth", "Born", "תאריך לידה"))),
        gender=labelled(text, ("Gender", "מין")),
        marital_status=labelled(text, ("Marital status", "מצב משפחתי")),
        address=labelled(text, ("Address", "כתובת")),
        phone=labelled(text, ("Phone", "Telephone", "טלפון", "נייד")),
        email=labelled(text, ("Email", "E-mail", "דוא\"ל", "דואר אלקטרוני")),
    )


def _employment(text: str) -> list[EmploymentEntry]:
    employer = labelled(text, rules.EMPLOYER_LABELS)
    if not employer:
        return []
    salary = amounts(labelled(text, rules.SALARY_LABELS))
    return [EmploymentEntry(
        employer=employer,
        position=labelled(text, ("Position", "Role", "תפקיד")),
        start_date=iso_date(labelled(text, ("Start date", "Employed since", "תחילת עבודה"))),
        end_date=iso_date(labelled(text, ("End date", "סיום עבודה"))),
        monthly_salary=salary[0] if salary else None,
    )]


def _disability(text: str, every: list[str], lang: int) -> DisabilityInfo:
    named = labelled(text, rules.PHYSICIAN_LABELS, stop=_NAME_STOP)
    doctors = sorted(set(_PHYSICIAN.findall(text)) | ({named} if named else set()))
    diagnosis = labelled(text, rules.DIAGNOSIS_LABELS)
    return DisabilityInfo(
        disability_types=[name[lang] for name, words in rules.DISABILITY_TYPES if contains_any(text, words)],
        description=diagnosis or summary(matching(every, rules.MEDICAL, 2)),
        onset_date=iso_date(labelled(text, ("Onset date", "Date of injury", "תאריך הפגיעה", "מועד הפגיעה"))),
        treating_physicians=[TreatingPhysician(name=name, specialty="", clinic="") for name in doctors],
        hospitalizations=[
            Hospitalization(hospital="", department="", admission_date=iso_date(s), discharge_date="", reason=s)
            for s in matching(every, rules.HOSPITAL, 3)
        ],
        medications=matching(every, rules.MEDICATION, 5),
    )


def _waiver(text: str) -> MedicalWaiver:
    mention = matching(sentences(text), ("medical waiver", "ויתור על סודיות"), 1)
    return MedicalWaiver(signed=True if mention and contains_any(mention[0], ("signed", "חתם", "נחתם")) else None,
                         signature_date="", notes=mention[0] if mention else "")


def _with_completion(form: Form7801) -> Form7801:
    fields = {
        **{f"personal_info.{k}": v for k, v in form.personal_info.model_dump().items()},
        **{f"bank_details.{k}": v for k, v in form.bank_details.model_dump().items()},
        "employment_history": form.employment_history,
        "disability_info.disability_types": form.disability_info.disability_types,
        "disability_info.description": form.disability_info.description,
        "disability_info.treating_physicians": form.disability_info.treating_physicians,
        "medical_waiver.signed": form.medical_waiver.signed,
    }
    missing = [name for name, value in fields.items() if not value]
    percent = round(100 * (len(fields) - len(missing)) / len(fields))
    metadata = form.metadata.model_copy(update={"completion_percentage": percent, "missing_fields": missing})
    return form.model_copy(update={"metadata": metadata})
