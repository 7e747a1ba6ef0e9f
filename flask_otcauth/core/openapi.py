"""How a server documents its authentication methods in OpenAPI 3.1 (the spec: servers MUST).

Free of Flask: each enabled method describes itself (``AuthMethod.security_scheme``), from the
validated settings, so a method added by an app is documented like the built-in ones.
"""

from __future__ import annotations

from .methods.base import SchemeObject
from .settings import Settings

SecurityRequirement = dict[str, list[str]]

__all__ = ["SchemeObject", "SecurityRequirement", "security_requirement", "security_schemes"]


def security_schemes(settings: Settings) -> dict[str, SchemeObject]:
    """``components.securitySchemes`` for the enabled methods, named after each method."""
    return {method.name: method.security_scheme(own) for method, own in settings.enabled}


def security_requirement(settings: Settings) -> list[SecurityRequirement]:
    """The ``security`` of a protected operation: any one enabled method satisfies it.

    An empty list, OpenAPI's "no authentication", when authentication is off.
    """
    return [{method.name: []} for method, _ in settings.enabled]
