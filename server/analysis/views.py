"""Response model of the three analysis endpoints (the OpenAPI document's schema)."""

from __future__ import annotations

from typing import Literal

import pydantic


class AnalysisAccepted(pydantic.BaseModel):
    """The 202 answer (JOB_QUEUE_API.md, "Create Analysis Job"): poll ``poll_url`` for the job.

    ``documents_count`` appears for the two document analyses; ``deduplicated`` when a job for the
    same case and analysis was already pending or running and is returned instead of a new one.
    """

    status: Literal["accepted"] = "accepted"
    job_id: str
    message: str
    poll_url: str = pydantic.Field(description="/jobs/{job_id}")
    documents_count: int | None = pydantic.Field(default=None, ge=0,
                                                 description="Readable documents the analysis will read.")
    deduplicated: bool | None = pydantic.Field(default=None, description="Present (true) for an existing job.")

    def json_dict(self) -> dict[str, object]:
        """The answer body: absent fields are left out, not null."""
        return self.model_dump(mode="json", exclude_none=True)
