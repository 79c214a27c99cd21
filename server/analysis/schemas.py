"""Output schemas of the three analyses (issue 4, "Output schemas").

Every model is compatible with OpenAI strict structured outputs and Anthropic JSON outputs: all
fields are required, no extra keys (``extra="forbid"``), no open dictionaries. A value the input
does not support is an empty string, an empty list or ``null`` (where the type is Optional);
nothing is invented. Amounts are in Israeli shekels (ILS).

Scores, ratings and estimates are Optional: ``null`` means "not assessed" (the offline demo
analyzer never assesses them; a model leaves them null when the inputs do not support them).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Percent = Annotated[int, Field(ge=0, le=100)]
"""An integer percentage, 0 to 100."""


class _Strict(BaseModel):
    """Base: unknown keys are rejected, so a schema drift surfaces as ``invalid_output``."""

    model_config = ConfigDict(extra="forbid")


# --- call_analysis -------------------------------------------------------------------------


class RequestedDocument(_Strict):
    """A document the claimant should provide (item of ``documents_requested_list``)."""

    name: str = Field(description="Document name, e.g. 'Medical summary from treating physician'.")
    reason: str = Field(description="Why the claim needs it.")
    source: str = Field(description="Who issues it, e.g. 'Treating physician', 'Employer'.")
    required: bool = Field(description="True if the claim cannot proceed without it.")
    uploaded: bool = Field(description="True if the case already holds this document.")
    document_type: str = Field(description=(
        "The case document type that satisfies this request: medical_report, pay_slip, identity, "
        "employment, bank, legal, general or other; empty if none fits."))


class CallAnalysis(_Strict):
    """The ``analysis`` object of a ``call_analysis`` result (issue 4)."""

    call_summary: str = Field(description="Summary of the call.")
    case_summary: str = Field(description="Summary of the claimant's case.")
    documents_requested_list: list[RequestedDocument]
    key_legal_points: list[str]
    risk_assessment: Literal["High Viability", "Low Viability", "Needs More Info"] | None = Field(
        description="null if not assessed.")
    estimated_claim_amount: float | None = Field(
        description="Estimated total claim amount in ILS (not a salary); null if not estimated.")
    chance_of_approval: Percent | None = Field(description="0-100; null if not assessed.")
    strength_score: Percent | None = Field(description="0-100; null if not assessed.")
    products: list[str] = Field(description="Benefits/products the claimant may be entitled to.")
    monthly_allowance: float = Field(description="Expected monthly allowance in ILS; 0 if unknown.")
    degree_funding: float = Field(description="Degree/studies funding in ILS; 0 if unknown.")
    living_expenses: float = Field(description="Living expenses support in ILS; 0 if unknown.")
    income_tax_exemption: bool


# --- document_analysis_agent ---------------------------------------------------------------


class AgentDocumentAnalysis(_Strict):
    """The ``analysis`` object of a ``document_analysis_agent`` result (issue 4)."""

    summary: str
    claim_strength: Percent | None = Field(description="0-100; null if not assessed.")
    eligibility_assessment: str
    key_findings: list[str]
    recommended_claim_rate: Literal["50%", "66.7%", "75%", "100%"] | None = Field(
        description="null if not assessed.")
    strategy: str
    recommendations: list[str]
    gaps: list[str] = Field(description="Missing evidence or documents.")


# --- document_analysis_form7801 ------------------------------------------------------------


class PersonalInfo(_Strict):
    """Section 1 of Form 7801: the claimant. Empty strings where the documents say nothing."""

    full_name: str
    id_number: str
    date_of_birth: str = Field(description="ISO date (YYYY-MM-DD) or empty.")
    gender: str
    marital_status: str
    address: str
    phone: str
    email: str


class EmploymentEntry(_Strict):
    """One employment period of the claimant."""

    employer: str
    position: str
    start_date: str = Field(description="ISO date or empty.")
    end_date: str = Field(description="ISO date, empty if ongoing or unknown.")
    monthly_salary: float | None = Field(description="Gross monthly salary in ILS, null if unknown.")


class TreatingPhysician(_Strict):
    """A physician treating the claimant."""

    name: str
    specialty: str
    clinic: str


class Hospitalization(_Strict):
    """A hospital stay."""

    hospital: str
    department: str
    admission_date: str = Field(description="ISO date or empty.")
    discharge_date: str = Field(description="ISO date or empty.")
    reason: str


class DisabilityInfo(_Strict):
    """The medical part of Form 7801."""

    disability_types: list[str]
    description: str
    onset_date: str = Field(description="ISO date or empty.")
    treating_physicians: list[TreatingPhysician]
    hospitalizations: list[Hospitalization]
    medications: list[str]


class BankDetails(_Strict):
    """Where the allowance is paid."""

    bank_name: str
    branch_number: str
    account_number: str
    account_holder: str


class MedicalWaiver(_Strict):
    """Consent to release medical information to the National Insurance Institute."""

    signed: bool | None = Field(description="null if the documents do not say.")
    signature_date: str = Field(description="ISO date or empty.")
    notes: str


class FormMetadata(_Strict):
    """How complete the prepared form is."""

    completion_percentage: Percent
    missing_fields: list[str]
    source_documents: list[str] = Field(description="Which input documents were used (by index/type).")


class Form7801(_Strict):
    """Form 7801 (National Insurance disability claim), as far as the documents support it."""

    personal_info: PersonalInfo
    employment_history: list[EmploymentEntry]
    disability_info: DisabilityInfo
    bank_details: BankDetails
    medical_waiver: MedicalWaiver
    metadata: FormMetadata


class PreparationItem(_Strict):
    """Advice for the medical committee: what it is, and what the claimant should say."""

    title: str
    detail: str
    should_say: str


class Form7801Analysis(_Strict):
    """The ``analysis`` object of a ``document_analysis_form7801`` result (issue 4)."""

    form_7801: Form7801
    summary: str
    strategy: str
    claim_rate: str = Field(description="Recommended claim rate, e.g. '75%'; empty if unknown.")
    recommendations: list[str]
    preparation_data: list[PreparationItem]
