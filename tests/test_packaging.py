"""A non-editable install serves the page: the page's files are package data and the server finds
them inside the installed package, whatever the working directory.

The package is built with setuptools' ``build_py`` (the step of ``pip install .`` / ``pip wheel``
that picks the modules and package data a wheel holds) from a copy of the sources, so the checkout
is left untouched; ``pip wheel`` itself would need the network (build isolation) or the ``wheel``
package. The built package is then run as ``python -m server`` from another directory.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.ops.live_server import free_port

ROOT = Path(__file__).resolve().parents[1]
PAGE_DIR = ROOT / "server" / "static"
SECRET = "packaging-test-secret-0123456789-abcdefgh"


def build_package(tmp_path: Path) -> Path:
    """The directory ``build_py`` fills from a copy of setup.py and server/ (what an install holds)."""
    source = tmp_path / "source"
    shutil.copytree(ROOT / "server", source / "server", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "setup.py", source / "setup.py")
    built = tmp_path / "installed"
    done = subprocess.run([sys.executable, "setup.py", "-q", "build_py", "--build-lib", str(built)],  # noqa: S603
                          cwd=source, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return built


def get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310  # http://127.0.0.1 only
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def test_the_built_package_holds_every_page_file(tmp_path):
    built = build_package(tmp_path)
    page_files = {path.relative_to(ROOT) for path in PAGE_DIR.rglob("*") if path.is_file()}
    assert Path("server/static/index.html") in page_files
    missing = sorted(str(path) for path in page_files if not (built / path).is_file())
    assert not missing, f"not in the built package (setup.py package_data): {missing}"


def test_the_installed_server_serves_the_page_from_another_directory(tmp_path):
    built = build_package(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    port = free_port()
    env = {name: value for name, value in os.environ.items() if name not in ("WEB_CONCURRENCY", "DATABASE_URL")}
    env.update({"PYTHONPATH": str(built), "PORT": str(port), "HOST": "127.0.0.1", "JWT_SECRET": SECRET,
                "APP_ENV": "test", "CASES_DB": str(elsewhere / "cases.db"), "JOB_STORE_URL": "memory://"})
    where = subprocess.run([sys.executable, "-c", "import server; print(server.__file__)"],  # noqa: S603
                           cwd=elsewhere, env=env, capture_output=True, text=True, timeout=60)
    assert where.stdout.strip() == str(built / "server" / "__init__.py"), where.stderr
    process = subprocess.Popen([sys.executable, "-m", "server"], cwd=elsewhere, env=env,  # noqa: S603
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 40  # importing the LLM SDKs takes seconds
        while True:
            try:
                if get(f"{base}/healthz") == 200:
                    break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)
        assert get(f"{base}/") == 200
        assert get(f"{base}/static/js/main.js") == 200
    finally:
        process.terminate()
        process.communicate(timeout=30)
