"""The request's context (the application, the principal) as an ``Annotated`` dependency:
authentication, then the route's rule from :mod:`entrypoints.http.policy`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from fastapi import Depends, Request

from entrypoints.http.auth import Signer, resolve
from entrypoints.http.policy import Rule, rule_for
from lifecycle.errors import Forbidden, NotFound
from workflows import queries_http
from workflows.identity import Principal

if TYPE_CHECKING:
    from entrypoints.bootstrap import App

R = TypeVar("R")
MAX_ID = 2**63 - 1


@dataclass(frozen=True)
class Ctx:
    app: App
    principal: Principal
    request: Request

    @property
    def actor(self) -> str:
        return self.principal.actor

    def space_filter(self) -> frozenset[int] | None:
        """The spaces a list is narrowed to (None: all, for an admin)."""
        return None if self.principal.role == "admin" else self.principal.space_ids

    def query(self, fn: Any, /, **kwargs: Any) -> Any:
        return self.app.service.query(fn, **kwargs)

    def handle(self, command: Any) -> Any:
        return self.app.service.handle(command)


def app_of(request: Request) -> App:
    app: App = request.app.state.innospace
    return app


def signer_of(request: Request) -> Signer:
    signer: Signer = request.app.state.signer
    return signer


def context(request: Request) -> Ctx:
    route = request.scope.get("route")
    rule = rule_for(getattr(route, "name", ""))
    app = app_of(request)
    principal = resolve(app, signer_of(request), request)
    authorize(app, principal, rule, request)
    return Ctx(app=app, principal=principal, request=request)


def authorize(app: App, principal: Principal, rule: Rule, request: Request) -> None:
    if principal.role not in rule.roles:
        raise Forbidden(
            f"角色 {principal.role} 无权执行此操作 / the role {principal.role} may not do this",
            role=principal.role,
        )
    if rule.scope == "tenancy":
        tenancy_id = _int(request.path_params.get("tenancy_id"))
        if tenancy_id is not None and not may_see_tenancy(app, principal, tenancy_id):
            raise NotFound("tenancy", tenancy_id)
    elif rule.scope == "exit_case":
        case_id = _int(request.path_params.get("exit_case_id"))
        if case_id is not None:
            tenancy_id = app.service.query(queries_http.exit_case_tenancy, exit_case_id=case_id)
            if not may_see_tenancy(app, principal, tenancy_id):
                raise NotFound("exit_case", case_id)
    elif rule.scope == "space":
        code = request.path_params.get("space")
        if isinstance(code, str):
            space_id = app.service.query(queries_http.space_id, code=code)
            if not principal.may_see_space(space_id):
                raise NotFound("space", code)


def may_see_tenancy(app: App, principal: Principal, tenancy_id: int) -> bool:
    """Whether the tenancy is within the account's scope (NotFound when it does not exist)."""
    space_id, firm_id = app.service.query(queries_http.tenancy_scope, tenancy_id=tenancy_id)
    if principal.role == "admin":
        return True
    if principal.role == "firm":
        return principal.firm_id is not None and firm_id == principal.firm_id
    if principal.role == "reviewer":
        if principal.account_id is None:
            return False
        return bool(
            app.service.query(
                queries_http.reviewer_assigned,
                tenancy_id=tenancy_id,
                account_id=principal.account_id,
            )
        )
    return principal.may_see_space(space_id)


def _int(value: object) -> int | None:
    try:
        number = int(str(value))
    except ValueError:
        return None
    return number if 1 <= number <= MAX_ID else None


CtxDep = Annotated[Ctx, Depends(context)]
