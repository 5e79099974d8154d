"""A STAND-IN for the SageMaker endpoint's model, served through moto's SageMaker runtime.

The stack deploys a Hugging Face text-classification container (SST-2 sentiment).
The local run cannot run that container, so `InvokeEndpoint` on any endpoint that
exists in moto is answered by `StandInSentimentModel`: a small deterministic
lexicon scorer with the same request and response shapes as the Hugging Face
inference toolkit — `{"inputs": str}` → `[{"label": "POSITIVE", "score": 0.97}]`,
`{"inputs": [str, ...]}` → one `{"label", "score"}` per input. Its predictions are
NOT the real model's; they only make the pipeline's data flow visible.

Requests the real container rejects (not JSON, no `inputs`) get the error AWS
returns for a model failure: `ModelError` (HTTP 424) with `OriginalStatusCode` 400.
`EndpointFaults` injects failures for tests: a seeded random fraction of calls are
throttled (`ThrottlingException`, as SageMaker runtime answers when an endpoint's
concurrency is exhausted), or every call fails permanently (`ModelError` 4xx).
"""

from __future__ import annotations

import json
import math
import random
import re
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from moto.core.exceptions import JsonRESTError
from moto.sagemaker.models import sagemaker_backends
from moto.sagemakerruntime.responses import SageMakerRuntimeResponse

from .patches import Patch
from .services.sagemaker import check_invoke_endpoint_body

CONTENT_TYPE = "application/json"
VARIANT_NAME = "AllTraffic"

_POSITIVE = frozenset(
    [
        "good",
        "great",
        "excellent",
        "amazing",
        "love",
        "loved",
        "lovely",
        "happy",
        "delighted",
        "wonderful",
        "fantastic",
        "superb",
        "fast",
        "friendly",
        "helpful",
        "perfect",
        "pleasant",
        "recommend",
        "best",
        "nice",
        "enjoyed",
        "smooth",
        "reliable",
        "thanks",
        "thank",
        "impressive",
        "brilliant",
        "awesome",
        "glad",
        "satisfied",
        "easy",
        "clean",
        "fresh",
        "delicious",
    ]
)
_NEGATIVE = frozenset(
    [
        "bad",
        "terrible",
        "awful",
        "hate",
        "hated",
        "poor",
        "slow",
        "broken",
        "rude",
        "angry",
        "disappointed",
        "disappointing",
        "worst",
        "horrible",
        "useless",
        "late",
        "missing",
        "damaged",
        "refund",
        "problem",
        "problems",
        "issue",
        "issues",
        "wrong",
        "never",
        "cold",
        "dirty",
        "expensive",
        "annoying",
        "failed",
        "failure",
        "crash",
        "crashed",
        "unhappy",
    ]
)
_NEGATIONS = frozenset({"not", "no", "never", "hardly", "isn't", "wasn't", "don't", "didn't", "can't"})
_WORD = re.compile(r"[a-zA-Z']+")


class ModelError(JsonRESTError):
    """SageMaker runtime's ModelError: the container answered with an error status."""

    code = 424

    def __init__(self, endpoint_arn: str, original_status: int, original_message: str) -> None:
        super().__init__(
            "ModelError",
            f"Received client error ({original_status}) from primary with message "
            f'"{original_message}". See the model logs for details.',
        )
        region, account, name = _arn_parts(endpoint_arn)
        self.description = json.dumps(
            {
                "__type": "ModelError",
                "message": self.message,
                "OriginalStatusCode": original_status,
                "OriginalMessage": original_message,
                "LogStreamArn": f"arn:aws:logs:{region}:{account}:log-group:/aws/sagemaker/Endpoints/{name}",
            }
        )


class ThrottlingException(JsonRESTError):
    """SageMaker runtime's answer when the endpoint cannot take another request now."""

    code = 400

    def __init__(self) -> None:
        super().__init__("ThrottlingException", "Rate exceeded")


class EndpointNotFound(JsonRESTError):
    code = 400

    def __init__(self, endpoint_name: str, account: str) -> None:
        super().__init__("ValidationError", f"Endpoint {endpoint_name} of account {account} not found.")


def _arn_parts(endpoint_arn: str) -> tuple[str, str, str]:
    parts = endpoint_arn.split(":")
    return parts[3], parts[4], parts[5].split("/", 1)[1]


class InvalidModelInput(ValueError):
    """The request is something the real container would reject with a 4xx."""


