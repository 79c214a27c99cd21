"""Packaging for the case-analysis job server."""

from setuptools import find_packages, setup

setup(
    name="case-job-server",
    version="0.1.0",
    description="Tornado job server for long-running LLM analyses of legal case material",
    python_requires=">=3.10",
    packages=find_packages(include=["server", "server.*"]),
    # The page's files live in the package (server/static) so a non-editable install serves them;
    # tests/test_packaging.py fails when one is left out of the build.
    package_data={"server": ["openapi_examples.json", "static/*.html", "static/*.css", "static/*.js", "static/js/*.js"],
                  "server.cases": ["demo_files/*.pdf", "demo_files/*.docx"], "server.jobs": ["*.lua"]},
    install_requires=[
        # Below 7: the parked long-poll (server/http/parking.py) detaches connections, writes HTTP/1.1
        # itself and hands them back with HTTPServer.handle_stream, and web.py and jobs/handlers.py use
        # private HTTP1Connection/RequestHandler attributes. tests/http/test_tornado_contract.py checks
        # exactly that on a bare Tornado app: make it pass on a new major before widening the range.
        "tornado>=6.4.1,<7",
        "PyJWT[crypto]>=2.10.1,<3",  # 2.10.0 accepted a partial issuer match (CVE-2024-53861)
        "pydantic>=2.7,<3",
        # Settings from the environment (server/config.py, server/environment.py): one BaseSettings model
        # per group of variables, fed the environment explicitly, with the server's own refusal messages.
        "pydantic-settings>=2.4,<3",
        "uuid6>=2024.7.10",  # UUIDv7 (RFC 9562) before Python 3.14's uuid.uuid7
        "openai>=1.66,<4",
        "anthropic>=0.49,<3",
        "prometheus-client>=0.20,<1",  # /metrics, one CollectorRegistry per app
        "python-json-logger>=3.1,<5",  # LOG_FORMAT=json; 3.1 added pythonjsonlogger.json
        "pypdf>=5,<8",  # PDF text extraction (layout mode keeps Hebrew in logical order)
        "python-docx>=1.1,<2",
        "python-bidi>=0.6,<1",  # Hebrew visual-to-logical repair (Unicode bidirectional algorithm, UAX #9)
        # Streaming multipart parser (uploads go to a temporary file); 0.0.18 fixed CVE-2024-53981.
        "python-multipart>=0.0.18,<0.1",
        "cryptography>=42",  # pypdf needs it to open AES-encrypted PDFs (owner-password only)
        # Swagger UI's files for GET /docs, served by this server (no CDN); 5.x renders OpenAPI 3.1.
        "swagger-ui-bundle-v2>=5.17,<6",
        # Cases on SQLite (aiosqlite, the default) or PostgreSQL (asyncpg) behind one async repository;
        # the [asyncio] extra brings greenlet, which SQLAlchemy 2.1 no longer installs by itself.
        "sqlalchemy[asyncio]>=2.0.30,<2.2",
        "alembic>=1.13,<2",  # schema migrations (`python -m server migrate`)
        "aiosqlite>=0.20,<1",
        "asyncpg>=0.29,<1",
        "redis>=5.0.1,<9",  # JOB_STORE_URL=redis://: redis.asyncio with Script, PubSub.aclose (5.0.1)
    ],
    extras_require={
        "test": [
            "pytest>=8,<10",  # pytest 10 drops the old-style hooks pytest-tornado 0.8.1 uses
            "pytest-tornado==0.8.1",
            # pytest-tornado 0.8.1 imports pkg_resources, which setuptools 82 removed.
            "setuptools<82",
            "pytest-timeout>=2.3",
            # Runs the suite in parallel workers (pytest.ini addopts); 3.7 added Python 3.13 (the tox matrix).
            "pytest-xdist>=3.7,<4",
            "fpdf2>=2.7",  # generates the test PDFs (Hebrew with DejaVu Sans)
            "uharfbuzz>=0.39",  # fpdf2's text shaping: test PDFs with Hebrew stored in visual order
            "reportlab>=4,<6",  # generates test PDFs with filled AcroForm fields (fpdf2 cannot)
            "psutil>=5.9",  # the extraction memory tests read the server process's RSS
            # Drives Debian's chromium in tests/page (apt-get install chromium; never `playwright install`).
            "playwright>=1.40",
            # Real client libraries the tests drive the server with (SSE, shutdown storm; issue 16).
            "httpx>=0.27,<1",
            "httpx-sse>=0.4,<1",
            "openapi-spec-validator>=0.7,<1",  # GET /openapi.json is valid OpenAPI 3.1
            "schemathesis>=4.30,<5",  # fuzzes the running server against its OpenAPI document (tests/openapi)
        ],
        # bench/ only (issue 19): the FastAPI + uvicorn peer of the job contract (uvicorn[standard]: uvloop and
        # httptools, as fastapi[standard] deploys it) and the profilers the figures in bench/README.md came from.
        "bench": [
            "fastapi>=0.115,<1",
            "uvicorn[standard]>=0.30,<1",
            "py-spy>=0.3.14",
            "pyinstrument>=4.6,<6",
        ],
    },
    entry_points={"console_scripts": ["case-job-server=server.__main__:main"]},
)
