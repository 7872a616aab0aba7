"""DigitalOcean API v2 over requests: pagination, rate limits, retries, and errors without secrets.

- Pagination follows `links.pages.next` until it is absent (per_page 200), whatever the page sizes.
- 429: wait `retry-after` seconds, else until `ratelimit-reset` (epoch seconds), then retry.
- 5xx, connection errors and timeouts: exponential backoff with full jitter, bounded.
- Every other failure raises DigitalOceanError with the HTTP status, DigitalOcean's error id,
  message and request id. The token is only ever in the Authorization header: it is never
  formatted into an error, a log line or a URL.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import requests

from billing_assets.secrets import checked_secret, redact

PER_PAGE = 200


class DigitalOceanError(RuntimeError):
    """An API failure; `permanent` when retrying cannot help (4xx but 429, a request that cannot be
    built). The message never holds the token: it passes through `redact`."""

    def __init__(self, message: str, *, status: int | None = None, error_id: str | None = None,
                 request_id: str | None = None, path: str | None = None, permanent: bool | None = None) -> None:
        self.status, self.error_id, self.request_id, self.path = status, error_id, request_id, path
        self.permanent = permanent if permanent is not None else (
            status is not None and 400 <= status < 500 and status != 429)
        message = redact(message)
        parts = [message]
        if status is not None:
            parts.append(f"HTTP {status}")
        if error_id:
            parts.append(f"id={error_id}")
        if request_id:
            parts.append(f"request_id={request_id}")
        if path:
            parts.append(f"path={path}")
        super().__init__(" | ".join(parts))


@dataclass
class Response:
    url: str
    status: int
    body: bytes | Path  # a Path when the body was streamed to a file (`download`)
    content_type: str

    @property
    def content(self) -> bytes:
        return self.body.read_bytes() if isinstance(self.body, Path) else self.body


class DigitalOceanClient:
    def __init__(self, token: str, base_url: str = "https://api.digitalocean.com", *, timeout_s: float = 30.0,
                 max_retries: int = 5, backoff_base_s: float = 1.0, backoff_max_s: float = 30.0,
                 sleep: Callable[[float], None] = time.sleep, session: requests.Session | None = None) -> None:
        token = checked_secret("DIGITALOCEAN_TOKEN", token)
        if not token:
            raise DigitalOceanError("DIGITALOCEAN_TOKEN is empty", permanent=True)
        self._token = token
        self._base = base_url.rstrip("/") + "/"
        self._timeout = timeout_s
        self._max_retries = max_retries
        self._backoff_base, self._backoff_max = backoff_base_s, backoff_max_s
        self._sleep = sleep
        self._session = session or requests.Session()
        self._session.headers.update({"Authorization": f"Bearer {token}", "Accept": "application/json",
                                      "User-Agent": "billing_assets/0.1"})

    def _url(self, path_or_url: str) -> str:
        if path_or_url.startswith(("http://", "https://")):
            # `next` links carry the public host; keep our base (tests, proxies) and only take path+query.
            parts = urlsplit(path_or_url)
            path_or_url = parts.path.lstrip("/") + (f"?{parts.query}" if parts.query else "")
        return urljoin(self._base, path_or_url.lstrip("/"))

    def _backoff(self, attempt: int) -> float:
        return random.uniform(0, min(self._backoff_max, self._backoff_base * 2 ** attempt))

    def _rate_limit_wait(self, response: requests.Response) -> float:
        retry_after = response.headers.get("retry-after")
        if retry_after and retry_after.strip().isdigit():
            return float(retry_after)
        reset = response.headers.get("ratelimit-reset")
        if reset and reset.strip().isdigit():
            return max(0.0, float(reset) - time.time())
        return self._backoff(0) or 1.0

    def get(self, path: str, params: dict | None = None) -> Response:
        return self._request(path, params, None)

    def download(self, path: str, dest: Path) -> Response:
        """GET with the body streamed to `dest` in 1 MiB pieces (invoice CSVs can be hundreds of MB);
        a connection lost mid-body is retried like any other, starting the file again."""
        return self._request(path, None, dest)

    def _request(self, path: str, params: dict | None, dest: Path | None) -> Response:
        url = self._url(path)
        display_path = urlsplit(url).path
        last_problem = "no attempt made"
        for attempt in range(self._max_retries + 1):
            try:
                response = self._session.get(url, params=params, timeout=self._timeout, stream=dest is not None)
                if dest is not None and response.status_code < 400:
                    with dest.open("wb") as out:
                        for piece in response.iter_content(chunk_size=1024 * 1024):
                            out.write(piece)
            except requests.Timeout:
                last_problem = f"timed out after {self._timeout:g}s"
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:  # incl. a body cut short
                last_problem = f"connection failed ({type(exc).__name__})"
            except requests.RequestException as exc:  # e.g. InvalidHeader: never heals, and quotes the header
                raise DigitalOceanError(f"the request could not be made: {type(exc).__name__}: "
                                        f"{redact(str(exc), self._token)}", path=display_path, permanent=True) from None
            else:
                if response.status_code == 429:
                    last_problem = "rate limited (429)"
                    if attempt < self._max_retries:
                        self._sleep(min(self._rate_limit_wait(response), 3600))
                        continue
                    raise self._error(response, display_path, "DigitalOcean kept rate-limiting the requests")
                if response.status_code >= 500:
                    last_problem = f"server error {response.status_code}"
                elif response.status_code >= 400:
                    raise self._error(response, display_path)
                else:
                    return Response(url, response.status_code, dest if dest is not None else response.content,
                                    response.headers.get("content-type", ""))
            if attempt < self._max_retries:
                self._sleep(self._backoff(attempt))
        raise DigitalOceanError(f"giving up after {self._max_retries + 1} attempts: {last_problem}",
                                path=display_path)

    def _error(self, response: requests.Response, path: str, prefix: str | None = None) -> DigitalOceanError:
        try:
            body = response.json()
        except ValueError:
            body = {}
        body = body if isinstance(body, dict) else {}
        message = redact(str(body.get("message") or response.reason or "request failed"), self._token)
        if response.status_code == 401:
            message = f"DigitalOcean rejected DIGITALOCEAN_TOKEN (check the token and its billing:read scope): {message}"
        elif response.status_code == 403:
            message = f"DIGITALOCEAN_TOKEN lacks a scope this call needs: {message}"
        if prefix:
            message = f"{prefix}: {message}"
        return DigitalOceanError(message, status=response.status_code, error_id=body.get("id"),
                                 request_id=body.get("request_id") or response.headers.get("x-request-id"),
                                 path=path)

    def pages(self, path: str, params: dict | None = None) -> Iterator[Response]:
        """Every page of a list endpoint, following `links.pages.next` until it is absent."""
        import json

        next_url: str | None = path
        query = {"per_page": PER_PAGE, **(params or {})}
        seen: set[str] = set()
        while next_url:
            page = self.get(next_url, params=query)
            query = None  # the next link carries its own query
            yield page
            try:
                body = json.loads(page.content)
            except ValueError as exc:
                raise DigitalOceanError(f"response is not JSON: {exc}", status=page.status,
                                        path=urlsplit(page.url).path) from None
            next_url = ((body.get("links") or {}).get("pages") or {}).get("next") if isinstance(body, dict) else None
            if next_url in seen:
                raise DigitalOceanError("pagination loops: the same next link twice", path=urlsplit(page.url).path)
            if next_url:
                seen.add(next_url)