class StandInSentimentModel:
    """Deterministic lexicon sentiment scorer with Hugging Face text-classification I/O."""

    def predict(self, payload: bytes) -> list[dict[str, Any]]:
        try:
            request = json.loads(payload)
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise InvalidModelInput(f"request body is not JSON: {err}") from err
        inputs = request.get("inputs") if isinstance(request, dict) else None
        if isinstance(inputs, str):
            return [self.classify(inputs)]
        if isinstance(inputs, list) and inputs and all(isinstance(i, str) for i in inputs):
            return [self.classify(text) for text in inputs]
        raise InvalidModelInput('expected {"inputs": <string or non-empty list of strings>}')

    @staticmethod
    def classify(text: str) -> dict[str, Any]:
        words = [w.lower() for w in _WORD.findall(text)]
        balance = 0
        for index, word in enumerate(words):
            polarity = (word in _POSITIVE) - (word in _NEGATIVE)
            if polarity and index > 0 and words[index - 1] in _NEGATIONS:
                polarity = -polarity
            balance += polarity
        # Same output range as a softmax over two classes; ties lean positive like SST-2 models often do.
        probability_positive = 1 / (1 + math.exp(-1.5 * balance - 0.1))
        label = "POSITIVE" if probability_positive >= 0.5 else "NEGATIVE"
        score = probability_positive if label == "POSITIVE" else 1 - probability_positive
        return {"label": label, "score": round(score, 4)}


@dataclass
class EndpointFaults:
    """Failures to inject into every InvokeEndpoint (tests only; the demo uses none)."""

    throttle_fraction: float = 0.0
    seed: int = 0
    permanent_model_error: bool = False
    # A poison input: any request holding this text makes the container fail (500), every time.
    crash_on_text: str | None = None
    _random: random.Random = field(init=False, repr=False)
    _lock: threading.Lock = field(init=False, repr=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)  # noqa: S311 - reproducible fault injection, not security

    def should_throttle(self) -> bool:
        with self._lock:
            return self.throttle_fraction > 0 and self._random.random() < self.throttle_fraction


@dataclass
class EndpointStats:
    """What the stand-in endpoint answered, for tests and the demo summary."""

    answered: int = 0
    throttled: int = 0
    model_errors: int = 0


class StandInEndpoint:
    """Answers SageMaker runtime `InvokeEndpoint` requests in moto with the stand-in model.

    The patch sits on moto's response handler (not its backend) because only the
    handler sees the endpoint name in the request path and the raw body.
    """

    def __init__(self, model: StandInSentimentModel | None = None) -> None:
        self.model = model or StandInSentimentModel()
        self.faults = EndpointFaults()
        self.stats = EndpointStats()
        self._lock = threading.Lock()

    def patches(self) -> list[Patch]:
        stand_in = self

        def invoke_endpoint(response: SageMakerRuntimeResponse) -> tuple[int, dict[str, str], str]:
            # Path: /endpoints/<EndpointName>/invocations
            endpoint_name = unquote(response.path.split("/")[2])
            body = response.raw_body if response.raw_body is not None else response.body
            payload = body if isinstance(body, bytes) else str(body or "").encode("utf-8")
            return stand_in.answer(response.current_account, response.region, endpoint_name, payload)

        return [
            Patch(
                "moto.sagemakerruntime.responses.SageMakerRuntimeResponse",
                "invoke_endpoint",
                invoke_endpoint,
                reason="InvokeEndpoint answered by the stand-in model",
            )
        ]

    def answer(
        self, account: str, region: str, endpoint_name: str, payload: bytes
    ) -> tuple[int, dict[str, str], str]:
        """The HTTP answer (status, headers, body) of the endpoint, or the AWS error raised."""
        endpoint = sagemaker_backends[account][region].endpoints.get(endpoint_name)
        if endpoint is None:
            raise EndpointNotFound(endpoint_name, account)
        check_invoke_endpoint_body(endpoint, payload)  # limits.py: 4 MB serverless, 6 MB real-time
        if self.faults.should_throttle():
            with self._lock:
                self.stats.throttled += 1
            raise ThrottlingException()
        if self.faults.crash_on_text and self.faults.crash_on_text.encode("utf-8") in payload:
            with self._lock:
                self.stats.model_errors += 1
            original = json.dumps({"code": 500, "type": "InternalServerException", "message": "crashed"})
            raise ModelError(endpoint.arn, 500, original)
        try:
            if self.faults.permanent_model_error:
                raise InvalidModelInput("model failed to load (injected permanent fault)")
            prediction = self.model.predict(payload)
        except InvalidModelInput as err:
            with self._lock:
                self.stats.model_errors += 1
            original = json.dumps({"code": 400, "type": "InternalServerException", "message": str(err)})
            raise ModelError(endpoint.arn, 400, original) from err
        with self._lock:
            self.stats.answered += 1
        headers = {"Content-Type": CONTENT_TYPE, "x-Amzn-Invoked-Production-Variant": VARIANT_NAME}
        return 200, headers, json.dumps(prediction)
