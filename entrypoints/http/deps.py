"""The request's context (the application, the principal) as an ``Annotated`` dependency:
authentication, then the route's rule from :mod:`entrypoints.http.policy`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from entrypoints.http.auth import Signer, cached_principal, resolve
from entrypoints.http.policy import Rule, rule_for
from lifecycle.errors import Forbidden, NotFound
from workflows import queries_http, vocabulary
from workflows.identity import Principal, TokenCache

if TYPE_CHECKING:
    from entrypoints.bootstrap import App
    from workflows.service import Reads

R = TypeVar("R")
MAX_ID = 2**63 - 1


@dataclass(frozen=True)
class Ctx:
    app: App
    principal: Principal
    request: Request
    #: The request's read-only unit of work: the principal and the scope check were read in
    #: it, and the route's first query runs in it too (then it is closed).
    reads: Reads

    @property
    def actor(self) -> str:
        return self.principal.actor

    def space_filter(self) -> frozenset[int] | None:
        """The spaces a list is narrowed to (None: all, for an admin)."""
        return self.principal.spaces

    def query(self, fn: Any, /, **kwargs: Any) -> Any:
        """``fn`` in the request's unit of work (the first query) or in one of its own (any
        later one); either is closed when it returns."""
        try:
            return self.reads.query(fn, **kwargs)
        finally:
            self.reads.close()

    def handle(self, command: Any) -> Any:
        self.reads.close()  # a command reads what is committed, in its own transaction
        return self.app.service.handle(command)


def app_of(request: Request) -> App:
    app: App = request.app.state.innospace
    return app


def signer_of(request: Request) -> Signer:
    signer: Signer = request.app.state.signer
    return signer


def tokens_of(request: Request) -> TokenCache | None:
    tokens: TokenCache | None = getattr(request.app.state, "tokens", None)
    return tokens


#: The scopes whose check reads the database.
_READ_SCOPES = frozenset({"tenancy", "exit_case", "space"})


async def authenticated(request: Request) -> AsyncIterator[Ctx]:
    """Authentication, then the route's rule; the request's unit of work is closed when the
    route has run (the route's first query usually has closed it already). When the token's
    principal is cached and the rule needs no record read, nothing touches the database and
    this runs on the event loop; otherwise in the thread pool, as the route itself does."""
    ctx = _without_database(request)
    if ctx is None:
        ctx = await run_in_threadpool(_with_database, request)
    try:
        yield ctx
    finally:
        if ctx.reads.open:
            await run_in_threadpool(ctx.reads.close)


def _without_database(request: Request) -> Ctx | None:
    rule = rule_for(_route_name(request))
    tokens = tokens_of(request)
    if tokens is None:
        return None
    app = app_of(request)
    principal = cached_principal(app, request, tokens)
    if principal is None:
        return None
    if principal.role in rule.roles and rule.scope in _READ_SCOPES:
        return None
    reads = app.service.queries()
    authorize(reads.query, principal, rule, request)  # the role alone: no query is run
    return Ctx(app=app, principal=principal, request=request, reads=reads)


def _with_database(request: Request) -> Ctx:
    rule = rule_for(_route_name(request))
    app = app_of(request)
    reads = app.service.queries()
    try:
        principal = resolve(app, signer_of(request), request, reads, tokens_of(request))
        authorize(reads.query, principal, rule, request)
    except BaseException:
        reads.close()
        raise
    return Ctx(app=app, principal=principal, request=request, reads=reads)


def _route_name(request: Request) -> str:
    route = request.scope.get("route")
    return str(getattr(route, "name", ""))


#: Runs a named query (``Reads.query``, ``Service.query``).
Query = Callable[..., Any]


def authorize(query: Query, principal: Principal, rule: Rule, request: Request) -> None:
    if principal.role not in rule.roles:
        zh, en = vocabulary.words(vocabulary.ROLES, principal.role)
        raise Forbidden(
            f"角色「{zh}」（{principal.role}）无权执行此操作 / the {en} role may not do this",
            role=principal.role,
        )
    if rule.scope == "tenancy":
        tenancy_id = _int(request.path_params.get("tenancy_id"))
        if tenancy_id is not None and not may_see_tenancy(query, principal, tenancy_id):
            raise NotFound("tenancy", tenancy_id)
    elif rule.scope == "exit_case":
        case_id = _int(request.path_params.get("exit_case_id"))
        if case_id is not None:
            tenancy_id = query(queries_http.exit_case_tenancy, exit_case_id=case_id)
            if not may_see_tenancy(query, principal, tenancy_id):
                raise NotFound("exit_case", case_id)
    elif rule.scope == "space":
        code = request.path_params.get("space")
        if isinstance(code, str):
            space_id = query(queries_http.space_id, code=code)
            if not principal.may_see_space(space_id):
                raise NotFound("space", code)


def may_see_tenancy(query: Query, principal: Principal, tenancy_id: int) -> bool:
    """Whether the tenancy is within the account's scope (NotFound when it does not exist)."""
    space_id, firm_id = query(queries_http.tenancy_scope, tenancy_id=tenancy_id)
    if principal.role == "admin":
        return True
    if principal.role == "firm":
        return principal.firm_id is not None and firm_id == principal.firm_id
    if principal.role == "reviewer":
        if principal.account_id is None:
            return False
        return bool(
            query(
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


CtxDep = Annotated[Ctx, Depends(authenticated)]
