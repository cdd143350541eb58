"""Typed readers for environment settings.

Every reader fails with :class:`ConfigError` naming the variable, so a bad value
stops start-up with one clear line instead of a traceback deep inside Django.
"""

import os
from urllib.parse import urlsplit


class ConfigError(Exception):
    """A setting read from the environment is missing or malformed."""


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name}: expected a boolean (1/0, true/false), got {raw!r}")


def env_int(name: str, default: int, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}: expected a whole number, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name}: must be at least {minimum}, got {value}")
    return value


def env_float(name: str, default: float, minimum: float | None = None) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}: expected a number, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name}: must be at least {minimum}, got {value}")
    return value


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


def env_url(name: str, default: str, schemes: set[str], location_optional: set[str] = frozenset()) -> str:
    """A URL whose scheme is one of ``schemes`` and which names a host or a path
    (unless its scheme is in ``location_optional``, like ``console://``)."""
    raw = env_str(name, default)
    if not raw:
        raise ConfigError(f"{name}: is set but empty")
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018 - property access validates the port
    except ValueError as error:
        raise ConfigError(f"{name}: malformed URL ({error})") from None
    if parts.scheme not in schemes:
        expected = ", ".join(sorted(f"{scheme}://" for scheme in schemes))
        given = f"{parts.scheme}://" if parts.scheme else "none"
        raise ConfigError(f"{name}: unsupported scheme {given} (expected one of {expected})")
    if parts.scheme not in location_optional and not (parts.netloc or parts.path.strip("/")):
        raise ConfigError(f"{name}: names no host or path")
    return raw


def env_rate_map(name: str, default: str = "") -> dict[str, float]:
    """``gmail.com=20,qq.com=5`` -> {"gmail.com": 20.0, "qq.com": 5.0}."""
    rates: dict[str, float] = {}
    for item in env_list(name, default):
        domain, sep, rate = item.partition("=")
        try:
            if not sep:
                raise ValueError
            rates[domain.strip().lower()] = float(rate)
        except ValueError:
            raise ConfigError(f"{name}: expected domain=rate pairs, got {item!r}") from None
    return rates
