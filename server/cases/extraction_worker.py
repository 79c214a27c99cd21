"""The body of an extraction worker process: read a file, extract its text, answer one message.

Runs in a child process started by ``server.cases.extraction_pool``, with its address space capped
(``RLIMIT_AS``) so a file that needs too much memory fails here with ``MemoryError`` instead of
growing the server. Answers are plain tuples so the parent never unpickles an exception object:

- ``("ok", Extracted, "", retire)``: ``retire`` is ``RETIRE`` when this worker's peak memory came
  near its cap (the pool replaces it), else empty
- ``("error", kind, detail, code)``: ``kind`` is ``"Unprocessable"`` or ``"UnsupportedMediaType"``
- ``("too_costly", None, "", "")``: the memory cap was reached
"""

from __future__ import annotations

import logging
import signal
from multiprocessing.connection import Connection
from typing import Any

# Imported here, not lazily: the forkserver preloads this module once, so every worker starts warm.
import server.cases.docx_text  # noqa: F401
import server.cases.pdf_text  # noqa: F401
from server.cases.extraction import extract
from server.cases.memory_cap import limit_memory, near_cap
from server.error_codes import ErrorCode
from server.errors import Unprocessable, UnsupportedMediaType

log = logging.getLogger(__name__)

RETIRE = "retire"
TOO_DEEP = ("The document is nested too deeply to be read (tables or objects inside each other thousands of "
            "levels down); save it again from its editor or as PDF and upload that", "document_too_complex")
UNREADABLE = ("The file could not be read; save it again from its editor (or as PDF) and upload that",
              "unreadable_file")


def serve(connection: Connection, memory_bytes: int) -> None:
    """Answer extraction requests (a file path each) on ``connection`` until it closes.

    Args:
        connection: the worker's end of a duplex pipe; receives a path, sends one answer tuple.
        memory_bytes: the worker's address-space cap, bytes (``RLIMIT_AS``; 0 means no cap).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group; the server stops us
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    limit_memory(memory_bytes)
    while True:
        try:
            path = connection.recv()
        except (EOFError, OSError):
            return
        answer = run(path)
        try:
            connection.send(answer)
        except MemoryError:
            connection.send(("too_costly", None, "", ""))
        except (BrokenPipeError, OSError):
            return


def run(path: str) -> tuple[str, Any, str, str]:
    """Extract the file at ``path``; one answer tuple (see the module docstring)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
        result = extract(data)
        # A worker whose peak came near its cap is retired, so its next file is judged afresh.
        return ("ok", result, "", RETIRE if near_cap() else "")
    except MemoryError:
        return ("too_costly", None, "", "")
    except RecursionError:
        return ("error", "Unprocessable", *TOO_DEEP)
    except Unprocessable as error:
        if error.code == ErrorCode.CORRUPT_FILE and near_cap():  # a parser that failed for want of memory
            return ("too_costly", None, "", "")
        return ("error", "Unprocessable", error.detail, error.code)
    except UnsupportedMediaType as error:
        return ("error", "UnsupportedMediaType", error.detail, error.code)
    except Exception as error:  # a library bug on a hostile file: a clear 422, never a 500  # noqa: BLE001
        if near_cap():
            return ("too_costly", None, "", "")
        log.info("extraction failed: %s", type(error).__name__)
        return ("error", "Unprocessable", *UNREADABLE)
