"""Every error ``code`` the API and the jobs can return, in one table (issue 12).

``ErrorCode`` names each code; ``CODES`` gives each its HTTP statuses (none for a code only a job
ends with), a user-safe English summary (the README's error table and the OpenAPI document say the
same), the ``error`` text a job stores when it ends ``failed`` with it, and the page's English and
Hebrew sentences: ``job_page`` for a job that failed with the code, ``request_page`` for a request
answered with it. ``python -m server.error_codes`` writes the page's copy of the codes and
sentences, ``server/static/js/error-codes.js``; a test fails when that file, the README's table or the
OpenAPI document disagrees with this module.

Nothing here holds personal data: these texts are shown to anyone.
"""

from __future__ import annotations

import argparse
import enum
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

PAGE_CODES_FILE = Path(__file__).resolve().parent / "static" / "js" / "error-codes.js"


class _StrEnum(str, enum.Enum):
    """``enum.StrEnum`` for Python 3.10 too: a member is its value as a string (``str()``,
    f-strings, JSON), so it can go wherever the code string went."""

    __str__ = str.__str__
    __format__ = str.__format__  # type: ignore[assignment]


@dataclass(frozen=True)
class PageText:
    """One sentence of the page, in both of its languages."""

    en: str
    he: str


@dataclass(frozen=True)
class CodeInfo:
    """What one code means.

    Attributes:
        summary: user-safe English sentence: when the code is given (README, OpenAPI).
        statuses: the HTTP statuses answered with it (first: the usual one); empty for a code only
            a job's ``error_code`` carries.
        any_route: True for an answer any route may give (documented once, not per operation).
        job_message: the job's ``error`` text when it ends ``failed`` with this code; None for a
            code no job ends with.
        job_variants: other ``error`` texts of the same code, by name (``ErrorCode.job_error``).
        job_page: the page's sentence for a job that failed with this code (what to do next).
        request_page: the page's sentence for a request answered with this code; None: the page
            shows the server's ``detail`` (English) or a generic sentence.
    """

    summary: str
    statuses: tuple[int, ...] = ()
    any_route: bool = False
    job_message: str | None = None
    job_variants: Mapping[str, str] = field(default_factory=dict)
    job_page: PageText | None = None
    request_page: PageText | None = None


