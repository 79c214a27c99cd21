"""Reading settings from the environment with pydantic-settings.

Each group of settings declares a ``pydantic_settings.BaseSettings`` model whose fields are named
after their variables and parsed by the validators below
(``JOB_TTL_SECONDS: Annotated[int, integer(1)] = 86400``), which keep the server's own refusal
messages ("JOB_TTL_SECONDS must be >= 1, got 0"). ``read``
validates one model from a given environment (``os.environ`` or a test's dict, never the process
environment behind the caller's back) and notes every problem instead of stopping at the first, so
``server.config.Settings.from_env`` can report them all at once. A blank value (empty or spaces)
means "not set": the field's default is used.

Secret values are never part of a message: ``secret_text`` fields are ``pydantic.SecretStr`` (masked
in ``repr``) and are refused by the code that reads them with messages naming the variable only.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from pydantic import BeforeValidator, SecretStr, ValidationError, ValidationInfo
from pydantic_core import PydanticCustomError, PydanticUseDefault
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from server.errors import ConfigError

Section = TypeVar("Section", bound="EnvironmentSection")
_ON = ("1", "true", "yes", "on")
_OFF = ("0", "false", "no", "off")


class EnvironmentSection(BaseSettings):
    """Base of the models of one group of variables: frozen, names case-sensitive, read only from
    what ``read`` hands over as init values (no ``.env`` file, no secrets directory, and never the
    process environment behind the caller's back: tests pass their own dict). The values stay raw
    text until the field validators parse them (no JSON decoding of lists)."""

    model_config = SettingsConfigDict(frozen=True, case_sensitive=True, extra="ignore")

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource,
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def read(model: type[Section], env: Mapping[str, str], problems: list[str]) -> Section:
    """Validate ``model`` from ``env``; every refused variable is added to ``problems`` and its
    default used instead, so reading goes on and the caller can report everything together.

    Args:
        model: the section's model.
        env: the environment (``os.environ`` or a test's dict).
        problems: where the refusal messages go, in the model's field order.
    Returns:
        The section, with defaults in place of the refused values.
    """
    values = {name: env[name] for name in model.model_fields if name in env}
    try:
        return model(**values)
    except ValidationError as invalid:
        refused = set()
        for error in invalid.errors(include_input=False, include_url=False):
            problems.append(error["msg"])
            refused.add(error["loc"][0])
        return model(**{name: value for name, value in values.items() if name not in refused})


def raise_problems(problems: list[str]) -> None:
    """Raise one ``ConfigError`` for every problem: the problem itself when it is the only one."""
    if len(problems) == 1:
        raise ConfigError(problems[0])
    if problems:
        listed = "\n".join(f"  - {problem}" for problem in problems)
        raise ConfigError(f"{len(problems)} configuration problems:\n{listed}")


def refuse(message: str) -> PydanticCustomError:
    """The validation error carrying ``message`` as it is (no "Value error, " prefix)."""
    return PydanticCustomError("config", message)


def _validator(check: Callable[[str, str], Any], *, strip: bool = True) -> BeforeValidator:
    """Run ``check(text, variable)`` on a variable's text (stripped unless ``strip`` is False); empty
    text means "not set": the field's default."""
    def validate(value: Any, info: ValidationInfo) -> Any:
        if not isinstance(value, str):
            return value  # a default, or a value given in code
        text = value.strip() if strip else value
        if not text:
            raise PydanticUseDefault()
        return check(text, info.field_name or "")
    return BeforeValidator(validate)


def _integer_check(minimum: int, maximum: int | None) -> Callable[[str, str], int]:
    def check(raw: str, name: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise refuse(f"{name} must be an integer, got {raw!r}") from None
        if value < minimum or (maximum is not None and value > maximum):
            upper = f" and <= {maximum}" if maximum is not None else ""
            raise refuse(f"{name} must be >= {minimum}{upper}, got {value}")
        return value
    return check


def integer(minimum: int = 0, maximum: int | None = None) -> BeforeValidator:
    """An integer variable within ``minimum..maximum`` ("X must be >= 1, got 0")."""
    return _validator(_integer_check(minimum, maximum))


def read_integer(env: Mapping[str, str], name: str, default: int, problems: list[str], *, minimum: int = 0,
                 maximum: int | None = None) -> int:
    """One integer variable read outside a model (for names not known in advance); a refused value
    is added to ``problems`` and ``default`` returned, as ``read`` does."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return _integer_check(minimum, maximum)(raw, name)
    except PydanticCustomError as refused:
        problems.append(refused.message())
        return default


def seconds(minimum: float = 0.0, *, inclusive: bool = False) -> BeforeValidator:
    """A number of seconds above ``minimum`` (at or above it when ``inclusive``)."""
    def check(raw: str, name: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            raise refuse(f"{name} must be a number of seconds, got {raw!r}") from None
        if not math.isfinite(value):  # "nan" passed both bounds; "inf" (or 1e400) broke every Redis lease
            raise refuse(f"{name} must be a finite number of seconds, got {raw!r}")
        if value < minimum or (value == minimum and not inclusive):
            raise refuse(f"{name} must be {'>=' if inclusive else '>'} {minimum:g}, got {raw}")
        return value
    return _validator(check)


def bounded(kind: type, low: float, high: float) -> BeforeValidator:
    """An ``int`` or ``float`` variable within ``low..high`` ("X must be between 1 and 10; got '0'")."""
    def check(raw: str, name: str) -> float:
        try:
            value = kind(raw)
        except ValueError:
            raise refuse(f"{name} must be {'an integer' if kind is int else 'a number'} between {low:g} and "
                         f"{high:g}; got {raw!r}") from None
        if not low <= value <= high:
            raise refuse(f"{name} must be between {low:g} and {high:g}; got {raw!r}")
        return value
    return _validator(check)


def switch() -> BeforeValidator:
    """On or off: 1/true/yes/on or 0/false/no/off, any case."""
    def check(raw: str, name: str) -> bool:
        lowered = raw.lower()
        if lowered in _ON:
            return True
        if lowered in _OFF:
            return False
        raise refuse(f"{name} must be on or off (1/0, true/false), got {lowered!r}")
    return _validator(check)


def choice(*allowed: str) -> BeforeValidator:
    """One of ``allowed``, any case (stored lower-case)."""
    def check(raw: str, name: str) -> str:
        lowered = raw.lower()
        if lowered not in allowed:
            raise refuse(f"{name} must be one of {', '.join(allowed)}; got {lowered!r}")
        return lowered
    return _validator(check)


def http_url() -> BeforeValidator:
    """An ``http://`` or ``https://`` URL (checked by its scheme only, as the SDKs take it)."""
    def check(raw: str, name: str) -> str:
        if not raw.startswith(("http://", "https://")):
            raise refuse(f"{name} must be an http:// or https:// URL")
        return raw
    return _validator(check)


def text() -> BeforeValidator:
    """Free text, spaces at either end removed (blank: not set)."""
    return _validator(lambda raw, name: raw)


def secret_text(*, strip: bool = True) -> BeforeValidator:
    """A secret (key, token, URL with a password): masked in ``repr``; blank: not set. ``strip=False``
    keeps spaces at either end (a signing key is used byte for byte)."""
    return _validator(lambda raw, name: SecretStr(raw), strip=strip)


def comma_list() -> BeforeValidator:
    """Comma-separated values, each stripped, empty ones dropped; a blank value is an empty list."""
    def validate(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return BeforeValidator(validate)


def reveal(value: SecretStr | None) -> str | None:
    """The text of a ``Secret`` field (None when it is not set)."""
    return None if value is None else value.get_secret_value()
