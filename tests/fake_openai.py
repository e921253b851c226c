"""Fake OpenAI-compatible servers for the served-model tests.

An *app* is a function ``(method, path, body) -> (status, payload)`` (``payload`` a JSON-ready object, or
``(payload, headers)``); `mock_transport` runs it in-process behind ``httpx2.MockTransport`` and `serve_http`
behind a real HTTP server on 127.0.0.1 (a free port, stopped on exit), for the CLI tests.

`scripted_app` answers ``/completions`` from a fixed continuation per prompt, one character per token,
applying ``stop`` the way vLLM does (generation ends at the first occurrence anywhere, the stop string is not
returned). `logprob_app` computes echoed prompt log-probs with a local transformers model, as vLLM returns
them for ``echo`` + ``logprobs``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

App = Callable[[str, str, Any], tuple[int, Any]]


def models_payload(*names: str) -> dict[str, Any]:
    return {
        "object": "list",
        "data": [{"id": n, "object": "model", "owned_by": "test", "created": 0} for n in names],
    }


def _split(result: tuple[int, Any]) -> tuple[int, Any, dict[str, str]]:
    status, payload = result
    if isinstance(payload, tuple):
        return status, payload[0], payload[1]
    return status, payload, {}


def mock_transport(app: App) -> Any:
    import httpx2

    def handle(request: Any) -> Any:
        body = json.loads(request.content) if request.content else None
        status, payload, headers = _split(app(request.method, request.url.path, body))
        return httpx2.Response(status, json=payload, headers=headers)

    return httpx2.MockTransport(handle)


@contextmanager
def serve_http(app: App) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1; yields the base URL (``http://127.0.0.1:PORT/v1``)."""

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, method: str) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            status, payload, headers = _split(app(method, self.path, body))
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802
            self._answer("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._answer("POST")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def scripted_app(
    continuations: dict[str, str] | Callable[[str], str], name: str = "m", log: list[Any] | None = None
) -> App:
    """A server whose greedy continuation of prompt P is ``continuations[P]`` (or ``continuations(P)``), one
    character per token."""
    script = continuations if callable(continuations) else continuations.__getitem__

    def app(method: str, path: str, body: Any) -> tuple[int, Any]:
        if log is not None:
            log.append((method, path, body))
        if path.endswith("/models"):
            return 200, models_payload(name)
        if not path.endswith("/completions"):
            return 404, {"detail": "Not Found"}
        if body.get("model") != name:
            return 404, {"error": {"message": f"The model `{body.get('model')}` does not exist."}}
        prompt = body["prompt"] if "prompt" in body else body["messages"][0]["content"]
        text = script(prompt)[: body["max_tokens"]]
        finish = "length" if len(text) == body["max_tokens"] else "stop"
        hits = [text.find(s) for s in body.get("stop") or [] if s in text]
        if hits:
            text, finish = text[: min(hits)], "stop"
        if "messages" in body:
            return 200, {"choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                      "finish_reason": finish}]}  # fmt: skip
        return 200, {"choices": [{"index": 0, "text": text, "finish_reason": finish}]}

    return app


def prompt_logprobs(model: Any, ids: list[int]) -> list[float | None]:
    """log p(ids[t] | ids[:t]) for every t (None for the first token), in fp32."""
    import torch

    with torch.inference_mode():
        logits = model(input_ids=torch.tensor([ids])).logits[0].float()
    logp = torch.log_softmax(logits, dim=-1)
    return [None] + [float(logp[t - 1, ids[t]]) for t in range(1, len(ids))]


def logprob_app(model: Any, tokenizer: Any, name: str = "m", log: list[Any] | None = None) -> App:
    """A vLLM-like server: ``echo`` + ``logprobs`` give prompt log-probs (text or token-id prompts)."""

    def choice(index: int, ids: list[int]) -> dict[str, Any]:
        values = prompt_logprobs(model, ids) + [-1.0]  # max_tokens=1: one generated token follows
        tokens = tokenizer.convert_ids_to_tokens(ids) + ["<gen>"]
        logprobs = {"tokens": tokens, "token_logprobs": values, "top_logprobs": None,
                    "text_offset": list(range(len(tokens)))}  # fmt: skip
        return {"index": index, "text": "", "logprobs": logprobs, "finish_reason": "length"}

    def app(method: str, path: str, body: Any) -> tuple[int, Any]:
        if log is not None:
            log.append((method, path, body))
        if path.endswith("/models"):
            return 200, models_payload(name)
        if not path.endswith("/completions"):
            return 404, {"detail": "Not Found"}
        prompt = body["prompt"]
        if isinstance(prompt, str):
            ids = list(tokenizer(prompt)["input_ids"])
            return 200, {"choices": [choice(0, ids)], "usage": {"prompt_tokens": len(ids)}}
        rows = prompt if prompt and isinstance(prompt[0], list) else [prompt]
        return 200, {"choices": [choice(i, list(r)) for i, r in enumerate(rows)]}

    return app
