"""`ServedLanguageModel`: a model behind an OpenAI-compatible server (vLLM, llama.cpp, transformers serve).

**Generation** posts the Tk-Instruct prompt, right-stripped as the local causal engine feeds it, to
``/completions`` (no chat template; ``chat=True`` sends it as one user message to ``/chat/completions``
under the server's template instead), greedy (``temperature: 0``), with ``max_tokens`` = the cap. The answer
must equal the local engine's, whose stop rule (`itprobe.decoding`) ignores stop sequences inside leading
whitespace, whereas a server's ``stop`` ends generation even at a leading newline. So the stop sequences are
sent, and the answer is taken from the server's text only when that text holds content before its first
stop: the server then stopped at the same occurrence as the local rule would. When it holds none (the server
stopped at a leading newline, or the model ended after whitespace), the request is repeated without
``stop`` and the whole continuation, up to the cap, is cut locally. Either way the answer is
``cut_answer`` of text the server generated greedily from the same prompt, i.e. the local engine's answer.
The raw text kept is cut after the first stop sequence (servers differ in whether they return it).

**Rank classification** needs the prompt's log-probabilities: each label is sent as token ids
(prompt ids + label ids under the local boundary rule, `itprobe.models.boundary`) with ``echo`` and
``logprobs``, and the label's score is the sum of its tokens' echoed log-probs, as the local engine sums them.
Token ids need the served model's tokenizer (``tokenizer=``, or the served name when it is a local
directory). Before the first rank request a probe checks that the server echoes prompt log-probs and
tokenises like that tokenizer; `ServedLanguageModel.rank_unavailable` gives the reason when it does not
(transformers serve and llama.cpp give no prompt log-probs; vLLM does), and rank work is then refused, never
approximated.

**Identity**: the base URL, the served name, and a digest of what the server reports about the model
(``/models`` entry: id, owner, root, parent, context length, llama.cpp's ``meta``; ``/version`` where
offered). The weights are not hashed: a server can change them behind one name, hence ``--no-cache``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from itprobe.decoding import Decoding, cut_answer
from itprobe.errors import UserError
from itprobe.models.base import ChoiceScore
from itprobe.models.boundary import causal_choice_ids, encode
from itprobe.models.endpoint import ApiClient, Endpoint, ServerRejected, parse_spec
from itprobe.models.packaged import PACKAGED, PackagedModelMissing, packaged_model_dir

ADAPTER_VERSION = "openai/v1"  # bump when requests or parsing change, so cached predictions are not reused
# the /models fields that name a model (request-time fields such as vLLM's `created` or permission ids are not)
IDENTITY_FIELDS = ("id", "object", "owned_by", "root", "parent", "max_model_len", "meta")
# how the CLI gives the tokenizer; a study config has no such option and says its own way (study.runner)
TOKENIZER_HINT = "pass --api-tokenizer (a local directory, packaged alias or Hugging Face id)"
# no tokenizer has tokens this long on average: a prompt of more characters than the context times this
# cannot fit, whatever the tokenizer (the guard for servers whose tokenizer is not known here)
MAX_CHARS_PER_TOKEN = 32
LOGPROB_SLACK = 1e-4  # servers round; a log-prob above this is no log-prob
PROBE_TEXT = "Definition: Answer yes or no.\n\nInput: Is the sky blue?\nOutput: yes"


@dataclass(frozen=True)
class ServedOptions:
    """How to talk to the server (the CLI's ``--chat``, ``--api-tokenizer``, ``--api-concurrency``, ...)."""

    chat: bool = False
    tokenizer: str | None = None  # a local directory, packaged alias or HF id; None: the served name if local
    concurrency: int = 8
    timeout_s: float = 300.0
    retries: int = 4
    trust_remote_code: bool = False


def _load_tokenizer(spec: str, trust_remote_code: bool) -> Any:
    from transformers import AutoTokenizer

    try:
        location = str(packaged_model_dir(spec)) if spec in PACKAGED else spec
        return AutoTokenizer.from_pretrained(location, trust_remote_code=trust_remote_code)
    except (OSError, ValueError, PackagedModelMissing) as err:
        raise UserError(f"--api-tokenizer: cannot load the tokenizer '{spec}': {err}") from None


def _default_tokenizer(options: ServedOptions, name: str) -> str | None:
    if options.tokenizer is not None:
        return options.tokenizer
    folder = Path(name)
    local = any((folder / f).is_file() for f in ("tokenizer.json", "tokenizer_config.json"))
    return name if name and local else None


def _through_stop(text: str, stop: Sequence[str]) -> str:
    """``text`` up to the end of its first stop sequence after leading whitespace (all of it if none)."""
    start = len(text) - len(text.lstrip())
    ends = [text.find(s, start) + len(s) for s in stop if s and s in text[start:]]
    return text[: min(ends)] if ends else text


class ServedLanguageModel:
    """A served model behind the `itprobe.models.base.LanguageModel` protocol (see the module doc)."""

    def __init__(
        self,
        client: ApiClient,
        endpoint: Endpoint,
        reported: dict[str, Any],
        options: ServedOptions = ServedOptions(),
        tokenizer: Any = None,
        tokenizer_spec: str | None = None,
    ) -> None:
        self.client, self.endpoint, self.reported, self.options = client, endpoint, reported, options
        self.tokenizer, self.tokenizer_spec = tokenizer, tokenizer_spec
        self.batch_size = options.concurrency  # predict_tasks sizes its progress steps by this
        self._probe_lock = threading.Lock()

    # ---- identity -------------------------------------------------------------------------------------
    @property
    def identity(self) -> str:
        digest = hashlib.sha256(json.dumps(self.reported, sort_keys=True).encode()).hexdigest()[:16]
        return f"{self.endpoint.spec}@served:{digest}"

    @property
    def fingerprint(self) -> str:
        """Identity plus what changes the numbers: the API used and the tokenizer of rank requests."""
        api = "chat" if self.options.chat else "completions"
        return f"{self.identity}|served|{api}|tokenizer={self.tokenizer_spec or '-'}|{ADAPTER_VERSION}"

    @property
    def api_description(self) -> str:
        if self.options.chat:
            return (
                "chat/completions: the prompt as one user message, under the server's chat template (--chat)"
            )
        return "completions: the raw Tk-Instruct prompt, no chat template"

    def provenance(self) -> dict[str, str]:
        """Report lines saying what was evaluated and how (the audit's provenance table)."""
        return {
            "served model": f"'{self.endpoint.model}' at {self.endpoint.base_url} (OpenAI-compatible server)",
            "served API": self.api_description,
            "served weights": (
                "not hashed: the identity is the base URL, the served name and what the server reports about "
                "it; a server can change weights behind one name (use --no-cache then)"
            ),
            "server reports": json.dumps(self.reported, sort_keys=True)[:500],
            "served tokenizer (rank requests)": self.tokenizer_spec or "none",
        }

    @property
    def max_positions(self) -> int | None:
        """The context the server reports (vLLM's ``max_model_len``, llama.cpp's ``meta.n_ctx_train``), so
        prompts get the local models' length guard (`itprobe.prompts.fit_to_context`)."""
        meta = self.reported.get("meta")
        for value in (
            self.reported.get("max_model_len"),
            meta.get("n_ctx_train") if isinstance(meta, dict) else None,
        ):
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                return value
        return None

    def _check_length(self, text: str) -> None:
        """Without a tokenizer prompts cannot be cut to the context: refuse one that surely does not fit,
        before it is sent whole."""
        limit = self.max_positions
        if self.tokenizer is None and limit is not None and len(text) > limit * MAX_CHARS_PER_TOKEN:
            raise UserError(
                f"{self.endpoint.spec}: a prompt of {len(text):,} characters cannot fit the served context of "
                f"{limit} tokens; {TOKENIZER_HINT} so that prompts are cut to fit"
            )

    # ---- generation -----------------------------------------------------------------------------------
    def _complete(self, text: str, decoding: Decoding) -> tuple[str, str | None]:
        """One greedy request for ``text`` under ``decoding`` (its cap as ``max_tokens``, its stop sequences
        as ``stop``): the server's text and finish reason."""
        body: dict[str, Any] = {
            "model": self.endpoint.model,
            "max_tokens": decoding.max_new_tokens,
            "temperature": 0,
        }
        if decoding.stop:
            body["stop"] = list(decoding.stop)
        if self.options.chat:
            body["messages"] = [{"role": "user", "content": text}]
            choice = _first_choice(
                self.client.post("chat/completions", body), self.client.url("chat/completions")
            )
            content = (choice.get("message") or {}).get("content")
        else:
            body["prompt"] = text
            choice = _first_choice(self.client.post("completions", body), self.client.url("completions"))
            content = choice.get("text")
        if content is not None and not isinstance(content, str):  # str() of a JSON object is not an answer
            raise UserError(
                f"{self.client.url('completions')}: the server's answer text is a JSON "
                f"{type(content).__name__}, not a string"
            )
        return content or "", choice.get("finish_reason")

    def _generate_one(self, prompt: str, decoding: Decoding) -> str:
        text = prompt.rstrip()
        self._check_length(text)
        out, finish = self._complete(text, decoding)
        stop = decoding.stop
        if stop and not cut_answer(out, stop) and finish != "length":
            # see the module doc: exact, not cheap (the same cap, no stop sequences sent)
            out, _ = self._complete(text, replace(decoding, stop=()))
        return _through_stop(out, stop)

    def generate(self, prompts: Sequence[str], decoding: Decoding) -> list[str]:
        """Greedy continuation of each prompt, one request each (at most ``concurrency`` in flight)."""
        return self.client.map(lambda p: self._generate_one(p, decoding), list(prompts))

    # ---- rank classification --------------------------------------------------------------------------
    @functools.cached_property
    def _rank_problem(self) -> str | None:
        if self.options.chat:
            return "chat mode (--chat) gives no prompt log-probs; rank classification needs /completions"
        if self.tokenizer is None:
            return f"rank classification sends exact token ids and needs the served model's tokenizer: {TOKENIZER_HINT}"
        body = {"model": self.endpoint.model, "prompt": PROBE_TEXT, "echo": True, "logprobs": 1,
                "max_tokens": 1, "temperature": 0}  # fmt: skip
        try:
            answer = self.client.post("completions", body)
        except ServerRejected as err:
            return f"the server rejects echo + logprobs on /completions (HTTP {err.status}: {err.detail})"
        choice = _first_choice(answer, self.client.url("completions"))
        values = (choice.get("logprobs") or {}).get("token_logprobs")
        if not values:
            return "the server returns no prompt log-probs for echo + logprobs (it gives none, or only generated ones)"
        ours = len(encode(self.tokenizer, PROBE_TEXT))
        usage = answer.get("usage") or {}
        theirs = int(usage.get("prompt_tokens") or len(values) - 1)
        if theirs != ours:
            return (
                f"the tokenizer '{self.tokenizer_spec}' splits a probe prompt into {ours} tokens and the server "
                f"into {theirs}; pass the served model's own tokenizer: {TOKENIZER_HINT}"
            )
        return None

    def rank_unavailable(self) -> str | None:
        """Why rank classification cannot run on this server (None when it can); probes it once."""
        with self._probe_lock:
            return self._rank_problem

    def _score_one(self, item: tuple[tuple[int, ...], tuple[tuple[int, ...], ...]]) -> list[ChoiceScore]:
        context, labels = item
        rows = [list(context) + list(label) for label in labels]
        body = {"model": self.endpoint.model, "prompt": rows, "echo": True, "logprobs": 1, "max_tokens": 1,
                "temperature": 0}  # fmt: skip
        answer = self.client.post("completions", body)
        choices = sorted(answer.get("choices") or [], key=lambda c: int(c.get("index", 0)))
        if len(choices) != len(rows):
            raise UserError(
                f"{self.client.url('completions')}: {len(rows)} prompts sent, {len(choices)} answered"
            )
        scores = []
        for label, choice in zip(labels, choices, strict=True):
            values = (choice.get("logprobs") or {}).get("token_logprobs") or []
            part = values[len(context) : len(context) + len(label)]
            if len(part) != len(label) or any(v is None for v in part):
                raise UserError(
                    f"{self.client.url('completions')}: the server echoed no log-probs for a label"
                )
            scores.append(ChoiceScore(_logprob_sum(part, self.client.url("completions")), len(label)))
        return scores

    def score_choices(
        self, prompts: Sequence[str], choices: Sequence[Sequence[str]]
    ) -> list[list[ChoiceScore]]:
        """Log-likelihood of each choice after its prompt: one request per prompt, its labels batched."""
        if len(prompts) != len(choices):
            raise ValueError("one list of choices per prompt is required")
        problem = self.rank_unavailable()
        if problem is not None:
            raise UserError(f"rank classification on {self.endpoint.spec}: {problem}")
        items = [causal_choice_ids(self.tokenizer, p, c) for p, c in zip(prompts, choices, strict=True)]
        return self.client.map(self._score_one, items)


def _logprob_sum(values: Sequence[Any], url: str) -> float:
    """The sum of a label's echoed token log-probs, each checked: a number, finite, at most 0.

    Raises:
        UserError: one line saying which value the server sent (docs/refusals.md).
    """
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise UserError(f"{url}: the server sent a token log-prob that is not a number ({v!r:.40})")
        if not math.isfinite(v) or v > LOGPROB_SLACK:
            raise UserError(f"{url}: the server sent a token log-prob of {v}; a log-prob is finite and <= 0")
    return float(sum(values))


def _first_choice(answer: Any, url: str) -> dict[str, Any]:
    choices = answer.get("choices") if isinstance(answer, dict) else None
    if not choices or not isinstance(choices[0], dict):
        raise UserError(f"{url}: the server's answer has no choices")
    return choices[0]


def _reported(client: ApiClient, endpoint: Endpoint) -> tuple[str, dict[str, Any]]:
    """(the served name, what the server reports about it); a one-line error for a wrong URL or name."""
    try:
        listing = client.get("models", retries=0)
    except ServerRejected as err:
        raise UserError(
            f"{client.url('models')}: no OpenAI-compatible API there (HTTP {err.status}); "
            "the base URL usually ends in /v1"
        ) from None
    entries = [e for e in (listing or {}).get("data", []) if isinstance(e, dict) and "id" in e]
    names = [str(e["id"]) for e in entries]
    name = endpoint.model
    if not name:
        if len(names) != 1:
            raise UserError(
                f"{endpoint.base_url} serves {len(names)} models ({', '.join(names) or 'none'}); "
                "name one: openai:BASE_URL#NAME or --api-model NAME"
            )
        name = names[0]
    if name not in names:
        raise UserError(
            f"{endpoint.base_url} serves no model '{name}' (it serves: {', '.join(names) or 'none'})"
        )
    entry = entries[names.index(name)]
    reported = {k: entry[k] for k in IDENTITY_FIELDS if k in entry}
    root = endpoint.base_url.removesuffix("/v1")
    probe = ApiClient(root, timeout_s=5, retries=0, transport=client.transport)
    try:  # vLLM reports its version at /version; other servers have none
        version = probe.get("version")
        if isinstance(version, dict) and "version" in version:
            reported["server_version"] = version["version"]
    except UserError:
        pass
    finally:
        probe.close()
    return name, reported


def connect(
    spec: str,
    options: ServedOptions = ServedOptions(),
    *,
    transport: Any = None,
    sleep: Callable[[float], None] = time.sleep,
) -> ServedLanguageModel:
    """Reach the server of ``spec`` (``openai:BASE_URL#NAME``), check the name, and load the tokenizer.

    Raises:
        UserError: bad spec, server down, no such model, tokenizer that cannot be loaded.
    """
    endpoint = parse_spec(spec)
    client = ApiClient(
        endpoint.base_url,
        timeout_s=options.timeout_s,
        retries=options.retries,
        concurrency=options.concurrency,
        transport=transport,
        sleep=sleep,
    )
    name, reported = _reported(client, endpoint)
    endpoint = Endpoint(endpoint.base_url, name)
    tokenizer_spec = _default_tokenizer(options, name)
    tokenizer = _load_tokenizer(tokenizer_spec, options.trust_remote_code) if tokenizer_spec else None
    return ServedLanguageModel(client, endpoint, reported, options, tokenizer, tokenizer_spec)
