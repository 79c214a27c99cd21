"""A ``multipart/form-data`` upload received as it streams in: the ``file`` part goes straight to a
temporary file, the small text fields stay in memory. Parsing is python-multipart's streaming
``MultipartParser`` (the parser Starlette and FastAPI use), fed chunk by chunk.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from typing import IO

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from server.error_codes import ErrorCode
from server.errors import InvalidInput

FILE_FIELD = "file"
MAX_FIELD_BYTES = 1024  # a text field (``document_type``) longer than this is not one we know


@dataclass(frozen=True)
class ReceivedUpload:
    """The parsed form: the file at ``path`` (``size_bytes`` long, as the client named it) and the text fields."""

    path: str
    file_name: str | None
    size_bytes: int
    fields: dict[str, bytes]


def _malformed() -> InvalidInput:
    return InvalidInput("The multipart body is malformed", code=ErrorCode.MALFORMED_MULTIPART)


class MultipartReceiver:
    """Feed it the body's chunks (``feed``), then ``finish``; ``discard`` deletes the temporary file.

    Args:
        content_type: the request's ``Content-Type`` header (it carries the boundary).

    Raises:
        InvalidInput: ``malformed_multipart`` without a boundary or when the body does not parse;
            ``missing_file`` unless exactly one ``file`` part arrives.
    """

    def __init__(self, content_type: str):
        _, options = parse_options_header(content_type)
        boundary = options.get(b"boundary")
        if not boundary:
            raise _malformed()
        self._parser = MultipartParser(boundary, {
            "on_part_begin": self._part_begin, "on_header_field": self._header_field,
            "on_header_value": self._header_value, "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished, "on_part_data": self._part_data,
            "on_part_end": self._part_end, "on_end": self._end})
        self._name_buffer = bytearray()
        self._value_buffer = bytearray()
        self._disposition = b""
        self._field: str | None = None
        self._fields: dict[str, bytearray] = {}
        self._file: IO[bytes] | None = None
        self._file_parts = 0
        self._file_name: str | None = None
        self._path: str | None = None
        self._size = 0
        self._ended = False

    def feed(self, chunk: bytes) -> None:
        """Parse the next ``chunk`` of the body, writing file bytes to the temporary file."""
        try:
            self._parser.write(chunk)
        except MultipartParseError:
            raise _malformed() from None

    def finish(self) -> ReceivedUpload:
        """The completed form (the body has ended)."""
        try:
            self._parser.finalize()
        except MultipartParseError:
            raise _malformed() from None
        if not self._ended:
            raise _malformed()
        if self._file_parts != 1 or self._path is None:
            raise InvalidInput("Send exactly one file in the multipart field 'file'", code=ErrorCode.MISSING_FILE)
        return ReceivedUpload(self._path, self._file_name, self._size,
                              {name: bytes(value) for name, value in self._fields.items()})

    def discard(self) -> None:
        """Close and delete the temporary file (idempotent)."""
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._path is not None:
            os.unlink(self._path)
            self._path = None

    def _part_begin(self) -> None:
        self._disposition = b""
        self._field = None

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._name_buffer += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value_buffer += data[start:end]

    def _header_end(self) -> None:
        if bytes(self._name_buffer).strip().lower() == b"content-disposition":
            self._disposition = bytes(self._value_buffer)
        self._name_buffer.clear()
        self._value_buffer.clear()

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        name = options.get(b"name", b"").decode("utf-8", "replace")
        if name == FILE_FIELD and b"filename" in options:
            self._file_parts += 1
            if self._file_parts == 1:
                handle, self._path = tempfile.mkstemp(prefix="upload-", suffix=".part")
                self._file = os.fdopen(handle, "wb")
                self._file_name = options[b"filename"].decode("utf-8", "replace")
        elif name:
            self._field = name
            self._fields.setdefault(name, bytearray())

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._field is not None:
            value = self._fields[self._field]
            if len(value) + end - start > MAX_FIELD_BYTES:
                raise MultipartParseError(f"field {self._field} is too long")
            value += data[start:end]
        elif self._file is not None:
            self._file.write(data[start:end])
            self._size += end - start

    def _part_end(self) -> None:
        if self._field is None and self._file is not None:
            self._file.close()
            self._file = None
        self._field = None

    def _end(self) -> None:
        self._ended = True
