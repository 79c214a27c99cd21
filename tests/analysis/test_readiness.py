"""The filing readiness rule of Form 7801 (server/analysis/readiness.py)."""

from __future__ import annotations

import copy

from server.analysis.readiness import MIN_COMPLETION_PERCENT, REQUIRED_FIELDS, filing_readiness
from tests.analysis.doubles import complete_form


def test_readiness_complete_form_at_the_threshold_is_ready():
    verdict = filing_readiness(complete_form(MIN_COMPLETION_PERCENT))
    assert verdict["ready"] is True and verdict["missing_required_fields"] == []
    assert verdict["required_fields"] == list(REQUIRED_FIELDS)


def test_readiness_below_the_threshold_is_not_ready_even_with_every_field():
    assert filing_readiness(complete_form(MIN_COMPLETION_PERCENT - 1))["ready"] is False


def test_readiness_blank_text_and_an_unsigned_waiver_count_as_missing():
    form = copy.deepcopy(complete_form(100))
    form["form_7801"]["personal_info"]["id_number"] = "   "
    form["form_7801"]["medical_waiver"]["signed"] = False
    verdict = filing_readiness(form)
    assert verdict["ready"] is False
    assert verdict["missing_required_fields"] == ["personal_info.id_number", "medical_waiver.signed"]


def test_readiness_of_a_malformed_analysis_is_not_ready():
    verdict = filing_readiness({})
    assert verdict["ready"] is False and verdict["completion_percentage"] == 0
    assert verdict["missing_required_fields"] == list(REQUIRED_FIELDS)
