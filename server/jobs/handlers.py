"""Job endpoints: ``GET /jobs`` (list and change feed), ``GET /jobs/{id}`` (poll, conditional
GET, long-poll), ``GET /jobs/{id}/events`` (event stream), ``POST /jobs/{id}/cancel``.
"""

from __future__ import annotations

from typing import Protocol

from tornado.http1connection import HTTP1Connection
from tornado.iostream import StreamClosedError

from server.error_codes import ErrorCode
from server.errors import InvalidInput, Unavailable
from server.http.parking import ParkingHandler, ParkingServices, park
from server.jobs.access import can_see, visible_job
from server.jobs.longpoll import etag_version, jittered, not_modified, parse_etags, parse_since, parse_wait
from server.jobs.models import Job, JobStatus, job_headers, job_json
from server.jobs.runner import JobRunner
from server.jobs.store import CursorExpired, JobQuery, JobStore
from server.jobs.waiters import JobStream, WakeReason, Watch
from server.pagination import decode_cursor, encode_cursor

MAX_PAGE = 200
SSE_RETRY_MS = 2000  # the reconnection delay a stream tells its client on open (the polling interval)


class JobServices(ParkingServices, Protocol):
    """What the job endpoints use of the app's services (``server.services.Services`` is one)."""

    store: JobStore
    runner: JobRunner
    started_at: float


class JobHandlerBase(ParkingHandler):
    """Shared helpers of the job handlers; a long-poll ends when its client goes away."""

    services: JobServices
    _watch: Watch | JobStream | None = None
    _client_gone = False

    async def load_job(self, raw_id: str) -> Job:
        """The job the caller may see, or the matching 404."""
        return await visible_job(self.services.store, self.principal, raw_id, self.services.started_at)

    def write_job(self, job: Job, status: int = 200) -> None:
        """Send one job with its ETag; non-final jobs carry ``Retry-After`` (seconds)."""
        for name, value in job_headers(job):
            self.set_header(name, value)
        self.write_json(job_json(job), status)

    def wait_request(self) -> float | None:
        """Seconds to wait (jittered), from ``?wait=`` or ``Prefer: wait=``; None to answer at once
        (also for ``HEAD``, which never waits)."""
        wait = parse_wait(self.get_query_argument("wait", None), self.request.headers.get("Prefer"),
                          self.services.settings.push.longpoll_max_seconds)
        if wait.seconds is None or self.is_head:
            return None
        if wait.from_prefer:
            self.set_header("Preference-Applied", f"wait={wait.seconds:g}")
        return jittered(wait.seconds)

    def refuse_wait_while_draining(self) -> None:
        """During shutdown a new long-poll or stream gets 503 + ``Retry-After`` + ``Connection:
        close`` (``server.draining``): waiting would be answered at once, and the client would loop.

        Raises:
            Unavailable: ``code="shutting_down"`` while the server drains.
        """
        drain = self.services.drain
        if drain is None:
            return
        self.close_after_answer()
        raise Unavailable("The server is shutting down; retry after the Retry-After delay",
                          code=ErrorCode.SHUTTING_DOWN, retry_after=drain.retry_after())

    def close_after_answer(self) -> None:
        """Answer with ``Connection: close`` and close the connection after the answer, so the
        client's next request opens a new one (to the next server, behind a router)."""
        connection = self.request.connection
        if isinstance(connection, HTTP1Connection):
            connection._disconnect_on_finish = True  # Tornado then writes the header and closes itself

    def on_connection_close(self) -> None:
        super().on_connection_close()
        self._client_gone = True
        if self._watch is not None:
            self._watch.wake(WakeReason.CLOSED)  # releases the waiter now, not at its deadline


class JobHandler(JobHandlerBase):
    """``GET /jobs/{job_id}``: the job's current state.

    ``If-None-Match`` with the current ETag -> 304. ``?wait=N`` (or ``Prefer: wait=N``) long-polls:
    answers at once when the job differs from the baseline (``If-None-Match`` version, else
    ``?since=``, else the current version) or is finished, otherwise at its first change or at the
    deadline (304 when the baseline came from ``If-None-Match``, else 200). ``?until=finished``
    waits for a terminal status only. A waiting request is parked (``server.http.parking``): the
    handler is done once the wait starts, and the parked poll answers.
    """

    async def get(self, raw_id: str) -> None:
        job = await self.load_job(raw_id)
        seconds = self.wait_request()
        tags = parse_etags(self.request.headers.get("If-None-Match", ""))
        until_finished = self._until_finished()
        baseline = etag_version(tags, job.job_id) if tags else parse_since(self.get_query_argument("since", None))
        if baseline is None:
            baseline = job.version if not tags else -1  # an ETag of another version: changed
        if seconds is not None and not job.is_terminal and (until_finished or job.version == baseline):
            self.refuse_wait_while_draining()
            if not self._client_gone:  # else closed while the request was read: nobody to answer
                park(self, job, baseline=baseline, until_finished=until_finished, tags=tags, seconds=seconds)
            return
        if not_modified(job.etag, tags):
            self.set_header("ETag", job.etag)
            self.set_status(304)
            self.finish()
            return
        self.write_job(job)

    def _until_finished(self) -> bool:
        until = self.get_query_argument("until", None)
        if until not in (None, "finished"):
            raise InvalidInput("'until' may only be 'finished'", code=ErrorCode.INVALID_UNTIL)
        return until == "finished"


