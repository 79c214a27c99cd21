"""Output schemas of the three analyses (issue 4), validated before anything is saved.

Fields the input does not support stay empty (``""``, ``None`` or ``[]``): nothing is invented.
Unknown fields in a provider's answer are dropped.
"""

from __future__ import annotations

from typing import Annotated, Literal

import pydantic

from server.analysis.inputs import AnalysisKind


class _Output(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="ignore")


Percent = Annotated[int, pydantic.Field(ge=0, le=100)]
Amount = Annotated[float, pydantic.Field(ge=0)]  # ILS


class RequestedDocument(_Output):
    """A document the claim needs; ``uploaded``/``document_id`` say whether the case already has it."""

    name: str = pydantic.Field(min_length=1)
    reason: str = ""
    source: str = ""
    required: bool = True
    uploaded: bool = False
    document_id: str | None = None


class CallAnalysis(_Output):
    """``call_analysis``: what the call tells about the claim."""

    call_summary: str
    case_summary: str
    documents_requested_list: list[RequestedDocument] = []
    key_legal_points: list[str] = []
    risk_assessment: Literal["High Viability", "Low Viability", "Needs More Info"]
    estimated_claim_amount: Amount = 0
    chance_of_approval: Percent = 0
    strength_score: Percent = 0
    products: list[str] = []
    monthly_allowance: Amount = 0
    degree_funding: Amount = 0
    living_expenses: Amount = 0
    income_tax_exemption: bool = False


class AgentDocumentAnalysis(_Output):
    """``document_analysis_agent``: the documents' support for the claim."""

    summary: str
    claim_strength: Percent
    eligibility_assessment: str = ""
    key_findings: list[str] = []
    recommended_claim_rate: Literal["50%", "66.7%", "75%", "100%"]
    strategy: str = ""
    recommendations: list[str] = []
    gaps: list[str] = []


class PersonalInfo(_Output):
    """Form 7801 part: the claimant."""

    full_name: str | None = None
    id_number: str | None = None
    date_of_birth: str | None = None
    address: str | None = None
    phone: str | None = None
    email: str | None = None


class EmploymentEntry(_Output):
    """Form 7801 part: one employment period."""

    employer: str | None = None
    role: str | None = None
    start_date: str | None = None
    end_date: str | None = None
    monthly_salary: Amount | None = None


class Physician(_Output):
    """A treating physician."""

    name: str | None = None
    specialty: str | None = None
    clinic: str | None = None


class Hospitalization(_Output):
    """One hospital stay."""

    hospital: str | None = None
    department: str | None = None
    admission_date: str | None = None
    discharge_date: str | None = None
    reason: str | None = None


class DisabilityInfo(_Output):
    """Form 7801 part: the disabilities and their treatment."""

    disability_types: list[str] = []
    treating_physicians: list[Physician] = []
    hospitalizations: list[Hospitalization] = []


class BankDetails(_Output):
    """Form 7801 part: where the allowance is paid."""

    bank_name: str | None = None
    branch: str | None = None
    account_number: str | None = None
    account_holder: str | None = None


class MedicalWaiver(_Output):
    """Form 7801 part: the medical-confidentiality waiver."""

    signed: bool | None = None
    notes: str | None = None


class FormMetadata(_Output):
    """How complete the form is."""

    completion_percentage: Percent = 0


class Form7801(_Output):
    """National Insurance form 7801 (general disability claim), as far as the input supports it."""

    personal_info: PersonalInfo = pydantic.Field(default_factory=PersonalInfo)
    employment_history: list[EmploymentEntry] = []
    disability_info: DisabilityInfo = pydantic.Field(default_factory=DisabilityInfo)
    bank_details: BankDetails = pydantic.Field(default_factory=BankDetails)
    medical_waiver: MedicalWaiver = pydantic.Field(default_factory=MedicalWaiver)
    metadata: FormMetadata = pydantic.Field(default_factory=FormMetadata)


class PreparationItem(_Output):
    """Something to prepare for the medical committee, and what to say about it."""

    title: str
    detail: str = ""
    should_say: str = ""


class Form7801Analysis(_Output):
    """``document_analysis_form7801``: the filled form and the claim strategy."""

    form_7801: Form7801
    summary: str = ""
    strategy: str = ""
    claim_rate: str = ""
    recommendations: list[str] = []
    preparation_data: list[PreparationItem] = []


SCHEMAS: dict[AnalysisKind, type[pydantic.BaseModel]] = {
    AnalysisKind.CALL_ANALYSIS: CallAnalysis,
    AnalysisKind.DOCUMENT_ANALYSIS_AGENT: AgentDocumentAnalysis,
    AnalysisKind.DOCUMENT_ANALYSIS_FORM7801: Form7801Analysis,
}