class ErrorCode(_StrEnum):
    """A machine ``code``: of an error answer (``{"detail", "code"}``) or a failed job's ``error_code``."""

    BAD_REQUEST = "bad_request"
    QUERY_VALUE_TOO_LONG = "query_value_too_long"
    MALFORMED_JSON = "malformed_json"
    INVALID_BODY = "invalid_body"
    INVALID_JOB_ID = "invalid_job_id"
    INVALID_CASE_ID = "invalid_case_id"
    INVALID_DOCUMENT_ID = "invalid_document_id"
    INVALID_WAIT = "invalid_wait"
    INVALID_SINCE = "invalid_since"
    INVALID_UNTIL = "invalid_until"
    INVALID_IF_NONE_MATCH = "invalid_if_none_match"
    INVALID_STATUS = "invalid_status"
    INVALID_JOB_TYPE = "invalid_job_type"
    INVALID_LIMIT = "invalid_limit"
    INVALID_CURSOR = "invalid_cursor"
    MALFORMED_MULTIPART = "malformed_multipart"
    MISSING_FILE = "missing_file"
    INVALID_DOCUMENT_TYPE = "invalid_document_type"
    UNKNOWN_FIELD = "unknown_field"
    INVALID_IDEMPOTENCY_KEY = "invalid_idempotency_key"
    NO_TRANSCRIPT = "no_transcript"
    NO_DOCUMENTS = "no_documents"
    NO_INPUT = "no_input"
    INVALID_TOKEN = "invalid_token"  # noqa: S105  # a code, not a password
    CORS_ORIGIN_NOT_ALLOWED = "cors_origin_not_allowed"
    NOT_FOUND = "not_found"
    EXPIRED = "expired"
    SERVER_RESTARTED = "server_restarted"
    NO_ROUTE = "no_route"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    ALREADY_FINISHED = "already_finished"
    IDEMPOTENCY_KEY_IN_USE = "idempotency_key_in_use"
    INVALID_TRANSITION = "invalid_transition"
    CURSOR_EXPIRED = "cursor_expired"
    BODY_TOO_LARGE = "body_too_large"
    FILE_TOO_LARGE = "file_too_large"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    UNSUPPORTED_CONTENT_TYPE = "unsupported_content_type"
    UNSUPPORTED_FILE_TYPE = "unsupported_file_type"
    EMPTY_FILE = "empty_file"
    CORRUPT_FILE = "corrupt_file"
    ENCRYPTED_FILE = "encrypted_file"
    TRUNCATED_FILE = "truncated_file"
    DOCX_TOO_LARGE = "docx_too_large"
    EXTRACTION_FAILED = "extraction_failed"
    EXTRACTION_TOO_COSTLY = "extraction_too_costly"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    TOO_MANY_ACTIVE_JOBS = "too_many_active_jobs"
    TOO_MANY_WAITS = "too_many_waits"
    TOO_MANY_EXTRACTIONS = "too_many_extractions"
    INTERNAL = "internal"
    SHUTTING_DOWN = "shutting_down"
    STORE_FULL = "store_full"
    STORE_UNAVAILABLE = "store_unavailable"
    STORE_CLOSED = "store_closed"
    DATABASE_UNAVAILABLE = "database_unavailable"
    OVERLOADED = "overloaded"
    HTTP_ERROR = "http_error"
    CANCELLED = "cancelled"
    TIMEOUT = "timeout"
    INTERRUPTED = "interrupted"
    CASE_DELETED = "case_deleted"
    PROVIDER_UNAVAILABLE = "provider_unavailable"
    RATE_LIMITED = "rate_limited"
    INVALID_OUTPUT = "invalid_output"
    REFUSED = "refused"
    PROVIDER_AUTH = "provider_auth"
    PROVIDER_REJECTED = "provider_rejected"
    @property
    def info(self) -> CodeInfo:
        """This code's row of ``CODES``."""
        return CODES[self]

    def job_error(self, variant: str | None = None) -> str:
        """The ``error`` text of a job that ends with this code (or with its named ``variant``).

        Raises:
            KeyError: the code is not one a job ends with, or it has no such variant.
        """
        info = CODES[self]
        if variant is not None:
            return info.job_variants[variant]
        if info.job_message is None:
            raise KeyError(f"{self.value} is not a job error code")
        return info.job_message


