"""An OpenAI-compatible endpoint: the model SPEC ``openai:BASE_URL#NAME``, and the HTTP client used to reach it.

The client is `httpx2` (the HTTP client `huggingface_hub`, and so transformers, already depends on). It
gives every user-caused failure as one line (`itprobe.errors.UserError`): server down, wrong base URL, wrong
model name, refused key, a request the server rejects. Requests are retried with exponential backoff on
HTTP 429 and 5xx, on timeouts and on dropped connections (``Retry-After`` is honoured); `ApiClient.map` runs
requests on a bounded thread pool and, on the first failure, cancels what has not started and raises.

The API key is read from ``$ITPROBE_API_KEY`` (else ``$OPENAI_API_KEY``) and only ever sent as a bearer
header: it is in no identity, cache key, report or error message.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from itprobe.errors import UserError

if TYPE_CHECKING:
    import httpx2

PREFIX = "openai:"
API_KEY_ENVS = ("ITPROBE_API_KEY", "OPENAI_API_KEY")
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
MAX_BACKOFF_S = 30.0

T = TypeVar("T")
R = TypeVar("R")


def is_served(spec: str) -> bool:
    """Whether a model SPEC names an OpenAI-compatible endpoint (``openai:...``)."""
    return spec.startswith(PREFIX)


@dataclass(frozen=True)
class Endpoint:
    """Where a served model is: the API base URL (ending before ``/completions``) and the served name."""

    base_url: str
    model: str = ""  # empty: the one model the server lists

    @property
    def spec(self) -> str:
        return f"{PREFIX}{self.base_url}#{self.model}"


def parse_spec(spec: str) -> Endpoint:
    """``openai:http://127.0.0.1:8000/v1#NAME`` → `Endpoint`; ``#NAME`` may be left out.

    Raises:
        UserError: not an ``openai:`` spec, or the URL is not http(s).
    """
    if not is_served(spec):
        raise UserError(f"'{spec}' is not a served-model spec (openai:BASE_URL#NAME)")
    base, _, name = spec[len(PREFIX) :].partition("#")
    base = base.strip().rstrip("/")
    if not re.match(r"^https?://[^/\s]+", base):
        raise UserError(
            f"model '{spec}': the base URL must start with http:// or https:// "
            "(e.g. openai:http://127.0.0.1:8000/v1#NAME)"
        )
    return Endpoint(base, name.strip())


def spec_from_options(model: str | None, api_base: str | None, api_model: str | None) -> str | None:
    """The SPEC the ``--api-base`` / ``--api-model`` options stand for (they win over ``--model``)."""
    if api_base is None:
        if api_model is not None:
            raise UserError("--api-model needs --api-base (or use --model openai:BASE_URL#NAME)")
        return model
    return f"{PREFIX}{api_base.strip().rstrip('/')}#{(api_model or '').strip()}"


def api_key() -> str | None:
    """The API key from the environment (`API_KEY_ENVS`, first set wins), or None."""
    for name in API_KEY_ENVS:
        value = os.environ.get(name, "").strip()
        if value:
            return value
    return None


class ServerRejected(UserError):
    """The server answered a request with a 4xx status that retrying cannot fix."""

    def __init__(self, url: str, status: int, detail: str) -> None:
        self.status, self.detail = status, detail
        super().__init__(f"{url}: the server refused the request (HTTP {status}: {detail})")


def _detail(response: httpx2.Response) -> str:
    """The server's error message in one short line (OpenAI, vLLM, FastAPI and llama.cpp shapes)."""
    text: Any
    try:
        body = response.json()
    except ValueError:
        text = response.text
    else:
        err = body.get("error", body.get("detail", body)) if isinstance(body, dict) else body
        text = err.get("message", err) if isinstance(err, dict) else err
    line = " ".join(str(text).split())
    return line[:300] + ("…" if len(line) > 300 else "") if line else response.reason_phrase


