"""Bearer-token verification with PyJWT; pure functions, no I/O.

Rules: RFC 6750 (bearer tokens, ``WWW-Authenticate``), RFC 7519 (JWT claims), RFC 8725
(JWT best practices: the accepted algorithms come from configuration, never from the token).
"""

from __future__ import annotations

import time
from typing import Any

import jwt

from server.config import AuthSettings
from server.errors import Unauthenticated
from server.principal import Principal


def bearer_token(authorization: str | None) -> str:
    """Extract the token from an ``Authorization: Bearer <token>`` header value.

    Raises:
        Unauthenticated: header missing or not a bearer credential.
    """
    if not authorization:
        raise Unauthenticated("Missing bearer token: send 'Authorization: Bearer <token>'")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Authorization header must be 'Bearer <token>'")
    return token.strip()


def _claim(claims: dict[str, Any], path: str) -> Any:
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


class TokenVerifier:
    """``verify_token`` with a cache of tokens already verified, bounded by count and bytes.

    Signature checks dominate the cost of a poll, and a client polls with the same token every
    two seconds. A cached entry is used only while the token's ``exp`` (plus leeway) has not
    passed, so caching never extends a token's life; the key is the whole token string, so any
    change to it is a miss.

    Bounds (issue 11: 4,000 valid 60 KB tokens once held 231 MB): a token longer than
    ``max_token_bytes`` is verified every time and never cached; the cache holds at most
    ``max_entries`` entries and ``max_bytes`` bytes (token length plus ``ENTRY_OVERHEAD_BYTES``),
    dropping the least recently used first; expired entries are purged at most once per
    ``PURGE_INTERVAL_SECONDS``, as a later insert happens, so they do not wait to be pushed out.

    Args:
        settings: how tokens are verified.
        max_entries: most cached tokens.
        max_bytes: most bytes of cached tokens, estimated as above.
        max_token_bytes: longest token cached, bytes.
    """

    ENTRY_OVERHEAD_BYTES = 330  # dict slot, tuple, Principal, user id, float, str header (tracemalloc: 325)
    PURGE_INTERVAL_SECONDS = 60.0

    def __init__(self, settings: AuthSettings, max_entries: int = 10_000, max_bytes: int = 8 * 1024 * 1024,
                 max_token_bytes: int = 8 * 1024):
        self._settings = settings
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._max_token_bytes = max_token_bytes
        self._cache: dict[str, tuple[Principal, float]] = {}  # least recently used first
        self._bytes = 0
        self._next_purge = 0.0

    @property
    def cached_bytes(self) -> int:
        """Estimated bytes held by the cache (see the class docstring)."""
        return self._bytes

    def verify(self, token: str) -> Principal:
        """Return the token's principal; raises ``Unauthenticated`` like ``verify_token``."""
        now = time.time()
        hit = self._cache.pop(token, None)
        if hit is not None:
            principal, valid_until = hit
            if now < valid_until:
                self._cache[token] = hit  # most recently used last
                return principal
            self._bytes -= self._size(token)
        principal, expires_at = _verify(self._settings, token)
        if len(token) <= self._max_token_bytes:
            self._insert(token, (principal, expires_at + self._settings.leeway_seconds), now)
        return principal

    def _insert(self, token: str, entry: tuple[Principal, float], now: float) -> None:
        if now >= self._next_purge:
            self._purge_expired(now)
        size = self._size(token)
        while self._cache and (len(self._cache) >= self._max_entries or self._bytes + size > self._max_bytes):
            oldest = next(iter(self._cache))
            del self._cache[oldest]
            self._bytes -= self._size(oldest)
        self._cache[token] = entry
        self._bytes += size

    def _purge_expired(self, now: float) -> None:
        self._next_purge = now + self.PURGE_INTERVAL_SECONDS
        for token in [key for key, (_, valid_until) in self._cache.items() if valid_until <= now]:
            del self._cache[token]
            self._bytes -= self._size(token)

    def _size(self, token: str) -> int:
        return len(token) + self.ENTRY_OVERHEAD_BYTES


def _roles(claims: dict[str, Any], path: str) -> list[str]:
    """The role strings at ``path``: one string, or a list of them (some identity providers issue lists)."""
    value = _claim(claims, path)
    values = value if isinstance(value, list) else [value]
    return [role for role in values if isinstance(role, str)]


def verify_token(settings: AuthSettings, token: str) -> Principal:
    """Verify a JWT and return its principal.

    Checks the signature with the configured key and algorithms only, requires ``exp`` and
    ``sub``, checks ``aud``/``iss`` exactly when configured, with ``leeway_seconds`` of skew. A
    token with an ``aud`` claim is refused while ``JWT_AUDIENCE`` is unset (safe default), with a
    message that says to set it.

    Raises:
        Unauthenticated: any failure; the detail names the kind of failure, never the token.
    """
    return _verify(settings, token)[0]


def _verify(settings: AuthSettings, token: str) -> tuple[Principal, float]:
    required = ["exp", "sub"] + (["aud"] if settings.audience else []) + (["iss"] if settings.issuer else [])
    options = {"require": required}
    try:
        claims = jwt.decode(
            token, settings.key, algorithms=list(settings.algorithms), audience=settings.audience,
            issuer=settings.issuer, leeway=settings.leeway_seconds, options=options,  # type: ignore[arg-type]
        )
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("Token has expired") from None
    except jwt.InvalidAudienceError:
        if settings.audience is None:  # PyJWT refuses any 'aud' it was not told to expect
            raise Unauthenticated("Token has an 'aud' (audience) claim but the server expects none: the server "
                                  "must set JWT_AUDIENCE to your tokens' audience (Supabase: authenticated)") from None
        raise Unauthenticated("Token was issued for another audience (JWT_AUDIENCE)") from None
    except jwt.InvalidIssuerError:
        raise Unauthenticated("Token was issued by another issuer (JWT_ISSUER)") from None
    except jwt.MissingRequiredClaimError as missing:
        raise Unauthenticated(f"Token lacks the required '{missing.claim}' claim") from None
    except jwt.PyJWTError:
        raise Unauthenticated("Token is malformed or its signature is invalid") from None
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise Unauthenticated("Token 'sub' claim must be a non-empty string")
    roles = [role for path in settings.role_claims for role in _roles(claims, path)]
    is_admin = any(role in settings.admin_roles for role in roles)
    return Principal(user_id=subject, is_admin=is_admin), float(claims["exp"])


DEV_TOKEN_TTL_SECONDS = 12 * 3600  # development tokens last a working day; their secret dies with the process


def mint_token(settings: AuthSettings, subject: str, *, admin: bool = False, ttl_seconds: int = 3600) -> str:
    """Sign an HS256 token for ``subject`` with the configured secret (dev and scripts).

    Returns the compact JWT. Raises ``ValueError`` when the server verifies with a public key
    (it cannot sign: mint those tokens with your identity provider).
    """
    if settings.algorithms != ("HS256",):
        raise ValueError("tokens can only be minted with an HS256 JWT_SECRET")
    now = int(time.time())
    claims: dict[str, Any] = {"sub": subject, "iat": now, "exp": now + ttl_seconds}
    if admin:
        claims["role"] = settings.admin_roles[0]
    if settings.audience:
        claims["aud"] = settings.audience
    if settings.issuer:
        claims["iss"] = settings.issuer
    return jwt.encode(claims, settings.key, algorithm="HS256")