CODES: dict[ErrorCode, CodeInfo] = {
    ErrorCode.BAD_REQUEST: CodeInfo(
        "The request is malformed (Tornado's own check, e.g. a bad header).",
        statuses=(400,),
        any_route=True),
    ErrorCode.QUERY_VALUE_TOO_LONG: CodeInfo(
        "A query value is longer than 1,024 bytes.",
        statuses=(400,),
        any_route=True),
    ErrorCode.MALFORMED_JSON: CodeInfo(
        "The request body is not valid JSON.",
        statuses=(400,)),
    ErrorCode.INVALID_BODY: CodeInfo(
        "A JSON body field is unknown or has the wrong shape (the detail names the fields).",
        statuses=(400,)),
    ErrorCode.INVALID_JOB_ID: CodeInfo(
        "The job id is not a UUID.",
        statuses=(400,)),
    ErrorCode.INVALID_CASE_ID: CodeInfo(
        "The case id is not a UUID.",
        statuses=(400,)),
    ErrorCode.INVALID_DOCUMENT_ID: CodeInfo(
        "The document id is not a UUID.",
        statuses=(400,)),
    ErrorCode.INVALID_WAIT: CodeInfo(
        "`wait` is not a number of seconds above 0 and at most `LONGPOLL_MAX_SECONDS`.",
        statuses=(400,)),
    ErrorCode.INVALID_SINCE: CodeInfo(
        "`since` (or `Last-Event-ID`) is not a version or change-feed cursor this server issued.",
        statuses=(400,)),
    ErrorCode.INVALID_UNTIL: CodeInfo(
        "`until` is not `finished`.",
        statuses=(400,)),
    ErrorCode.INVALID_IF_NONE_MATCH: CodeInfo(
        "An `If-None-Match` version has more digits than any version.",
        statuses=(400,)),
    ErrorCode.INVALID_STATUS: CodeInfo(
        "The `status` filter is not pending, running, completed or failed.",
        statuses=(400,)),
    ErrorCode.INVALID_JOB_TYPE: CodeInfo(
        "The `job_type` filter is not a job type of this server.",
        statuses=(400,)),
    ErrorCode.INVALID_LIMIT: CodeInfo(
        "`limit` is not an integer from 1 to 200.",
        statuses=(400,)),
    ErrorCode.INVALID_CURSOR: CodeInfo(
        "The page `cursor` is not one this server issued.",
        statuses=(400,)),
    ErrorCode.MALFORMED_MULTIPART: CodeInfo(
        "The multipart upload body is malformed.",
        statuses=(400,)),
    ErrorCode.MISSING_FILE: CodeInfo(
        "The upload does not carry exactly one file in the field `file`.",
        statuses=(400,)),
    ErrorCode.INVALID_DOCUMENT_TYPE: CodeInfo(
        "`document_type` is not one of the document types.",
        statuses=(400,)),
    ErrorCode.UNKNOWN_FIELD: CodeInfo(
        "The upload has a multipart field other than `file` and `document_type`.",
        statuses=(400,)),
    ErrorCode.INVALID_IDEMPOTENCY_KEY: CodeInfo(
        "The `Idempotency-Key` is not 1-255 printable ASCII characters.",
        statuses=(400,)),
    ErrorCode.NO_TRANSCRIPT: CodeInfo(
        "The case has no call transcript to analyse.",
        statuses=(400,),
        job_message="The case no longer has a call transcript; nothing was analysed.",
        job_page=PageText(
            "The case no longer has a call transcript. Add the transcript, then press Retry.",
            "לתיק כבר אין תמליל שיחה. הוסיפו תמליל ולחצו על „ניסיון חוזר”."),
        request_page=PageText(
            "The case has no call transcript to analyse. Add one first.",
            "אין בתיק תמליל שיחה לניתוח. הוסיפו תמליל תחילה.")),
    ErrorCode.NO_DOCUMENTS: CodeInfo(
        "The case has no document with readable text.",
        statuses=(400,),
        job_message="The case no longer has a document with readable text; nothing was analysed.",
        job_page=PageText(
            "The case has no document with readable text. Upload a document with text (not a scan), "
            "then press Retry.",
            "אין בתיק מסמך עם טקסט קריא. העלו מסמך עם טקסט (לא סריקה) ולחצו על „ניסיון חוזר”."),
        request_page=PageText(
            "The case has no document with readable text. Upload one first.",
            "אין בתיק מסמך עם טקסט קריא. העלו מסמך תחילה.")),
    ErrorCode.NO_INPUT: CodeInfo(
        "The case has neither a call transcript nor a document with readable text.",
        statuses=(400,),
        job_message="The case no longer has a transcript or readable document; nothing was analysed.",
        job_page=PageText(
            "The case has neither a transcript nor a readable document. Add one, then press Retry.",
            "אין בתיק תמליל או מסמך קריא. הוסיפו אחד מהם ולחצו על „ניסיון חוזר”."),
        request_page=PageText(
            "The case has neither a call transcript nor a document with readable text.",
            "אין בתיק תמליל שיחה או מסמך עם טקסט קריא.")),
    ErrorCode.INVALID_TOKEN: CodeInfo(
        "The bearer token is missing, malformed, expired or not accepted by this server.",
        statuses=(401,)),
    ErrorCode.CORS_ORIGIN_NOT_ALLOWED: CodeInfo(
        "A cross-origin preflight from an origin not in `CORS_ORIGINS`.",
        statuses=(403,),
        any_route=True),
    ErrorCode.NOT_FOUND: CodeInfo(
        "No such resource, or another user's (the same answer, so ids cannot be probed).",
        statuses=(404,)),
    ErrorCode.EXPIRED: CodeInfo(
        "The job finished more than `JOB_TTL_SECONDS` ago and was removed.",
        statuses=(404,)),
    ErrorCode.SERVER_RESTARTED: CodeInfo(
        "The job was lost when the server restarted; submit it again.",
        statuses=(404,)),
    ErrorCode.NO_ROUTE: CodeInfo(
        "No such endpoint.",
        statuses=(404,),
        any_route=True),
    ErrorCode.METHOD_NOT_ALLOWED: CodeInfo(
        "The route does not answer this method (`Allow` lists those it does).",
        statuses=(405,),
        any_route=True),
    ErrorCode.ALREADY_FINISHED: CodeInfo(
        "The job had already finished; it cannot be cancelled.",
        statuses=(409,),
        request_page=PageText(
            "The analysis had already finished.",
            "הניתוח כבר הסתיים.")),
    ErrorCode.IDEMPOTENCY_KEY_IN_USE: CodeInfo(
        "A request with the same `Idempotency-Key` is still being processed.",
        statuses=(409,)),
    ErrorCode.INVALID_TRANSITION: CodeInfo(
        "The job changed state while the request ran; read it again.",
        statuses=(409,),
        any_route=True),
    ErrorCode.CURSOR_EXPIRED: CodeInfo(
        "The cursor is older than what is kept (or its last item was removed): list again.",
        statuses=(410,)),
    ErrorCode.BODY_TOO_LARGE: CodeInfo(
        "The JSON body is larger than `MAX_JSON_BODY_BYTES`.",
        statuses=(413,)),
    ErrorCode.FILE_TOO_LARGE: CodeInfo(
        "The uploaded file is larger than `MAX_UPLOAD_BYTES`.",
        statuses=(413,)),
    ErrorCode.PAYLOAD_TOO_LARGE: CodeInfo(
        "The request body is larger than the server accepts (Tornado's own limit).",
        statuses=(413,),
        any_route=True),
    ErrorCode.UNSUPPORTED_CONTENT_TYPE: CodeInfo(
        "The body's content type is not the one the route takes (JSON, or multipart for uploads).",
        statuses=(415,)),
    ErrorCode.UNSUPPORTED_FILE_TYPE: CodeInfo(
        "The file is not a PDF, a DOCX or UTF-8 text (legacy .doc, another ZIP, binary).",
        statuses=(415, 422)),
    ErrorCode.EMPTY_FILE: CodeInfo(
        "The uploaded file is empty.",
        statuses=(422,)),
    ErrorCode.CORRUPT_FILE: CodeInfo(
        "The PDF or DOCX is damaged and could not be read.",
        statuses=(422,)),
    ErrorCode.ENCRYPTED_FILE: CodeInfo(
        "The PDF or DOCX is password-protected.",
        statuses=(422,)),
    ErrorCode.TRUNCATED_FILE: CodeInfo(
        "The PDF is truncated (its end-of-file marker is missing).",
        statuses=(422,)),
    ErrorCode.DOCX_TOO_LARGE: CodeInfo(
        "The DOCX expands far beyond its size (a ZIP bomb) and was refused.",
        statuses=(422,)),
    ErrorCode.EXTRACTION_FAILED: CodeInfo(
        "Reading the file stopped the reader process; save the file again and upload that.",
        statuses=(422,)),
    ErrorCode.EXTRACTION_TOO_COSTLY: CodeInfo(
        "Reading the file would take more than `EXTRACTION_MEMORY_MB` or `EXTRACTION_TIMEOUT_SECONDS`.",
        statuses=(422,)),
    ErrorCode.IDEMPOTENCY_KEY_REUSED: CodeInfo(
        "The `Idempotency-Key` was used before for a different request.",
        statuses=(422,)),
    ErrorCode.TOO_MANY_ACTIVE_JOBS: CodeInfo(
        "The user already has `MAX_ACTIVE_JOBS_PER_USER` jobs pending or running.",
        statuses=(429,),
        request_page=PageText(
            "You already have many analyses running. Wait for one to finish.",
            "יש לכם כבר ניתוחים רבים בעבודה. המתינו שאחד מהם יסתיים.")),
    ErrorCode.TOO_MANY_WAITS: CodeInfo(
        "Too many open long-polls or streams: the user's `LONGPOLL_MAX_PER_USER` (429) or the "
        "server's `LONGPOLL_MAX_TOTAL` (503).",
        statuses=(429, 503)),
    ErrorCode.TOO_MANY_EXTRACTIONS: CodeInfo(
        "The user already has `EXTRACTION_PER_USER` documents being read.",
        statuses=(429,)),
    ErrorCode.INTERNAL: CodeInfo(
        "An error inside the server (details only in its log).",
        statuses=(500,),
        any_route=True,
        job_message="The job failed because of an internal error. Please try again later.",
        job_page=PageText(
            "The analysis failed because of an error on the server. Press Retry later; if it keeps "
            "failing, contact the administrator.",
            "הניתוח נכשל בגלל תקלה בשרת. נסו שוב מאוחר יותר; אם זה חוזר, פנו למנהל המערכת.")),
    ErrorCode.SHUTTING_DOWN: CodeInfo(
        "The server is shutting down or restarting; retry after `Retry-After`.",
        statuses=(503,),
        request_page=PageText(
            "The server is restarting. Try again in a moment.",
            "השרת מופעל מחדש. נסו שוב בעוד רגע.")),
    ErrorCode.STORE_FULL: CodeInfo(
        "The job store holds `MAX_STORED_JOBS` unfinished jobs.",
        statuses=(503,)),
    ErrorCode.STORE_UNAVAILABLE: CodeInfo(
        "The job store (Redis) cannot be reached.",
        statuses=(503,)),
    ErrorCode.STORE_CLOSED: CodeInfo(
        "The case store is closed (the server is stopping).",
        statuses=(503,)),
    ErrorCode.DATABASE_UNAVAILABLE: CodeInfo(
        "The case database cannot be reached.",
        statuses=(503,)),
    ErrorCode.OVERLOADED: CodeInfo(
        "The server has too many open connections (`MAX_CONNECTIONS`); the connection is closed.",
        statuses=(503,),
        any_route=True),
    ErrorCode.HTTP_ERROR: CodeInfo(
        "Any other HTTP error status Tornado answers by itself.",
        any_route=True),
    ErrorCode.CANCELLED: CodeInfo(
        "The job was cancelled (`POST /jobs/{id}/cancel`).",
        job_message="The job was cancelled.",
        job_page=PageText(
            "The analysis was cancelled. Press Retry to run it again.",
            "הניתוח בוטל. לחצו על „ניסיון חוזר” כדי להפעיל אותו שוב.")),
    ErrorCode.TIMEOUT: CodeInfo(
        "The job ran longer than `JOB_TIMEOUT_SECONDS` and was stopped.",
        job_message="The job took longer than its time limit and was stopped.",
        job_page=PageText(
            "The analysis took longer than its time limit and was stopped. Press Retry; if it happens"
            " again, try with fewer or shorter documents.",
            "הניתוח נמשך יותר מהזמן המותר והופסק. לחצו על „ניסיון חוזר”; אם זה חוזר, נסו עם פחות "
            "מסמכים או מסמכים קצרים יותר.")),
    ErrorCode.INTERRUPTED: CodeInfo(
        "The server stopped while the job ran (and, on a shared store, its second attempt was lost too).",
        job_message="The server restarted while the job was running. Please submit it again.",
        job_variants={
            "while_saving": "The server running the job stopped while saving its result; check whether it was "
                            "saved before submitting it again.",
        },
        job_page=PageText(
            "The server restarted while the analysis was running. Press Retry to run it again.",
            "השרת הופעל מחדש בזמן הניתוח. לחצו על „ניסיון חוזר” כדי להפעיל אותו שוב.")),
    ErrorCode.CASE_DELETED: CodeInfo(
        "The case was deleted before or during the analysis; nothing was saved.",
        job_message="The case was deleted before the analysis could run; nothing was analysed.",
        job_variants={
            "during": "The case was deleted while it was being analysed; nothing was saved.",
        },
        job_page=PageText(
            "The case was deleted, so nothing was analysed or saved. Open another case.",
            "התיק נמחק, ולכן דבר לא נותח ולא נשמר. פתחו תיק אחר.")),
    ErrorCode.PROVIDER_UNAVAILABLE: CodeInfo(
        "The language model's service failed (5xx, 408/409, no connection, no answer in "
        "`LLM_TIMEOUT_SECONDS`, an answer not in its format), or no provider is configured.",
        job_message="The analysis service is unavailable or did not answer in time. Please try again later.",
        job_variants={
            "no_provider": "No analysis provider is configured on this server.",
        },
        job_page=PageText(
            "The analysis service is unavailable or did not answer in time. Press Retry in a few minutes.",
            "שירות הניתוח אינו זמין או לא ענה בזמן. לחצו על „ניסיון חוזר” בעוד כמה דקות.")),
    ErrorCode.RATE_LIMITED: CodeInfo(
        "The language model's service answered 429 after the SDK's retries.",
        job_message="The analysis service is busy (rate limit reached). Please try again in a few minutes.",
        job_page=PageText(
            "The analysis service is busy. Wait a few minutes, then press Retry.",
            "שירות הניתוח עמוס. המתינו כמה דקות ולחצו על „ניסיון חוזר”.")),
    ErrorCode.INVALID_OUTPUT: CodeInfo(
        "The model's answer is not JSON, does not fit the schema, or was cut off by the token limit.",
        job_message="The analysis service returned an answer that could not be used. Please try again.",
        job_variants={
            "truncated": "The analysis was cut off because it grew too long. Please try again with fewer documents.",
            "unexpected_format": "The analysis service returned an answer in an unexpected format. Please try again.",
        },
        job_page=PageText(
            "The analysis service returned an answer that could not be used. Press Retry; if the "
            "input is long, try with fewer documents.",
            "שירות הניתוח החזיר תשובה שלא ניתן להשתמש בה. לחצו על „ניסיון חוזר”; אם הקלט ארוך, נסו עם פחות מסמכים.")),
    ErrorCode.REFUSED: CodeInfo(
        "The model declined to analyse the case.",
        job_message="The analysis service declined to analyse this case.",
        job_page=PageText(
            "The analysis service declined to analyse this case. Check the transcript and documents, "
            "or ask the administrator.",
            "שירות הניתוח סירב לנתח את התיק. בדקו את התמליל והמסמכים, או פנו למנהל המערכת.")),
    ErrorCode.PROVIDER_AUTH: CodeInfo(
        "The language model's service rejected the server's key (401/403).",
        job_message="The analysis service rejected the server's credentials. Please contact the administrator.",
        job_page=PageText(
            "The analysis service rejected the server's credentials. Contact the administrator.",
            "שירות הניתוח דחה את פרטי ההזדהות של השרת. פנו למנהל המערכת.")),
    ErrorCode.PROVIDER_REJECTED: CodeInfo(
        "The language model's service rejected the request (any other 4xx).",
        job_message="The analysis service rejected the request. Please contact the administrator.",
        job_page=PageText(
            "The analysis service rejected the request. Contact the administrator.",
            "שירות הניתוח דחה את הבקשה. פנו למנהל המערכת.")),}

