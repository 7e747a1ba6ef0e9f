"""Authentication schemes: one file each, all behind :class:`~.base.Scheme`."""

from __future__ import annotations

from ..config import Settings
from ..keys import KeyDirectory, KeyLoader
from ..storage import MemoryStorage, Storage
from .api_key import ApiKeyScheme
from .base import AuthRequest, Scheme
from .hmac import HmacScheme
from .jwt import JwtScheme

__all__ = ["ApiKeyScheme", "AuthRequest", "HmacScheme", "JwtScheme", "Scheme", "build_schemes"]


def build_schemes(
    settings: Settings,
    key_loader: KeyLoader | None = None,
    storage: Storage | None = None,
) -> dict[str, Scheme]:
    """The enabled schemes by method name, in the order of ``OTC_AUTH_METHODS``.

    ``storage`` is the app's shared storage (memory when none is given), for schemes that keep
    state.
    """
    schemes: dict[str, Scheme] = {}
    for method in settings.methods:
        if method == "api_key":
            keys = KeyDirectory(settings.api_key_records, key_loader,
                                cache_ttl=settings.api_key_cache_ttl,
                                negative_cache_ttl=settings.api_key_negative_cache_ttl)
            schemes[method] = ApiKeyScheme(keys, settings.api_key_headers)
        elif method == "jwt":
            schemes[method] = JwtScheme(
                settings.jwt_secrets,
                audiences=settings.jwt_audiences,
                require_audience=settings.jwt_require_audience,
                issuer=settings.jwt_issuer,
                max_lifetime=settings.jwt_max_lifetime,
                leeway=settings.jwt_leeway,
            )
        elif method == "hmac":
            nonces = storage if storage is not None else MemoryStorage()
            schemes[method] = HmacScheme(settings.hmac_clients, max_age=settings.hmac_max_age,
                                         leeway=settings.hmac_leeway, nonces=nonces,
                                         scopes=settings.hmac_client_scopes)
    return schemes
