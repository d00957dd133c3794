from __future__ import annotations

import strawberry

from schema.auth.cookies import (
    clear_refresh_cookie,
    read_device_cookie,
    read_refresh_cookie,
    set_device_cookie,
    set_refresh_cookie,
)
from schema.auth.types import AuthPayload, LoginInput, RegisterInput, User
from schema.context import Context, Info
from schema.errors import user_errors
from server.auth import flows
from server.auth.errors import InvalidRefreshToken
from server.auth.flows import SignedIn
from server.auth.throttle import TooManyAttempts
from server.clock import utcnow
from server.errors import DomainError, DomainErrors


def _client(context: Context) -> tuple[str | None, str | None]:
    conn = context.connection
    return conn.headers.get("user-agent"), conn.client.host if conn.client else None


def _payload(context: Context, signed_in: SignedIn) -> AuthPayload:
    set_refresh_cookie(context, signed_in.refresh_token)
    if signed_in.device_token is not None:
        set_device_cookie(context, signed_in.device_token)
    return AuthPayload(
        access_token=signed_in.access_token,
        expires_at=signed_in.expires_at,
        user=User.from_model(signed_in.user),
    )


@strawberry.type
class AuthMutations:
    @strawberry.mutation(description="Create an account and sign in (sets the refresh cookie).")
    async def register(self, info: Info, input: RegisterInput) -> AuthPayload:
        ctx = info.context
        user_agent, ip = _client(ctx)
        try:
            signed_in = await flows.register(
                ctx.db,
                ctx.settings,
                email=input.email,
                password=input.password,
                name=input.name,
                now=utcnow(),
                user_agent=user_agent,
                ip=ip,
            )
        except (DomainError, DomainErrors) as exc:
            return AuthPayload(errors=user_errors(exc))
        return _payload(ctx, signed_in)

    @strawberry.mutation(description="Sign in; also sets the HttpOnly refresh cookie.")
    async def login(self, info: Info, input: LoginInput) -> AuthPayload:
        ctx = info.context
        user_agent, ip = _client(ctx)
        try:
            signed_in = await flows.login(
                ctx.db,
                ctx.redis,
                ctx.settings,
                email=input.email,
                password=input.password,
                now=utcnow(),
                user_agent=user_agent,
                ip=ip,
                device_token=read_device_cookie(ctx),
                prepaid=ctx.take_prepaid_ip_unit(),
            )
        except TooManyAttempts as refused:
            ctx.headers["Retry-After"] = str(
                max(refused.retry_after, int(ctx.headers.get("Retry-After", "0")))
            )
            return AuthPayload(errors=user_errors(refused), retry_after=refused.retry_after)
        except (DomainError, DomainErrors) as exc:
            return AuthPayload(errors=user_errors(exc))
        return _payload(ctx, signed_in)

    @strawberry.mutation(
        description="Exchange the refresh cookie for a new access token and cookie."
    )
    async def refresh_token(self, info: Info) -> AuthPayload:
        ctx = info.context
        user_agent, ip = _client(ctx)
        token = read_refresh_cookie(ctx)
        if token is None:
            return AuthPayload(errors=user_errors(InvalidRefreshToken()))
        try:
            signed_in = await flows.refresh(
                ctx.db,
                ctx.redis,
                ctx.settings,
                refresh_token=token,
                now=utcnow(),
                user_agent=user_agent,
                ip=ip,
            )
        except DomainError as exc:
            clear_refresh_cookie(ctx)
            return AuthPayload(errors=user_errors(exc))
        return _payload(ctx, signed_in)

    @strawberry.mutation(description="End this session (every token of it) and clear the cookie.")
    async def logout(self, info: Info) -> bool:
        ctx = info.context
        actor = ctx.actor
        cookie = None if actor.session_id else read_refresh_cookie(ctx)
        ended = await flows.logout(
            ctx.db,
            ctx.redis,
            ctx.settings,
            now=utcnow(),
            session_id=actor.session_id,
            refresh_token=cookie,
        )
        clear_refresh_cookie(ctx)
        return ended
