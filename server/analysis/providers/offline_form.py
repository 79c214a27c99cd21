"""Form 7801 part of the offline analyzer: fields read from "Label: value" lines and keywords.

A field with no matching label stays empty; ``metadata.completion_percentage`` is the share of
the form's scalar fields that were filled.
"""

from __future__ import annotations

import re

from server.analysis.inputs import AnalysisInput
from server.analysis.providers import _offline_rules as rules
from server.analysis.providers._extract import (
    amounts,
    contains_any,
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
_ISO_DATE = re.compile(r"\b(\d{4}-\d{2}-\d{2})\b")


def form7801_analysis(data: AnalysisInput, rate: str, gaps: list[str]) -> Form7801Analysis:
    """The offline ``document_analysis_form7801``.

    Args:
        data: the input.
        rate: the claim rate the agent rules chose (e.g. ``75%``).
        gaps: missing document types.
    """
    text = "\n".join([*(doc.text for doc in data.documents), data.transcript])
    every = sentences(text)
    form = Form7801(
        personal_info=_personal(text),
        employment_history=_employment(text),
        disability_info=_disability(text, every),
        bank_details=BankDetails(
            bank_name=labelled(text, ("Bank", "בנק")),
            branch_number=labelled(text, ("Branch", "סניף")),
            account_number=labelled(text, ("Account number", "Account", "מספר חשבון", "חשבון")),
            account_holder=labelled(text, ("Account holder", "בעל החשבון")),
        ),
        medical_waiver=_waiver(text),
        metadata=FormMetadata(completion_percentage=0, missing_fields=[], source_documents=[
            f"document {i} ({doc.document_type})" for i, doc in enumerate(data.documents, start=1)
        ]),
    )
    form = _with_completion(form)
    committee = matching(every, rules.MEDICAL, 3)
    return Form7801Analysis(
        form_7801=form,
        summary=summary(every),
        strategy=(f"File at {rate}; first complete: {', '.join(gaps)}." if gaps else f"File at {rate}."),
        claim_rate=rate,
        recommendations=[f"Fill in: {name}" for name in form.metadata.missing_fields[:5]]
        + [f"Obtain and upload: {gap}" for gap in gaps],
        preparation_data=[
            PreparationItem(title=f"Medical point {i}", detail=s, should_say=f"Describe in your own words: {s}")
            for i, s in enumerate(committee, start=1)
        ],
    )


def _personal(text: str) -> PersonalInfo:
    return PersonalInfo(
        full_name=labelled(text, ("Full name", "Name", "שם מלא", "שם")),
        id_number=labelled(text, ("ID number", "ID", "מספר זהות", "ת.ז", "תעודת זהות")),
        date_of_birth=_date(labelled(text, ("Date of birth", "תאריך לידה"))),
        gender=labelled(text, ("Gender", "מין")),
        marital_status=labelled(text, ("Marital status", "מצב משפחתי")),
        address=labelled(text, ("Address", "כתובת")),
        phone=labelled(text, ("Phone", "טלפון")),
        email=labelled(text, ("Email", "דוא\"ל", "דואר אלקטרוני")),
    )


def _employment(text: str) -> list[EmploymentEntry]:
    employer = labelled(text, ("Employer", "מעסיק", "שם המעסיק"))
    if not employer:
        return []
    salary = amounts(labelled(text, ("Gross salary", "Salary", "שכר ברוטו", "שכר")))
    return [EmploymentEntry(
        employer=employer,
        position=labelled(text, ("Position", "Role", "תפקיד")),
        start_date=_date(labelled(text, ("Start date", "Employed since", "תחילת עבודה"))),
        end_date=_date(labelled(text, ("End date", "סיום עבודה"))),
        monthly_salary=salary[0] if salary else None,
    )]


def _disability(text: str, every: list[str]) -> DisabilityInfo:
    doctors = sorted(set(_PHYSICIAN.findall(text)))
    return DisabilityInfo(
        disability_types=[name for name, words in rules.DISABILITY_TYPES if contains_any(text, words)],
        description=summary(matching(every, rules.MEDICAL, 2)),
        onset_date=_date(labelled(text, ("Onset date", "Date of injury", "תאריך הפגיעה", "מועד הפגיעה"))),
        treating_physicians=[TreatingPhysician(name=name, specialty="", clinic="") for name in doctors],
        hospitalizations=[
            Hospitalization(hospital="", department="", admission_date=_date(s), discharge_date="", reason=s)
            for s in matching(every, rules.HOSPITAL, 3)
        ],
        medications=matching(every, rules.MEDICATION, 5),
    )


def _waiver(text: str) -> MedicalWaiver:
    mention = matching(sentences(text), ("medical waiver", "ויתור על סודיות"), 1)
    return MedicalWaiver(signed=True if mention and contains_any(mention[0], ("signed", "חתם", "נחתם")) else None,
                         signature_date="", notes=mention[0] if mention else "")


def _date(value: str) -> str:
    match = _ISO_DATE.search(value)
    return match.group(1) if match else ""


def _with_completion(form: Form7801) -> Form7801:
    scalars = {
        **{f"personal_info.{k}": v for k, v in form.personal_info.model_dump().items()},
        **{f"bank_details.{k}": v for k, v in form.bank_details.model_dump().items()},
        "employment_history": form.employment_history,
        "disability_info.disability_types": form.disability_info.disability_types,
        "disability_info.treating_physicians": form.disability_info.treating_physicians,
    }
    missing = [name for name, value in scalars.items() if not value]
    percent = round(100 * (len(scalars) - len(missing)) / len(scalars))
    metadata = form.metadata.model_copy(update={"completion_percentage": percent, "missing_fields": missing})
    return form.model_copy(update={"metadata": metadata})