def _retry_after(response: httpx2.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    try:
        return min(float(value), MAX_BACKOFF_S)
    except ValueError:
        return None


class ApiClient:
    """JSON over HTTP to one base URL, with retries, timeouts and a concurrency limit.

    Args:
        base_url: the API base (``http://host:port/v1``).
        timeout_s: seconds a request may take (connecting: at most 10 of them).
        retries: further attempts after a retryable failure (429, 5xx, timeout, dropped connection).
        concurrency: requests in flight at once (`map`).
        transport: an ``httpx2`` transport (tests pass a ``MockTransport``); None: real HTTP.
        sleep: how to wait between attempts (tests pass a recorder).
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float = 300.0,
        retries: int = 4,
        concurrency: int = 8,
        transport: httpx2.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        backoff_s: float = 1.0,
    ) -> None:
        if concurrency < 1 or retries < 0 or timeout_s <= 0:
            raise UserError("the API concurrency must be >= 1, retries >= 0 and the timeout > 0")
        self.base_url = base_url.rstrip("/")
        self.timeout_s, self.retries, self.concurrency = timeout_s, retries, concurrency
        self.sleep, self.backoff_s, self.transport = sleep, backoff_s, transport
        import httpx2

        key = api_key()
        self._http = httpx2.Client(
            base_url=self.base_url + "/",
            headers={"Authorization": f"Bearer {key}"} if key else {},
            timeout=httpx2.Timeout(timeout_s, connect=min(10.0, timeout_s)),
            limits=httpx2.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
            transport=transport,
            trust_env=False,  # proxies from the environment must not capture a 127.0.0.1 server
        )

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def close(self) -> None:
        self._http.close()

    def get(self, path: str, *, retries: int | None = None) -> Any:
        return self._request("GET", path, None, self.retries if retries is None else retries)

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self._request("POST", path, body, self.retries)

    def _request(self, method: str, path: str, body: dict[str, Any] | None, retries: int) -> Any:
        import httpx2

        url = self.url(path)
        problem = ""
        for attempt in range(retries + 1):
            wait_s = min(self.backoff_s * 2**attempt, MAX_BACKOFF_S)
            try:
                response = self._http.request(method, path.lstrip("/"), json=body)
            except httpx2.TimeoutException:
                problem = f"no answer within {self.timeout_s:g} s (raise --api-timeout?)"
            except httpx2.ConnectError as err:
                problem = f"cannot connect ({_reason(err)}); is the server running?"
            except httpx2.TransportError as err:
                problem = f"connection failed ({_reason(err)})"
            else:
                if response.status_code < 400:
                    try:
                        return response.json()
                    except ValueError:
                        raise UserError(f"{url}: the server's answer is not JSON") from None
                if response.status_code in (401, 403):
                    names = " or ".join(f"${n}" for n in API_KEY_ENVS)
                    raise UserError(
                        f"{url}: the server refused the API key (HTTP {response.status_code}); "
                        f"set it in {names}"
                    )
                if response.status_code not in RETRY_STATUS:
                    raise ServerRejected(url, response.status_code, _detail(response))
                problem = f"HTTP {response.status_code}: {_detail(response)}"
                wait_s = _retry_after(response) or wait_s
            if attempt < retries:
                self.sleep(wait_s)
        tries = f" after {retries + 1} attempts" if retries else ""
        raise UserError(f"{url}: {problem}{tries}")

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """``[fn(x) for x in items]`` with at most ``concurrency`` calls in flight; results in input order.

        The first exception cancels the calls not yet started, waits for those running, and is re-raised.
        """
        if self.concurrency == 1 or len(items) <= 1:
            return [fn(x) for x in items]
        results: list[Any] = [None] * len(items)
        with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="itprobe-api") as pool:
            futures = {pool.submit(fn, x): i for i, x in enumerate(items)}
            pending: set[Any] = set(futures)
            while pending:
                done, pending = wait(pending, return_when=FIRST_EXCEPTION)
                for future in done:
                    error = future.exception()
                    if error is not None:
                        for other in pending:
                            other.cancel()
                        raise error
                    results[futures[future]] = future.result()
        return results


def _reason(err: Exception) -> str:
    text = " ".join(str(err).split())
    return text[:200] or type(err).__name__
