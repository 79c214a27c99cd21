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
from typing import Annotated

from pydantic import SecretStr

from server.analysis.inputs import AnalysisKind
from server.environment import (
    EnvironmentSection,
    bounded,
    choice,
    http_url,
    raise_problems,
    read,
    reveal,
    secret_text,
    text,
)

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
                message names the variable and what it expects (every problem, one per line).
        """
        problems: list[str] = []
        settings, selected = read_llm(env, problems)
        if production:
            for kind in settings.fallbacks:
                name, variable = selected[kind], provider_variable(kind)
                problems.append(f"{name.upper()}_API_KEY is required in production: {variable} selects {name}; "
                                f"set the key or set {variable}=offline")
        raise_problems(problems)
        return settings


class _LLMEnvironment(EnvironmentSection):
    """The variables of LLMSettings."""

    OPENAI_API_KEY: Annotated[SecretStr | None, secret_text()] = None
    ANTHROPIC_API_KEY: Annotated[SecretStr | None, secret_text()] = None
    PROVIDER_CALL_ANALYSIS: Annotated[str, choice(*PROVIDER_NAMES)] = DEFAULT_PROVIDERS[AnalysisKind.CALL_ANALYSIS]
    PROVIDER_DOCUMENT_ANALYSIS_AGENT: Annotated[str, choice(*PROVIDER_NAMES)] = \
        DEFAULT_PROVIDERS[AnalysisKind.DOCUMENT_ANALYSIS_AGENT]
    PROVIDER_DOCUMENT_ANALYSIS_FORM7801: Annotated[str, choice(*PROVIDER_NAMES)] = \
        DEFAULT_PROVIDERS[AnalysisKind.DOCUMENT_ANALYSIS_FORM7801]
    OPENAI_MODEL: Annotated[str, text()] = LLMSettings.openai_model
    ANTHROPIC_MODEL: Annotated[str, text()] = LLMSettings.anthropic_model
    OPENAI_BASE_URL: Annotated[str | None, http_url()] = None
    ANTHROPIC_BASE_URL: Annotated[str | None, http_url()] = None
    LLM_TIMEOUT_SECONDS: Annotated[float, bounded(float, 1, 3600)] = LLMSettings.timeout_seconds
    LLM_MAX_RETRIES: Annotated[int, bounded(int, 0, 10)] = LLMSettings.max_retries
    LLM_MAX_OUTPUT_TOKENS: Annotated[int, bounded(int, 256, 200_000)] = LLMSettings.max_output_tokens


def read_llm(env: Mapping[str, str], problems: list[str]) -> tuple[LLMSettings, dict[AnalysisKind, str]]:
    """``LLMSettings`` with the development rules: a kind whose provider has no key falls back to
    the offline analyzer (listed in ``fallbacks``). Refused values go to ``problems``.

    Returns:
        The settings, and the provider each kind's variable selected (before any fallback).
    """
    values = read(_LLMEnvironment, env, problems)
    keys = {"openai": reveal(values.OPENAI_API_KEY), "anthropic": reveal(values.ANTHROPIC_API_KEY)}
    selected = {kind: getattr(values, provider_variable(kind)) for kind in DEFAULT_PROVIDERS}
    providers = {kind: name if name == "offline" or keys[name] is not None else "offline"
                 for kind, name in selected.items()}
    settings = LLMSettings(
        openai_api_key=keys["openai"], anthropic_api_key=keys["anthropic"],
        openai_model=values.OPENAI_MODEL, anthropic_model=values.ANTHROPIC_MODEL,
        openai_base_url=values.OPENAI_BASE_URL, anthropic_base_url=values.ANTHROPIC_BASE_URL,
        timeout_seconds=values.LLM_TIMEOUT_SECONDS, max_retries=values.LLM_MAX_RETRIES,
        max_output_tokens=values.LLM_MAX_OUTPUT_TOKENS, providers=providers,
        fallbacks=tuple(kind for kind in selected if providers[kind] != selected[kind]),
    )
    return settings, selected
