"""Reading orders: who may see one, and a buyer's own orders."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.actor import Actor
from server.auth.models import User
from server.orders.errors import OrderNotFound
from server.orders.models import Order
from server.organizations.access import Permission, readable_organization_ids


async def may_read_order(session: AsyncSession, actor: Actor, order: Order) -> bool:
    if actor.user_id is not None and order.buyer_user_id == actor.user_id:
        return True
    if actor.is_anonymous:
        # A guest order is readable with its id (an unguessable capability).
        return order.buyer_user_id is None
    readable = await readable_organization_ids(session, actor, Permission.ORDERS_READ)
    return order.organization_id in readable


def visible_buyer_email(actor: Actor, order: Order) -> str:
    """The buyer's email as a reader of the order sees it. Signed-in readers passed
    `may_read_order` as the buyer or the organization and see all of it; an anonymous
    reader holds only a guest order's id, which may have been forwarded or leaked, so
    gets a hint the guest recognises and a stranger learns little from."""
    return order.buyer_email if not actor.is_anonymous else masked_email(order.buyer_email)


def masked_email(email: str) -> str:
    """ "ada@example.co.uk" -> "a***@e***.uk"."""
    local, _, domain = email.partition("@")
    labels = domain.split(".")
    tld = f".{labels[-1]}" if len(labels) > 1 else ""
    return f"{local[:1]}***@{domain[:1]}***{tld}"


async def get_order(session: AsyncSession, *, actor: Actor, order_id: uuid.UUID) -> Order:
    order = await session.get(Order, order_id)
    if order is None or not await may_read_order(session, actor, order):
        raise OrderNotFound(field="id")
    return order


async def list_my_orders(
    session: AsyncSession, *, actor: Actor, first: int, after: uuid.UUID | None
) -> list[Order]:
    """The signed-in buyer's orders (and guest orders placed with their email), newest
    first; `after` is the id of the last order of the previous page."""
    user_id = actor.require_user()
    user = await session.get(User, user_id)
    assert user is not None
    query = (
        select(Order)
        .where(
            (Order.buyer_user_id == user_id)
            | ((Order.buyer_user_id.is_(None)) & (Order.buyer_email == user.email))
        )
        .order_by(Order.created_at.desc(), Order.id.desc())
        .limit(first)
    )
    if after is not None:
        anchor = (
            await session.execute(select(Order.created_at, Order.id).where(Order.id == after))
        ).first()
        if anchor is not None:
            query = query.where(
                (Order.created_at < anchor.created_at)
                | ((Order.created_at == anchor.created_at) & (Order.id < anchor.id))
            )
    return list((await session.scalars(query)).all())