JOB_CODES = tuple(code for code in ErrorCode if CODES[code].job_message is not None)
"""The codes a failed job's ``error_code`` can carry."""


def page_strings() -> dict[str, dict[str, str]]:
    """The page's sentences by language: ``jobError.<code>`` and ``apiError.<code>`` keys, the
    way ``server/static/js/strings.js`` names them."""
    strings: dict[str, dict[str, str]] = {"en": {}, "he": {}}
    for code, info in CODES.items():
        for prefix, text in (("jobError", info.job_page), ("apiError", info.request_page)):
            if text is not None:
                strings["en"][f"{prefix}.{code.value}"] = text.en
                strings["he"][f"{prefix}.{code.value}"] = text.he
    return strings


def page_module() -> str:
    """The text of ``server/static/js/error-codes.js``: the codes as constants and the page's sentences."""
    constants = ",\n".join(f"  {code.name}: {json.dumps(code.value)}" for code in ErrorCode)
    strings = json.dumps(page_strings(), ensure_ascii=False, indent=2)
    return (
        "// Generated by `python -m server.error_codes` from server/error_codes.py; do not edit by hand\n"
        "// (tests/test_error_codes.py fails when this file is out of date).\n\n"
        "/** Every error `code` of an API answer or a failed job's `error_code`. */\n"
        f"export const ERROR_CODES = Object.freeze({{\n{constants},\n}});\n\n"
        "/** The page's sentences for those codes, by language (merged into strings.js). */\n"
        f"export const ERROR_STRINGS = {strings};\n"
    )


def main(argv: list[str] | None = None) -> int:
    """Write ``server/static/js/error-codes.js`` (``--check``: exit 1 when it is out of date instead)."""
    parser = argparse.ArgumentParser(prog="python -m server.error_codes", description=main.__doc__)
    parser.add_argument("--check", action="store_true", help="only check that the file is up to date")
    args = parser.parse_args(argv)
    text = page_module()
    if args.check:
        current = PAGE_CODES_FILE.read_text(encoding="utf-8") if PAGE_CODES_FILE.exists() else ""
        if current != text:
            print(f"{PAGE_CODES_FILE} is out of date: run python -m server.error_codes", file=sys.stderr)
            return 1
        return 0
    PAGE_CODES_FILE.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
