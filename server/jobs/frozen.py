"""Finished jobs in the form the memory store keeps them: one flat tuple of atoms with the job's
public JSON already rendered (issue 19).

Why: a ``Job`` is a container the garbage collector tracks, so 100,000 stored jobs made every full
collection walk 100,000 objects and their fields (tens of milliseconds with the IOLoop stopped). A
tuple whose items are all untracked (strings, numbers, ``None``, datetimes, tuples of such) is untracked by
the collector at its first pass and never walked again. Any dict, even an untracked one, keeps its tuple
tracked (CPython's ``_PyTuple_MaybeUntrack`` asks only whether an item *may* be tracked), so the dicts
(metadata, params, progress params) are kept as tuples of their items; the status is kept as its string
value (an enum member is a tracked object), and the rendered answer replaces ``result_json`` (sliced back out
when the job is read), so a finished job costs no more memory than before and a poll of it encodes
nothing.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from typing import Any

from server.jobs.models import Job, JobStatus, job_json

Frozen = tuple[Any, ...]

_NAMES = tuple(spec.name for spec in fields(Job))
_STATUS = _NAMES.index("status")
_RESULT = _NAMES.index("result_json")
_RENDERED = _NAMES.index("rendered")
_JOB_TYPE = _NAMES.index("job_type")
_OWNER = _NAMES.index("owner_id")
_METADATA = _NAMES.index("metadata")
_COMPLETED_AT = _NAMES.index("completed_at")
_NUMBER = _NAMES.index("number")
_DICTS = tuple(_NAMES.index(name) for name in ("metadata", "params", "progress_params"))
_STATUSES = {status.value: status for status in JobStatus}


def freeze(job: Job) -> Frozen:
    """The stored form of a finished job (see the module docstring); ``thaw`` gives the job back."""
    values = [getattr(job, name) for name in _NAMES]
    rendered = job_json(job)
    values[_STATUS] = job.status.value
    # Where the result starts in the answer (it is its last member), instead of a second copy of it.
    values[_RESULT] = None if job.result_json is None else len(rendered) - len(job.result_json) - 1
    values[_RENDERED] = rendered
    for index in _DICTS:
        if values[index] is not None:
            values[index] = tuple(values[index].items())
    return tuple(values)


def thaw(record: Frozen) -> Job:
    """The ``Job`` of a stored record, ``rendered`` set (answers use it without encoding)."""
    values = list(record)
    values[_STATUS] = _STATUSES[record[_STATUS]]
    start = record[_RESULT]
    if start is not None:
        values[_RESULT] = record[_RENDERED][start:-1]
    for index in _DICTS:
        if values[index] is not None:
            values[index] = dict(values[index])
    return Job(*values)


def owner_of(record: Frozen) -> str:
    """The owner id of a stored record."""
    return record[_OWNER]  # type: ignore[no-any-return]


def completed_at(record: Frozen) -> datetime | None:
    """When the job of a stored record finished."""
    return record[_COMPLETED_AT]  # type: ignore[no-any-return]


def number_of(record: Frozen) -> int:
    """The creation number of a stored record."""
    return record[_NUMBER]  # type: ignore[no-any-return]


def passes(record: Frozen, status: JobStatus | None, job_type: str | None,
           metadata: tuple[tuple[str, str], ...]) -> bool:
    """``JobQuery.matches`` on a stored record, without thawing it (``metadata``: required key/value pairs)."""
    if status is not None and record[_STATUS] != status.value:
        return False
    if job_type is not None and record[_JOB_TYPE] != job_type:
        return False
    if not metadata:
        return True
    stored = dict(record[_METADATA])
    return all(stored.get(key) == value for key, value in metadata)
