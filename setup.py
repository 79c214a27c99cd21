"""Packaging for the case-analysis job server."""

from setuptools import find_packages, setup

setup(
    name="case-job-server",
    version="0.1.0",
    description="Tornado job server for long-running LLM analyses of legal case material",
    python_requires=">=3.10",
    packages=find_packages(include=["server", "server.*"]),
    package_data={"server.cases": ["demo_files/*.pdf", "demo_files/*.docx"], "server.jobs": ["*.lua"]},
    install_requires=[
        "tornado>=6.4.1,<7",
        "PyJWT[crypto]>=2.10.1,<3",  # 2.10.0 accepted a partial issuer match (CVE-2024-53861)
        "pydantic>=2.7,<3",
        "uuid6>=2024.7.10",  # UUIDv7 (RFC 9562) before Python 3.14's uuid.uuid7
        "openai>=1.66,<4",
        "anthropic>=0.49,<3",
        "prometheus-client>=0.20,<1",  # /metrics, one CollectorRegistry per app
        "python-json-logger>=3.1,<5",  # LOG_FORMAT=json; 3.1 added pythonjsonlogger.json
        "pypdf>=5,<8",  # PDF text extraction (layout mode keeps Hebrew in logical order)
        "python-docx>=1.1,<2",
        "cryptography>=42",  # pypdf needs it to open AES-encrypted PDFs (owner-password only)
        "redis>=5.0.1,<9",  # JOB_STORE_URL=redis://: redis.asyncio with Script, PubSub.aclose (5.0.1)
    ],
    extras_require={
        "test": [
            "pytest>=8,<10",  # pytest 10 drops the old-style hooks pytest-tornado 0.8.1 uses
            "pytest-tornado==0.8.1",
            # pytest-tornado 0.8.1 imports pkg_resources, which setuptools 82 removed.
            "setuptools<82",
            "pytest-timeout>=2.3",
            "fpdf2>=2.7",  # generates the test PDFs (Hebrew with DejaVu Sans)
            # Drives Debian's chromium in tests/page (apt-get install chromium; never `playwright install`).
            "playwright>=1.40",
        ],
    },
    entry_points={"console_scripts": ["case-job-server=server.__main__:main"]},
)
