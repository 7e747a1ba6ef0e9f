"""Tenant isolation: a credential bound to a tenant reaches only that tenant; Flask-free.

A view scoped to a tenant says where a request names its tenant (a :class:`TenantSource`: a
URL variable, a header, a query parameter or a JSON body field); the framework layer reads it
and :func:`check_tenant` decides, before the view runs. The credential's tenant is the one it
was verified with (a key record's ``tenant``, an oauth issuer's ``tenant_claim``, a jwt
token's ``OTC_AUTH_TENANT_CLAIM``), never anything the request says about itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from .identity import Identity
from .refusals import MISSING_TENANT, TENANT_MISMATCH, TENANT_REQUIRED

KINDS: Final = {"view_arg": "the URL variable", "header": "the header",
                "query": "the query parameter", "body": "the JSON body field"}
_SPEC: Final = re.compile(r"(view_arg|header|query|body):([^\s:]+)")


@dataclass(frozen=True, slots=True)
class TenantSource:
    """Where a request names its tenant: ``kind`` (``view_arg``, ``header``, ``query`` or
    ``body``) and ``name``; a body field may be a dotted path (``request.tenant``)."""

    kind: str
    name: str

    @property
    def path(self) -> tuple[str, ...]:
        return tuple(self.name.split("."))

    @property
    def where(self) -> str:
        return f'{KINDS[self.kind]} "{self.name}"'


def tenant_source(spec: str | TenantSource) -> TenantSource:
    """``"view_arg:tenant"``, ``"header:X-Tenant"``, ``"query:tenant"``, ``"body:tenant_id"``
    as a :class:`TenantSource`; :class:`ValueError` names the forms for anything else."""
    if isinstance(spec, TenantSource):
        return spec
    match = _SPEC.fullmatch(spec) if isinstance(spec, str) else None
    if match is None:
        raise ValueError(f"tenant_from={spec!r} is not one of view_arg:<name>, header:<name>, "
                         "query:<name>, body:<field>[.<field>...]")
    return TenantSource(match.group(1), match.group(2))


def caller_name(identity: Identity) -> str:
    """``"<method>:<subject or client>"``, as ``OTC_AUTH_CROSS_TENANT_CALLERS`` names it."""
    return f"{identity.method}:{identity.subject or identity.client or ''}"


def check_tenant(identity: Identity, requested: str | None, source: TenantSource,
                 cross_tenant: frozenset[str]) -> bool:
    """Refuse a request for a tenant the credential is not bound to; ``True`` when an
    operator credential (``cross_tenant``) crossed into a tenant not its own, to be audited.

    A request that names no tenant where the view reads it is 400 ``missing_tenant``; a
    credential bound to another tenant 403 ``tenant_mismatch``; a credential bound to none
    403 ``tenant_required``, unless it is an operator's.
    """
    if requested is None or not requested:
        raise MISSING_TENANT.failure(f"Name the tenant in {source.where}.",
                                     method=identity.method)
    bound = identity.tenant
    if bound == requested:
        return False
    if cross_tenant and caller_name(identity) in cross_tenant:
        return True
    if bound is None:
        raise TENANT_REQUIRED.failure(method=identity.method)
    raise TENANT_MISMATCH.failure(
        f"The credential is bound to another tenant than the one {source.where} names.",
        method=identity.method)
