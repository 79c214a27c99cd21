"""Who may see which case; another user's case answers exactly like an unknown one."""

from __future__ import annotations

import uuid

from server.auth import Principal
from server.cases.models import Case
from server.cases.repository import CaseRepository
from server.error_codes import ErrorCode
from server.errors import InvalidInput, NotFound

CASE_NOT_FOUND = "Case not found"
_INVALID_ID = {"case": ErrorCode.INVALID_CASE_ID, "document": ErrorCode.INVALID_DOCUMENT_ID}


def parse_uuid(raw: str, what: str) -> str:
    """Validate a UUID from a URL and return its canonical form; ``what`` is ``case`` or ``document``.

    Raises:
        InvalidInput: ``code="invalid_<what>_id"``.
    """
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        raise InvalidInput(f"{what.capitalize()} id must be a UUID", code=_INVALID_ID[what]) from None


def can_see(principal: Principal, case: Case) -> bool:
    """Owners see their cases; admins see all."""
    return principal.is_admin or case.owner_id == principal.user_id


async def visible_case(repository: CaseRepository, principal: Principal, raw_id: str) -> Case:
    """The case ``raw_id`` if ``principal`` may see it.

    Raises:
        InvalidInput: not a UUID.
        NotFound: unknown, or another user's (same body for both).
    """
    case = await repository.get_case(parse_uuid(raw_id, "case"))
    if case is None or not can_see(principal, case):
        raise NotFound(CASE_NOT_FOUND, code=ErrorCode.NOT_FOUND)
    return case