class JobCancelHandler(JobHandlerBase):
    """``POST /jobs/{job_id}/cancel``: owner or admin; 409 when the job already finished."""

    async def post(self, raw_id: str) -> None:
        job = await self.load_job(raw_id)
        self.write_job(await self.services.runner.cancel(job.job_id))


class JobListHandler(JobHandlerBase):
    """``GET /jobs``: the caller's jobs (admins: all), newest first, ``{jobs, count, next_cursor, cursor}``.

    Query: ``status``, ``job_type`` filters, and one equality filter per metadata key a feature
    declared (``metadata_filters`` in the route table: ``case_id`` with the analyses); ``limit`` 1..200 (default 50);
    ``cursor`` from a previous page's ``next_cursor`` (410 ``cursor_expired`` when that page's last job
    expired meanwhile). ``since=<cursor>`` turns the list into a
    change feed: the jobs changed after that position, oldest change first, waiting up to
    ``wait`` seconds for one; 410 ``cursor_expired`` when the position is too old (list again).
    """

    metadata_filters: tuple[str, ...] = ()

    def initialize(self, services: JobServices, metadata_filters: tuple[str, ...] = ()) -> None:  # type: ignore[override]
        """``metadata_filters``: metadata keys ``GET /jobs?<key>=<value>`` filters on (string equality)."""
        super().initialize(services)
        self.metadata_filters = metadata_filters

    async def get(self) -> None:
        query = JobQuery(
            owner_id=None if self.principal.is_admin else self.principal.user_id,
            status=self._status_filter(),
            job_type=self._job_type_filter(),
            metadata=self._metadata_filter(),
            before=await self._page_start(decode_cursor(self.get_query_argument("cursor", None))),
            limit=self.query_int("limit", 50, minimum=1, maximum=MAX_PAGE, code=ErrorCode.INVALID_LIMIT),
        )
        since = self.get_query_argument("since", None)
        seconds = self.wait_request()
        if since is not None:
            await self._changes(query, since, seconds)
            return
        # Read first: a change during the listing is seen again.
        cursor = await self.services.store.cursor(query.owner_id)
        page = await self.services.store.list_jobs(query)
        next_cursor = encode_cursor(page.jobs[-1].job_id) if page.next_before is not None else None
        self._write_list(page.jobs, next_cursor, cursor)

    async def _page_start(self, last_job_id: str | None) -> int | None:
        """The creation number the page starts below: that of the previous page's last job.

        Raises:
            CursorExpired: that job is gone (retention) or not the caller's: list again.
        """
        if last_job_id is None:
            return None
        job = await self.services.store.get(last_job_id)
        if job is None or not can_see(self.principal, job):
            raise CursorExpired("The page cursor's job has expired; list the jobs again")
        return job.number

    async def _changes(self, query: JobQuery, since: str, seconds: float | None) -> None:
        store = self.services.store
        changed, cursor = await store.changes_since(query.owner_id, since)
        if not changed and seconds is not None:
            self.refuse_wait_while_draining()
            if self._client_gone:
                return
            with self.services.waiters.watch_owner(self.principal.user_id, query.owner_id) as watch:
                self._watch = watch
                changed, cursor = await store.changes_since(query.owner_id, since)  # none slipped in before
                if not changed:
                    reason = await watch.wait(seconds)
                    if reason is WakeReason.CLOSED or self._client_gone:
                        return
                    if reason is WakeReason.SHUTDOWN:
                        self._retry_after_drain()
            self._watch = None
            changed, cursor = await store.changes_since(query.owner_id, since)
        matching = [job for job in changed if query.matches(job)]
        self._write_list(matching, None, cursor)

    def _retry_after_drain(self) -> None:
        drain = self.services.drain
        if drain is not None:
            self.set_header("Retry-After", str(drain.retry_after()))
            self.close_after_answer()

    def _write_list(self, jobs: list[Job], next_cursor: str | None, cursor: str) -> None:
        body = ",".join(job_json(job) for job in jobs)
        tail = f'"count":{len(jobs)},"next_cursor":{_quote(next_cursor)},"cursor":"{cursor}"'
        self.write_json(f'{{"jobs":[{body}],{tail}}}')

    def _status_filter(self) -> JobStatus | None:
        raw = self.get_query_argument("status", None)
        if raw is None:
            return None
        try:
            return JobStatus(raw)
        except ValueError:
            raise InvalidInput("'status' must be one of pending, running, completed, failed",
                               code=ErrorCode.INVALID_STATUS) from None

    def _metadata_filter(self) -> tuple[tuple[str, str], ...]:
        pairs = ((key, self.get_query_argument(key, None)) for key in self.metadata_filters)
        return tuple((key, value) for key, value in pairs if value is not None)

    def _job_type_filter(self) -> str | None:
        raw = self.get_query_argument("job_type", None)
        if raw is not None and raw not in self.services.runner.job_types:
            raise InvalidInput(f"'job_type' must be one of {', '.join(self.services.runner.job_types)}",
                               code=ErrorCode.INVALID_JOB_TYPE)
        return raw


