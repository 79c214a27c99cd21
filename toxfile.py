"""tox's inline plugin (tox >= 4 loads ``toxfile.py`` from the project root by itself).

pyenv puts only its global interpreter on ``PATH`` (its shims refuse the other versions), so tox's
own discovery would not find python3.10-3.13 although pyenv installed them, and plain ``tox``
failed with "could not find python interpreter". Before tox looks for interpreters, this puts
every ``$PYENV_ROOT/versions/3.*/bin`` (default ``~/.pyenv``) at the end of ``PATH``, newest
patch release first: plain ``tox`` in a fresh clone finds them, with no plugin to install.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tox.plugin import impl


def pyenv_bin_dirs(root: Path) -> list[str]:
    """The ``bin`` folders of the CPython 3 versions installed under pyenv ``root``, newest first."""
    versions = root / "versions"
    if not versions.is_dir():
        return []
    found = [path for path in versions.iterdir() if path.name.startswith("3.") and (path / "bin").is_dir()]

    def release(path: Path) -> tuple[int, ...]:
        return tuple(int(part) if part.isdigit() else -1 for part in path.name.split("."))

    return [str(path / "bin") for path in sorted(found, key=release, reverse=True)]


@impl
def tox_add_core_config(core_conf: Any, state: Any) -> None:  # noqa: ARG001 (tox's hook signature)
    """Add the pyenv interpreters to ``PATH`` once, before any environment is built."""
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    path = os.environ.get("PATH", "").split(os.pathsep)
    extra = [folder for folder in pyenv_bin_dirs(root) if folder not in path]
    os.environ["PATH"] = os.pathsep.join([*path, *extra])
