"""ProviderSet: the providers of one running server, one SDK client per vendor.

Clients are created once (not per job) and closed by ``aclose()`` at shutdown. Construction binds
no event loop (the SDKs' HTTP clients open their connection pools on first use), so a set built
before the IOLoop starts, or one per test on a fresh IOLoop, works.
"""

from __future__ import annotations

import logging
from typing import Any

from server.analysis.inputs import AnalysisKind
from server.analysis.providers._calls import keep_prompts_out_of_sdk_logs
from server.analysis.providers.base import Provider
from server.analysis.providers.config import LLMSettings
from server.analysis.providers.offline import OfflineProvider

log = logging.getLogger("server.analysis.providers")


class ProviderSet:
    """Which provider serves each analysis kind.

    Build with ``ProviderSet.build(settings)``; the constructor takes ready-made parts (tests).

    Args:
        providers: the provider of each kind.
        clients: SDK clients to close in ``aclose()``.
    """

    def __init__(self, providers: dict[AnalysisKind, Provider], clients: list[Any]):
        self._providers = providers
        self._clients = clients

    @classmethod
    def build(cls, settings: LLMSettings) -> ProviderSet:
        """Create the clients the settings need and a provider per kind; log the choice (no keys).

        Also caps the SDK loggers at INFO (see ``keep_prompts_out_of_sdk_logs``).
        """
        used = set(settings.providers.values())
        by_name: dict[str, Provider] = {"offline": OfflineProvider()}
        clients: list[Any] = []
        # Each SDK is imported only when a provider of it is configured: importing both costs every
        # process start (server, prefork worker, extraction worker) seconds of CPU for nothing offline.
        if "openai" in used and settings.openai_api_key:
            from server.analysis.providers import openai_provider

            client = openai_provider.OpenAIProvider.make_client(
                settings.openai_api_key, settings.openai_base_url, settings.timeout_seconds, settings.max_retries
            )
            clients.append(client)
            by_name["openai"] = openai_provider.OpenAIProvider(
                client, settings.openai_model, settings.max_output_tokens
            )
        if "anthropic" in used and settings.anthropic_api_key:
            from server.analysis.providers import anthropic_provider

            aclient = anthropic_provider.AnthropicProvider.make_client(
                settings.anthropic_api_key, settings.anthropic_base_url, settings.timeout_seconds,
                settings.max_retries,
            )
            clients.append(aclient)
            by_name["anthropic"] = anthropic_provider.AnthropicProvider(
                aclient, settings.anthropic_model, settings.max_output_tokens
            )
        if clients:
            keep_prompts_out_of_sdk_logs()
        providers = {kind: by_name[name] for kind, name in settings.providers.items()}
        provider_set = cls(providers, clients)
        for job_type, info in provider_set.describe().items():
            log.info("analysis %s served by %s (%s)", job_type, info["provider"], info["model"])
        for kind in settings.fallbacks:
            log.warning("analysis %s: no API key for its provider; using the offline analyzer", kind.value)
        return provider_set

    def for_kind(self, kind: AnalysisKind) -> Provider:
        """The provider that serves ``kind``."""
        return self._providers[kind]

    def describe(self) -> dict[str, dict[str, str]]:
        """``{job_type: {"provider": name, "model": model}}`` for logs and the health endpoint; no keys."""
        return {
            kind.value: {"provider": provider.name, "model": provider.model}
            for kind, provider in self._providers.items()
        }

    async def aclose(self) -> None:
        """Close the providers and the SDK clients (idempotent)."""
        for provider in set(self._providers.values()):
            await provider.aclose()
        clients, self._clients = self._clients, []
        for client in clients:
            await client.close()
