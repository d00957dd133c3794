"""A fake Paystack API for tests: a real HTTP server speaking Paystack's JSON envelope
(`{"status": true|false, "message": ..., "data": ...}`), Bearer secret key required.

Endpoints: `POST /transaction/initialize` (a reference may be used once: a second
initialize is "Duplicate Transaction Reference"), `GET /transaction/verify/{reference}`,
`POST /refund`. Tests drive payments, refunds and disputes with `charge_success`,
`charge_failed`, `process_refund`, `open_dispute`, `resolve_dispute`, which return the
webhook event Paystack would send; `signed()` signs it (hex HMAC-SHA512 of the raw body
with the secret key, `x-paystack-signature`) and `deliver()` POSTs it to a URL.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import itertools
import json
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.fakes.server import BackgroundServer

SECRET_KEY = "sk_test_fake_paystack_0123456789abcdef"


class PaystackApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class FakePaystackState:
    transactions: dict[str, dict[str, Any]] = field(default_factory=dict)  # by reference
    refunds: dict[int, dict[str, Any]] = field(default_factory=dict)
    disputes: dict[int, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str, Any]] = field(default_factory=list)
    failures: list[int] = field(default_factory=list)
    lost: int = 0  # requests to carry out but answer with a 502, as if the answer was lost


class FakePaystack:
    secret_key = SECRET_KEY

    def __init__(self) -> None:
        self.state = FakePaystackState()
        self._lock = threading.Lock()
        self._ids = itertools.count(4_099_260_000)
        self._server = BackgroundServer(self._app())
        self.url = self._server.url

    def start(self) -> FakePaystack:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def reset(self) -> None:
        with self._lock:
            self.state = FakePaystackState()

    def settings(self) -> dict[str, Any]:
        return {"paystack_secret_key": self.secret_key, "paystack_api_base": self.url}

    @property
    def transactions(self) -> dict[str, dict[str, Any]]:
        return self.state.transactions

    @property
    def refunds(self) -> dict[int, dict[str, Any]]:
        return self.state.refunds

    def fail_next(self, count: int = 1, status: int = 500) -> None:
        with self._lock:
            self.state.failures.extend([status] * count)

    def lose_next(self, count: int = 1) -> None:
        """Carry out the next requests but answer 502: the caller cannot tell whether
        they happened."""
        with self._lock:
            self.state.lost += count

    # ---- the world moving on: each returns the webhook event Paystack would send

    def charge_success(self, reference: str) -> dict[str, Any]:
        with self._lock:
            tx = self._transaction(reference)
            tx.update(
                status="success",
                gateway_response="Successful",
                paid_at=_now(),
                channel="card",
                fees=min(tx["amount"] * 15 // 1000 + 10000, 200000),
                authorization={
                    "authorization_code": f"AUTH_{secrets.token_hex(5)}",
                    "last4": "4081",
                },
            )
            return _event("charge.success", tx)

    def charge_failed(self, reference: str, reason: str = "Declined") -> dict[str, Any]:
        with self._lock:
            tx = self._transaction(reference)
            tx.update(status="failed", gateway_response=reason)
            return _event("charge.failed", tx)

    def process_refund(self, refund_id: int) -> dict[str, Any]:
        with self._lock:
            refund = self.state.refunds[refund_id]
            refund["status"] = "processed"
            return _event(
                "refund.processed",
                {
                    "id": refund["id"],
                    "status": "processed",
                    "transaction_reference": refund["transaction"]["reference"],
                    "refund_reference": f"RF{refund['id']}",
                    "amount": refund["amount"],
                    "currency": refund["currency"],
                    "processor": "fake",
                    "customer": refund["transaction"]["customer"],
                    "integration": 412829,
                    "domain": "test",
                },
            )

    def open_dispute(self, reference: str) -> dict[str, Any]:
        with self._lock:
            tx = self._transaction(reference)
            dispute = {
                "id": next(self._ids),
                "refund_amount": tx["amount"],
                "currency": tx["currency"],
                "status": "awaiting-merchant-feedback",
                "resolution": None,
                "domain": "test",
                "category": "chargeback",
                "transaction": copy.deepcopy(tx),
                "createdAt": _now(),
            }
            self.state.disputes[dispute["id"]] = dispute
            return _event("charge.dispute.create", dispute)

    def resolve_dispute(self, dispute_id: int, resolution: str) -> dict[str, Any]:
        """`resolution`: "declined" (the merchant won) or "merchant-accepted" (lost)."""
        with self._lock:
            dispute = self.state.disputes[dispute_id]
            dispute.update(status="resolved", resolution=resolution, resolvedAt=_now())
            return _event("charge.dispute.resolve", dispute)

    def signed(
        self, event: dict[str, Any] | bytes, *, secret: str | None = None
    ) -> tuple[bytes, dict[str, str]]:
        body = event if isinstance(event, bytes) else json.dumps(event).encode()
        signature = hmac.new((secret or self.secret_key).encode(), body, hashlib.sha512).hexdigest()
        return body, {"x-paystack-signature": signature, "Content-Type": "application/json"}

    async def deliver(self, url: str, event: dict[str, Any] | bytes, **sign: Any) -> httpx.Response:
        body, headers = self.signed(event, **sign)
        async with httpx.AsyncClient(timeout=30) as client:
            return await client.post(url, content=body, headers=headers)

    # ---- HTTP

    def _app(self) -> Starlette:
        return Starlette(
            routes=[
                Route(
                    "/transaction/initialize", self._endpoint(self._initialize), methods=["POST"]
                ),
                Route(
                    "/transaction/verify/{reference}", self._endpoint(self._verify), methods=["GET"]
                ),
                Route("/refund", self._endpoint(self._refund), methods=["POST"]),
            ]
        )

    def _endpoint(self, action: Any) -> Any:
        async def handle(request: Request) -> JSONResponse:
            body: Any = None
            if request.method == "POST":
                try:
                    body = json.loads(await request.body() or b"{}")
                except ValueError:
                    return _fail(400, "Invalid JSON body")
            with self._lock:
                self.state.requests.append((request.method, request.url.path, body))
                if request.headers.get("authorization") != f"Bearer {self.secret_key}":
                    return _fail(401, "Invalid key")
                if self.state.failures:
                    return _fail(self.state.failures.pop(0), "Internal server error")
                try:
                    message, data = action(body, **request.path_params)
                except PaystackApiError as exc:
                    return _fail(exc.status, exc.message)
                if self.state.lost:
                    self.state.lost -= 1
                    return _fail(502, "Bad gateway")
            return JSONResponse({"status": True, "message": message, "data": copy.deepcopy(data)})

        return handle

    def _initialize(self, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        email, amount = body.get("email"), body.get("amount")
        if not isinstance(email, str) or "@" not in email:
            raise PaystackApiError(400, "Invalid Email Address Passed")
        if isinstance(amount, str) and amount.isdigit():
            amount = int(amount)
        if not isinstance(amount, int) or amount <= 0:
            raise PaystackApiError(400, "Invalid Amount Sent")
        reference = body.get("reference") or secrets.token_hex(8)
        if reference in self.state.transactions:
            raise PaystackApiError(400, "Duplicate Transaction Reference")
        access_code = secrets.token_hex(8)
        metadata = body.get("metadata")
        self.state.transactions[reference] = {
            "id": next(self._ids),
            "domain": "test",
            "status": "abandoned",
            "reference": reference,
            "amount": amount,
            "gateway_response": "The transaction was not completed",
            "paid_at": None,
            "created_at": _now(),
            "channel": None,
            "currency": body.get("currency") or "NGN",
            "metadata": json.loads(metadata) if isinstance(metadata, str) else metadata,
            "fees": None,
            "customer": {"id": next(self._ids), "email": email, "customer_code": "CUS_fake"},
            "authorization": None,
            "requested_amount": amount,
            "access_code": access_code,
            "refunded": 0,
        }
        return "Authorization URL created", {
            "authorization_url": f"https://checkout.paystack.com/{access_code}",
            "access_code": access_code,
            "reference": reference,
        }

    def _verify(self, body: Any, reference: str) -> tuple[str, dict[str, Any]]:
        tx = self.state.transactions.get(reference)
        if tx is None:
            raise PaystackApiError(400, "Transaction reference not found")
        data = {k: v for k, v in tx.items() if k not in ("access_code", "refunded")}
        return "Verification successful", data

    def _refund(self, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        tx = self.state.transactions.get(str(body.get("transaction")))
        if tx is None:
            raise PaystackApiError(404, "Transaction not found")
        if tx["status"] not in ("success", "reversed"):
            raise PaystackApiError(400, "Cannot refund a transaction that has not been completed")
        remaining = tx["amount"] - tx["refunded"]
        amount = body.get("amount", remaining)
        if not isinstance(amount, int) or amount <= 0:
            raise PaystackApiError(400, "Invalid amount")
        if remaining == 0:
            raise PaystackApiError(400, "Transaction has been fully reversed")
        if amount > remaining:
            raise PaystackApiError(400, "Refund amount cannot be more than the unrefunded balance")
        tx["refunded"] += amount
        if tx["refunded"] == tx["amount"]:
            tx["status"] = "reversed"
        refund = {
            "id": next(self._ids),
            "integration": 412829,
            "domain": "test",
            "transaction": {k: v for k, v in tx.items() if k not in ("access_code", "refunded")},
            "dispute": None,
            "amount": amount,
            "deducted_amount": amount,
            "currency": tx["currency"],
            "channel": None,
            "fully_deducted": True,
            "merchant_note": body.get("merchant_note"),
            "customer_note": body.get("customer_note"),
            "status": "pending",
            "refunded_by": "fake@example.com",
            "expected_at": _now(),
            "createdAt": _now(),
            "updatedAt": _now(),
        }
        self.state.refunds[refund["id"]] = refund
        return "Refund has been queued for processing", refund

    def _transaction(self, reference: str) -> dict[str, Any]:
        return self.state.transactions[reference]


def _event(name: str, data: dict[str, Any]) -> dict[str, Any]:
    public = {k: v for k, v in data.items() if k not in ("access_code", "refunded")}
    return {"event": name, "data": copy.deepcopy(public)}


def _fail(status: int, message: str) -> JSONResponse:
    return JSONResponse({"status": False, "message": message}, status_code=status)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
