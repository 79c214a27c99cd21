"""Analysis tests: the app's services with the scripted provider set plugged in."""

from __future__ import annotations

import pytest

from server.services import Services
from tests.analysis.doubles import ScriptedProviders


@pytest.fixture
def providers() -> ScriptedProviders:
    return ScriptedProviders()


@pytest.fixture
def services(services: Services, providers: ScriptedProviders) -> Services:
    services.analysis.providers = providers
    return services
