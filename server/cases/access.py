"""Who may see which case; another user's case answers exactly like an unknown one."""

from __future__ import annotations

from server.cases.models import Case
from server.cases.repository import CaseRepository
from server.error_codes import ErrorCode
from server.errors import NotFound
from server.ids import parse_uuid
from server.principal import Principal

CASE_NOT_FOUND = "Case not found"



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
