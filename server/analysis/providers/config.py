"""LLM settings, read once at start-up from the environment.

Variables (all optional in development):

- ``OPENAI_API_KEY`` / ``ANTHROPIC_API_KEY``: vendor keys. A job type whose provider has no key runs
  the offline analyzer, unless ``production`` is set, where it is a ``ConfigError``.
- ``OPENAI_MODEL`` (default ``gpt-5.5``): the newest general-purpose model in the installed SDK's
  ``ChatModel`` literal that has a dated snapshot (``gpt-5.5-2026-04-23``) and no shutdown notice.
- ``ANTHROPIC_MODEL`` (default ``claude-sonnet-5-5``): the model the installed SDK uses in its own
  examples; listed in its ``Model`` literal, not in its deprecated list; Sonnet balances cost and depth.
- ``OPENAI_BASE_URL`` / ``ANTHROPIC_BASE_URL``: passed to the clients (gateway or the fake server).
- ``LLM_TIMEOUT_SECONDS`` (default 120): per-request timeout, seconds.
- ``LLM_MAX_RETRIES`` (default 2): the SDK's own retries; there is no other retry loop.
- ``LLM_MAX_OUTPUT_TOKENS`` (default 16000): output budget per call (room for reasoning tokens and a
  full Form 7801).
- ``PROVIDER_CALL_ANALYSIS`` (default openai), ``PROVIDER_DOCUMENT_ANALYSIS_AGENT`` (default
  anthropic), ``PROVIDER_DOCUMENT_ANALYSIS_FORM7801`` (default openai): ``openai|anthropic|offline``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from server.analysis.inputs import AnalysisKind
from server.errors import ConfigError

PROVIDER_NAMES = ("openai", "anthropic", "offline")
DEFAULT_PROVIDERS = {
    AnalysisKind.CALL_ANALYSIS: "openai",
    AnalysisKind.DOCUMENT_ANALYSIS_AGENT: "anthropic",
    AnalysisKind.DOCUMENT_ANALYSIS_FORM7801: "openai",
}


def provider_variable(kind: AnalysisKind) -> str:
    """The environment variable choosing ``kind``'s provider, e.g. ``PROVIDER_CALL_ANALYSIS``."""
    return f"PROVIDER_{kind.value.upper()}"


@dataclass(frozen=True)
class LLMSettings:
    """Validated LLM settings. Keys are kept out of ``repr`` so a logged settings object leaks nothing.

    ``providers`` is the effective provider per kind, after the offline fallback;
    ``fallbacks`` lists the kinds that fell back to offline for want of a key.
    """

    openai_api_key: str | None = field(default=None, repr=False)
    anthropic_api_key: str | None = field(default=None, repr=False)
    openai_model: str = "gpt-5.5"
    anthropic_model: str = "claude-sonnet-5-5"
    openai_base_url: str | None = None
    anthropic_base_url: str | None = None
    timeout_seconds: float = 120.0
    max_retries: int = 2
    max_output_tokens: int = 16000
    providers: Mapping[AnalysisKind, str] = field(default_factory=lambda: dict(DEFAULT_PROVIDERS))
    fallbacks: tuple[AnalysisKind, ...] = ()

    @classmethod
    def from_env(cls, env: Mapping[str, str], production: bool = False) -> LLMSettings:
        """Read and validate the settings.

        Args:
            env: the environment (``os.environ`` or a test dict).
            production: if True, a job type whose provider has no API key is an error instead of
                falling back to the offline analyzer.

        Raises:
            ConfigError: a value is malformed or, in production, a needed key is missing; the
                message names the variable and what it expects.
        """
        keys = {"openai": _text(env, "OPENAI_API_KEY"), "anthropic": _text(env, "ANTHROPIC_API_KEY")}
        providers: dict[AnalysisKind, str] = {}
        fallbacks: list[AnalysisKind] = []
        for kind, default in DEFAULT_PROVIDERS.items():
            name = _choice(env, provider_variable(kind), default)
            if name != "offline" and keys[name] is None:
                if production:
                    raise ConfigError(
                        f"{name.upper()}_API_KEY is required in production: {provider_variable(kind)} "
                        f"selects {name}; set the key or set {provider_variable(kind)}=offline"
                    )
                name = "offline"
                fallbacks.append(kind)
            providers[kind] = name
        return cls(
            openai_api_key=keys["openai"],
            anthropic_api_key=keys["anthropic"],
            openai_model=_text(env, "OPENAI_MODEL") or cls.openai_model,
            anthropic_model=_text(env, "ANTHROPIC_MODEL") or cls.anthropic_model,
            openai_base_url=_url(env, "OPENAI_BASE_URL"),
            anthropic_base_url=_url(env, "ANTHROPIC_BASE_URL"),
            timeout_seconds=_number(env, "LLM_TIMEOUT_SECONDS", 120.0, float, 1, 3600),
            max_retries=int(_number(env, "LLM_MAX_RETRIES", 2, int, 0, 10)),
            max_output_tokens=int(_number(env, "LLM_MAX_OUTPUT_TOKENS", 16000, int, 256, 200_000)),
            providers=providers,
            fallbacks=tuple(fallbacks),
        )


def _text(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def _problem(env: Mapping[str, str], message: str, default: Any) -> Any:
    """Raise ``ConfigError(message)``; when ``env`` collects problems (``server.config`` reading every
    setting before it reports), note it there and go on with ``default`` instead."""
    problems = getattr(env, "problems", None)
    if problems is None:
        raise ConfigError(message)
    problems.append(message)
    return default


def _choice(env: Mapping[str, str], name: str, default: str) -> str:
    value = (_text(env, name) or default).lower()
    if value not in PROVIDER_NAMES:
        return str(_problem(env, f"{name} must be one of {', '.join(PROVIDER_NAMES)}; got {value!r}", default))
    return value


def _url(env: Mapping[str, str], name: str) -> str | None:
    value = _text(env, name)
    if value is not None and not value.startswith(("http://", "https://")):
        return _problem(env, f"{name} must be an http:// or https:// URL", None)  # type: ignore[no-any-return]
    return value


def _number(env: Mapping[str, str], name: str, default: float, kind: type, low: float, high: float) -> float:
    raw = _text(env, name)
    if raw is None:
        return default
    try:
        value = kind(raw)
    except ValueError:
        return float(_problem(env, f"{name} must be {'an integer' if kind is int else 'a number'} "
                                   f"between {low:g} and {high:g}; got {raw!r}", default))
    if not low <= value <= high:
        return float(_problem(env, f"{name} must be between {low:g} and {high:g}; got {raw!r}", default))
    return float(value)
