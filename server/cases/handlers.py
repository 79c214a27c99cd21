"""Case endpoints: ``/cases``, ``/cases/{id}``, ``/cases/{id}/call-details`` and the documents."""

from __future__ import annotations

from server.cases.access import CASE_NOT_FOUND, visible_case
from server.cases.models import CallDetails, Case, CaseCreate, case_summary_view, case_view, document_view
from server.cases.service import CaseServices
from server.cases.views import CaseList
from server.error_codes import ErrorCode
from server.errors import NotFound
from server.ids import parse_uuid
from server.pagination import decode_cursor, encode_cursor
from server.web import ApiHandler, WebServices

MAX_PAGE = 200


class CaseHandlerBase(ApiHandler):
    """Shared helpers: the case services and the visible-case lookup. Routed only when cases are configured."""

    cases: CaseServices

    def initialize(self, services: WebServices, cases: CaseServices) -> None:  # type: ignore[override]
        """``cases``: the case repository, extractor and settings (from the route table)."""
        super().initialize(services)
        self.cases = cases

    async def load_case(self, raw_id: str) -> Case:
        """The case the caller may see, or the 404 an unknown case gets."""
        return await visible_case(self.cases.repository, self.principal, raw_id)

    def created(self, location: str, body: dict) -> None:
        """Answer 201 with ``Location``."""
        self.set_header("Location", location)
        self.write_json(body, 201)

    def no_content(self) -> None:
        """Answer 204."""
        self.set_status(204)
        self.clear_header("Content-Type")
        self.finish()


class CaseListHandler(CaseHandlerBase):
    """``GET /cases`` (the caller's, admins all; newest first; ``limit``/``cursor``) and ``POST /cases``."""

    async def get(self) -> None:
        page = await self.cases.repository.list_cases(
            None if self.principal.is_admin else self.principal.user_id,
            decode_cursor(self.get_query_argument("cursor", None)),
            self.query_int("limit", 50, minimum=1, maximum=MAX_PAGE,
                           code=ErrorCode.INVALID_LIMIT))
        self.write_json(CaseList.model_validate({
            "cases": [case_summary_view(case) for case in page.cases],
            "count": len(page.cases),
            "next_cursor": encode_cursor(page.next_before) if page.next_before is not None else None,
        }).model_dump(mode="json"))

    async def post(self) -> None:
        body = self.json_body(CaseCreate)
        details = (body.call_details or CallDetails()).model_dump()
        case = await self.cases.repository.create_case(self.principal.user_id, body.title, details)
        self.created(f"/cases/{case.case_id}", case_view(case))


class CaseHandler(CaseHandlerBase):
    """``GET /cases/{id}`` (the full case) and ``DELETE /cases/{id}`` (with its documents)."""

    async def get(self, raw_id: str) -> None:
        self.write_json(case_view(await self.load_case(raw_id)))

    async def delete(self, raw_id: str) -> None:
        case = await self.load_case(raw_id)
        if not await self.cases.repository.delete_case(case.case_id):
            raise NotFound(CASE_NOT_FOUND, code=ErrorCode.NOT_FOUND)
        self.no_content()


class CallDetailsHandler(CaseHandlerBase):
    """``PUT /cases/{id}/call-details``: replace ``{transcript, messages}``; answers the case."""

    async def put(self, raw_id: str) -> None:
        body = self.json_body(CallDetails)
        case = await self.load_case(raw_id)
        updated = await self.cases.repository.update_call_details(case.case_id, body.model_dump())
        if updated is None:
            raise NotFound(CASE_NOT_FOUND, code=ErrorCode.NOT_FOUND)
        self.write_json(case_view(updated))


class DocumentHandler(CaseHandlerBase):
    """``GET /cases/{id}/documents/{doc}`` (with its text) and ``DELETE`` (204)."""

    async def get(self, raw_case_id: str, raw_document_id: str) -> None:
        case = await self.load_case(raw_case_id)
        document = await self.cases.repository.get_document(case.case_id, parse_uuid(raw_document_id, "document"))
        if document is None:
            raise NotFound("Document not found", code=ErrorCode.NOT_FOUND)
        self.write_json(document_view(document, with_text=True))

    async def delete(self, raw_case_id: str, raw_document_id: str) -> None:
        case = await self.load_case(raw_case_id)
        if not await self.cases.repository.delete_document(case.case_id, parse_uuid(raw_document_id, "document")):
            raise NotFound("Document not found", code=ErrorCode.NOT_FOUND)
        self.no_content()
