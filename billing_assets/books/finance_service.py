"""The platform's finance service: payables and receivables imported over HTTP, exactly once.

Both endpoints are idempotent on (identity tenant, source, external id): importing a document again
updates the row the first import created. So a request whose answer was lost (a dropped connection
after the service stored it) is simply sent again and comes back `updated`; nothing here needs an
idempotency key of its own.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
import requests

PAYABLE_PATH = "/api/v1/integrations/cloud/import-invoice"
RECEIVABLE_PATH = "/api/v1/integrations/billing/import-sales-invoice"
IDENTITY_TENANT, ROLE, SUBJECT = "platform-admin", "admin", "billing_assets"
TOKEN_LIFETIME = timedelta(minutes=5)


class FinanceServiceError(RuntimeError):
    """A push that did not go through; `permanent` when sending it again cannot help (4xx)."""

    def __init__(self, message: str, permanent: bool):
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class Imported:
    remote_id: str
    action: str  # created | updated


def mint_token(secret: str, now: datetime) -> str:
    """A short-lived HS256 JWT for the service's admin identity (tenant platform-admin, role admin)."""
    return jwt.encode({"sub": SUBJECT, "tenant": IDENTITY_TENANT, "role": ROLE, "iat": int(now.timestamp()),
                       "exp": int((now + TOKEN_LIFETIME).timestamp())}, secret, algorithm="HS256")


class FinanceServiceClient:
    def __init__(self, base_url: str, secret: str, timeout_s: float = 30.0, max_retries: int = 3,
                 backoff_s: float = 1.0, session: requests.Session | None = None):
        self._base, self._secret = base_url.rstrip("/"), secret
        self._timeout, self._retries, self._backoff = timeout_s, max_retries, backoff_s
        self._session = session or requests.Session()

    def import_payable(self, payload: dict) -> Imported:
        return self._post(PAYABLE_PATH, payload)

    def import_receivable(self, payload: dict) -> Imported:
        return self._post(RECEIVABLE_PATH, payload)

    def _post(self, path: str, payload: dict) -> Imported:
        what = f"{payload['source']} {payload['external_id']}"
        problem = ""
        for attempt in range(self._retries + 1):
            headers = {"Authorization": f"Bearer {mint_token(self._secret, datetime.now(UTC))}"}
            wait = self._backoff * 2 ** attempt
            try:
                response = self._session.post(self._base + path, json=payload, headers=headers, timeout=self._timeout)
            except (requests.ConnectionError, requests.Timeout) as exc:
                problem = f"{type(exc).__name__} (the service may have stored it: sending it again updates it)"
            else:
                if response.status_code in (200, 201):
                    body = response.json()
                    if body.get("status") not in ("created", "updated") or not body.get("id"):
                        raise FinanceServiceError(f"{what}: unexpected answer {body!r}", permanent=True)
                    return Imported(str(body["id"]), body["status"])
                if response.status_code in (401, 403):
                    raise FinanceServiceError(f"{what}: the finance service refused the token ({response.status_code}):"
                                              " check FINANCE_JWT_SECRET", permanent=True)
                if response.status_code == 429 or response.status_code >= 500:
                    problem = f"HTTP {response.status_code}"
                    wait = max(wait, float(response.headers.get("Retry-After") or 0))
                else:
                    raise FinanceServiceError(f"{what}: refused with HTTP {response.status_code}: "
                                              f"{response.text[:300]}", permanent=True)
            if attempt < self._retries:
                time.sleep(wait)
        raise FinanceServiceError(f"{what}: giving up after {self._retries + 1} attempts: {problem}", permanent=False)