class JobEventsHandler(JobHandlerBase):
    """``GET /jobs/{job_id}/events``: Server-Sent Events, one ``event: job`` per change.

    ``id:`` is the job version; ``Last-Event-ID`` resumes (the current state is sent when newer).
    Every stream opens at once with a ``retry:`` field (milliseconds before a reconnection) and a
    comment, so clients see the headers (``onopen``) without waiting for a change; a comment every
    ``SSE_KEEPALIVE_SECONDS`` keeps proxies from closing it. The stream ends after the terminal
    event; a reconnection whose ``Last-Event-ID`` is already the final version gets ``204``, which
    tells a spec client to stop reconnecting (WHATWG HTML, Server-sent events). On shutdown the
    stream sends the current state and a ``retry:`` of the drain delay, then ends; a new stream
    during the shutdown is refused with ``503``.
    """

    async def get(self, raw_id: str) -> None:
        job = await self.load_job(raw_id)
        last_seen = parse_since(self.request.headers.get("Last-Event-ID"))
        if job.is_terminal and last_seen is not None and last_seen >= job.version:
            self.clear_header("Content-Type")
            self.set_status(204)
            self.finish()
            return
        if not job.is_terminal:
            self.refuse_wait_while_draining()
        self.set_header("Content-Type", "text/event-stream; charset=utf-8")
        self.set_header("X-Accel-Buffering", "no")
        if self.is_head:
            await self.flush()  # the headers alone: no Content-Length, as the streamed GET has none
            self.finish()
            return
        with self.services.waiters.stream(self.principal.user_id, job.job_id) as stream:
            self._watch = stream
            if await self._send(f"retry: {SSE_RETRY_MS}\n: stream open\n\n"):
                await self._send_until_finished(stream, job, last_seen or 0)
        self._watch = None
        if not self._client_gone:
            self.finish()

    async def _send_until_finished(self, stream: JobStream, job: Job, last_seen: int) -> None:
        keepalive = self.services.settings.push.keepalive_seconds
        latest: Job | WakeReason = job
        while True:
            if isinstance(latest, Job) and latest.version > last_seen:
                if not await self._send(_event(latest)):
                    return
                last_seen = latest.version
                if latest.is_terminal:
                    return
            elif isinstance(latest, Job) and latest.is_terminal:
                return  # the client already has the terminal event (Last-Event-ID): nothing more will come
            elif latest is WakeReason.TIMEOUT:
                if not await self._send(": keep-alive\n\n"):
                    return
            elif latest is WakeReason.SHUTDOWN:
                await self._send_shutdown(job.job_id, last_seen)
                return
            elif latest is WakeReason.CLOSED:
                return
            latest = await stream.next(keepalive)

    async def _send_shutdown(self, job_id: str, last_seen: int) -> None:
        """The current state if the client lacks it, and a ``retry:`` of the drain delay."""
        current = await self.services.store.get(job_id)
        text = _event(current) if current is not None and current.version > last_seen else ""
        drain = self.services.drain
        if drain is not None:
            text += f"retry: {drain.retry_after() * 1000}\n\n"
        if text:
            await self._send(text)

    async def _send(self, text: str) -> bool:
        try:
            self.write(text)
            await self.flush()
        except StreamClosedError:
            return False  # the client went away: nothing to log
        return True


def _event(job: Job) -> str:
    return f"id: {job.version}\nevent: job\ndata: {job_json(job)}\n\n"


def _quote(value: str | None) -> str:
    return "null" if value is None else f'"{value}"'
