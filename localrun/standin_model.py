"""STAND-INS for the SageMaker endpoints' models, served through moto's SageMaker runtime: one per task.

The stack deploys Hugging Face inference containers; the local run cannot run them, so `InvokeEndpoint`
on an endpoint that exists in moto is answered by a small deterministic STAND-IN of the task its model
serves, chosen by `HF_TASK` in the SageMaker model's container environment (endpoint -> endpoint
configuration -> model; `STAND_INS` lists the tasks). Each has the request and response shapes of the
Hugging Face inference toolkit for its task; its predictions are NOT the real model's, they only make
the pipeline's data flow visible:

- `text-classification` (`StandInTextClassifier`): a lexicon sentiment scorer; `{"inputs": str}` ->
  `[{"label": "POSITIVE", "score": 0.97}]`, `{"inputs": [str, ...]}` -> one `{"label", "score"}` per input.
- `image-classification` (`StandInImageClassifier`): decides by the image's header alone (format and
  size, read with the standard library; the pixels are checked, not looked at): six labels, an
  orientation (landscape, portrait, square) and a kind (photo for JPEG and WebP, graphic for the
  lossless formats); answers the top 5 `[{"label", "score"}, ...]`, best first, as the toolkit's
  image-classification pipeline does (`top_k` 5).
- `image-feature-extraction` (`StandInImageFeatureExtractor`): ViT-base's last hidden state shape,
  `[[[768 floats] x 197 tokens]]`, pseudo-random from the image's bytes; an answer of ~1.1 MB, larger
  than a DynamoDB item can hold.
- `summarization` (`StandInSummarizer`): the first sentence of the text (at most 60 words);
  `{"inputs": str}` -> `[{"summary_text": "..."}]`, the toolkit's summarization shape.

An endpoint whose configuration has an AsyncInferenceConfig takes `InvokeEndpointAsync` instead
(`StandInEndpoint.invoke_async`): the request is queued, and ASYNC_PROCESSING_SECONDS later on the
emulator's clock (`run_due`, pumped by `LocalCloud` like Lambda's retry queue) the stand-in reads the input
object as it is then in S3, writes its answer to `<S3OutputPath><uuid>.out` (or the error to
`<S3FailurePath><uuid>-error.out`) and publishes SageMaker's notification to the success (or error) topic,
whose subscriptions deliver it like any other SNS message.

Requests the real container rejects get the error AWS returns for a model failure: `ModelError` (HTTP
424) with `OriginalStatusCode` 400 (the toolkit's handler turns every exception into a 400): a content
type the toolkit does not decode (its `UnsupportedFormatError`), a body its decoder cannot read (not
JSON; bytes that are not an image: PIL's "cannot identify image file"), or a request the task's pipeline
cannot take (no `inputs`, text sent to an image task). An endpoint whose model names no `HF_TASK`, or a
task without a stand-in, is an error naming it (`NoStandIn`), raised when the stack is deployed.
`EndpointFaults` injects failures into every stand-in for tests: a seeded random fraction of calls are
throttled (`ThrottlingException`, as SageMaker runtime answers when an endpoint's concurrency is
exhausted), or every call fails permanently (`ModelError` 4xx).
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
import struct
import threading
import time
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Protocol
from urllib.parse import unquote

from botocore.exceptions import ClientError
from moto.core.exceptions import JsonRESTError
from moto.sagemaker.models import sagemaker_backends
from moto.sagemakerruntime.responses import SageMakerRuntimeResponse

from lambdas.inference.contract import HF_DECODED_CONTENT_TYPES

from .patches import Patch
from .services.sagemaker import check_invoke_endpoint_body

CONTENT_TYPE = "application/json"
VARIANT_NAME = "AllTraffic"
TASK_VARIABLE = "HF_TASK"  # the container variable the toolkit builds its pipeline from

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


class ServiceUnavailable(JsonRESTError):
    """InvokeEndpointAsync's documented 503: the service cannot take the request now."""

    code = 503

    def __init__(self) -> None:
        super().__init__("ServiceUnavailable", "The service is unavailable. Try your call again.")


class EndpointNotFound(JsonRESTError):
    code = 400

    def __init__(self, endpoint_name: str, account: str) -> None:
        super().__init__("ValidationError", f"Endpoint {endpoint_name} of account {account} not found.")


def _arn_parts(endpoint_arn: str) -> tuple[str, str, str]:
    parts = endpoint_arn.split(":")
    return parts[3], parts[4], parts[5].split("/", 1)[1]


class InvalidModelInput(ValueError):
    """The request is something the real container would reject with a 4xx."""


class NoStandIn(LookupError):
    """An endpoint's model serves a task the local run has no stand-in for (or names no task)."""


class StandInModel(Protocol):
    """What every stand-in offers: its Hugging Face task, and an answer to one request body."""

    task: ClassVar[str]

    def predict(self, payload: bytes, content_type: str) -> Any: ...


def _unsupported_format(content_type: str) -> InvalidModelInput:
    # sagemaker_inference.errors.UnsupportedFormatError's first sentence, which the toolkit raises for a
    # content type missing from its decoder map (contract.HF_DECODED_CONTENT_TYPES).
    return InvalidModelInput(f"Content type {content_type} is not supported by this framework.")


def _json_request(payload: bytes, content_type: str) -> Any:
    if content_type not in HF_DECODED_CONTENT_TYPES:
        raise _unsupported_format(content_type)
    if content_type != CONTENT_TYPE:
        raise InvalidModelInput(f"this task's pipeline cannot take a {content_type} input")
    try:
        return json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InvalidModelInput(f"request body is not JSON: {err}") from err


class StandInTextClassifier:
    """Deterministic lexicon sentiment scorer with Hugging Face text-classification I/O."""

    task: ClassVar[str] = "text-classification"

    def predict(self, payload: bytes, content_type: str = CONTENT_TYPE) -> list[dict[str, Any]]:
        request = _json_request(payload, content_type)
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


# -- images: what the toolkit's PIL decoder would open, read from the header with the standard library ----
@dataclass(frozen=True)
class ImageHeader:
    format: str  # PIL's format name: PNG, JPEG, GIF, BMP, WEBP
    width: int
    height: int


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # colour type -> samples per pixel
_JPEG_FRAME_MARKERS = frozenset(
    {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
)


def read_image(data: bytes) -> ImageHeader:
    """The image's format and size; InvalidModelInput when PIL could not open and decode it.

    PNG is checked whole (chunk CRCs, the compressed pixel data and its length), JPEG down to its
    end-of-image marker; GIF, BMP and WebP by their headers. TIFF, which the real container decodes, is
    not read by the stand-in: it answers 400 saying so."""
    if data.startswith(_PNG_SIGNATURE):
        return _read_png(data)
    if data.startswith(b"\xff\xd8\xff"):
        return _read_jpeg(data)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 13:
        width, height = struct.unpack("<HH", data[6:10])
        return _sized("GIF", width, height)
    if data.startswith(b"BM") and len(data) >= 26:
        width, height = struct.unpack("<ii", data[18:26])
        return _sized("BMP", width, abs(height))
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return _read_webp(data)
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        raise InvalidModelInput(
            "the local run's stand-in does not read TIFF images (the real container does)"
        )
    raise InvalidModelInput("cannot identify image file <_io.BytesIO object>")  # PIL's UnidentifiedImageError


def _sized(fmt: str, width: int, height: int) -> ImageHeader:
    if width <= 0 or height <= 0:
        raise InvalidModelInput(f"{fmt} image with no pixels ({width}x{height})")
    return ImageHeader(fmt, width, height)


def _read_png(data: bytes) -> ImageHeader:
    position, header, compressed = len(_PNG_SIGNATURE), None, bytearray()
    while position + 12 <= len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind, chunk = data[position + 4 : position + 8], data[position + 8 : position + 8 + length]
        (crc,) = struct.unpack(">I", data[position + 8 + length : position + 12 + length] or b"\0\0\0\0")
        if len(chunk) != length or zlib.crc32(kind + chunk) != crc:
            raise InvalidModelInput(f"broken PNG file (bad {kind!r} chunk)")
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            compressed += chunk
        elif kind == b"IEND":
            break
        position += 12 + length
    else:
        raise InvalidModelInput("image file is truncated (no PNG IEND chunk)")
    if header is None or header[3] not in _PNG_CHANNELS:
        raise InvalidModelInput("broken PNG file (no valid IHDR chunk)")
    width, height, depth, colour, _, _, interlace = header
    try:
        pixels = zlib.decompress(bytes(compressed))
    except zlib.error as err:
        raise InvalidModelInput(f"broken PNG file (pixel data: {err})") from err
    row = 1 + math.ceil(width * _PNG_CHANNELS[colour] * depth / 8)
    if interlace == 0 and len(pixels) != row * height:
        raise InvalidModelInput("image file is truncated (PNG pixel data too short)")
    return _sized("PNG", width, height)


def _read_jpeg(data: bytes) -> ImageHeader:
    if not data.rstrip(b"\0").endswith(b"\xff\xd9"):
        raise InvalidModelInput("image file is truncated (no JPEG end-of-image marker)")
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            raise InvalidModelInput("broken JPEG file (marker expected)")
        marker = data[position + 1]
        (length,) = struct.unpack(">H", data[position + 2 : position + 4])
        if marker in _JPEG_FRAME_MARKERS and position + 9 <= len(data):
            height, width = struct.unpack(">HH", data[position + 5 : position + 9])
            return _sized("JPEG", width, height)
        position += 2 + length
    raise InvalidModelInput("broken JPEG file (no frame header)")


def _read_webp(data: bytes) -> ImageHeader:
    chunk = data[12:16]
    if chunk == b"VP8X" and len(data) >= 30:
        width = 1 + int.from_bytes(data[24:27], "little")
        height = 1 + int.from_bytes(data[27:30], "little")
    elif chunk == b"VP8 " and len(data) >= 30:
        width, height = (v & 0x3FFF for v in struct.unpack("<HH", data[26:30]))
    elif chunk == b"VP8L" and len(data) >= 25:
        bits = int.from_bytes(data[21:25], "little")
        width, height = 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    else:
        raise InvalidModelInput("broken WebP file")
    return _sized("WEBP", width, height)


def _image_request(payload: bytes, content_type: str) -> ImageHeader:
    """The image the toolkit would decode from this request (it decodes by content type, PIL by bytes)."""
    if content_type not in HF_DECODED_CONTENT_TYPES:
        raise _unsupported_format(content_type)
    if not content_type.startswith("image/"):
        # transformers' load_image, given text, a JSON document or audio bytes instead of an image.
        raise InvalidModelInput(
            "Incorrect image source. Must be a valid URL starting with `http://` or `https://`, a valid "
            "path to an image file, or a base64 encoded string."
        )
    return read_image(payload)


class StandInImageClassifier:
    """Deterministic header-based classifier with Hugging Face image-classification I/O (top 5)."""

    task: ClassVar[str] = "image-classification"
    TOP_K: ClassVar[int] = 5  # the pipeline's default top_k
    PHOTO_FORMATS: ClassVar[frozenset[str]] = frozenset({"JPEG", "WEBP"})  # lossy: usually photographs

    def predict(self, payload: bytes, content_type: str = "image/png") -> list[dict[str, Any]]:
        return self.classify(_image_request(payload, content_type))

    def classify(self, image: ImageHeader) -> list[dict[str, Any]]:
        aspect = math.log(image.width / image.height)
        orientation = {"landscape": 3 * aspect, "portrait": -3 * aspect, "square": 1.5 - 3 * abs(aspect)}
        photo = 1.0 if image.format in self.PHOTO_FORMATS else -1.0
        kind = {"photo": photo, "graphic": -photo}
        logits = {f"{o} {k}": lo + lk for o, lo in orientation.items() for k, lk in kind.items()}
        total = sum(math.exp(v) for v in logits.values())
        scored = sorted(
            ((round(math.exp(v) / total, 4), label) for label, v in logits.items()),
            key=lambda s: (-s[0], s[1]),
        )
        return [{"label": label, "score": score} for score, label in scored[: self.TOP_K]]


class StandInImageFeatureExtractor:
    """Pseudo-random embeddings with the shape of ViT-base's image-feature-extraction answer."""

    task: ClassVar[str] = "image-feature-extraction"
    TOKENS: ClassVar[int] = 197  # 14 x 14 patches of a 224 x 224 image, plus the class token
    HIDDEN_SIZE: ClassVar[int] = 768

    def predict(self, payload: bytes, content_type: str = "image/png") -> list[list[list[float]]]:
        _image_request(payload, content_type)
        seed = int.from_bytes(hashlib.sha256(payload).digest()[:8], "big")
        values = random.Random(seed)  # noqa: S311 - deterministic stand-in output, not security
        return [[[round(values.gauss(0, 1), 4) for _ in range(self.HIDDEN_SIZE)] for _ in range(self.TOKENS)]]


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


class StandInSummarizer:
    """Deterministic extractive "summary" (the first sentence) with Hugging Face summarization I/O."""

    task: ClassVar[str] = "summarization"
    MAX_WORDS: ClassVar[int] = 60

    def predict(self, payload: bytes, content_type: str = CONTENT_TYPE) -> list[dict[str, str]]:
        request = _json_request(payload, content_type)
        inputs = request.get("inputs") if isinstance(request, dict) else None
        if not isinstance(inputs, str) or not inputs.strip():
            raise InvalidModelInput('expected {"inputs": <non-empty string>}')
        return [{"summary_text": self.summarize(inputs)}]

    @classmethod
    def summarize(cls, text: str) -> str:
        first = _SENTENCE_END.split(text.strip(), maxsplit=1)[0]
        words = first.split()
        return " ".join(words[: cls.MAX_WORDS])


# Every task the local run can serve: HF_TASK -> its stand-in.
STAND_INS: dict[str, type[StandInModel]] = {
    model.task: model
    for model in (
        StandInTextClassifier,
        StandInImageClassifier,
        StandInImageFeatureExtractor,
        StandInSummarizer,
    )
}


def stand_in_for(task: str | None, endpoint_name: str, model_name: str) -> StandInModel:
    """A new stand-in for `task`, or NoStandIn naming the endpoint, its model, the task and the fix."""
    if not task:
        raise NoStandIn(
            f"endpoint {endpoint_name}: its model {model_name} sets no {TASK_VARIABLE} in its container "
            f"environment, and the local run picks the model's stand-in by it; set "
            f"models.<name>.environment.{TASK_VARIABLE} (one of: {', '.join(sorted(STAND_INS))})"
        )
    if task not in STAND_INS:
        raise NoStandIn(
            f"endpoint {endpoint_name}: its model {model_name} serves {TASK_VARIABLE}={task!r}, and the "
            f"local run has no stand-in for that task (it has: {', '.join(sorted(STAND_INS))}). Add one to "
            f"localrun/standin_model.py: a class with task = {task!r} and predict(payload, content_type) "
            "answering as the Hugging Face toolkit does for that task, listed in STAND_INS"
        )
    return STAND_INS[task]()


@dataclass
class EndpointFaults:
    """Failures to inject into every InvokeEndpoint(Async) (tests only; the demo uses none)."""

    throttle_fraction: float = 0.0
    seed: int = 0
    permanent_model_error: bool = False
    # A poison input: any request holding this text makes the container fail (500), every time.
    crash_on_text: str | None = None
    # Every InvokeEndpointAsync answered 503 ServiceUnavailable (the async endpoint's queue refuses).
    async_unavailable: bool = False
    # How long an async request takes on the emulator's clock (None: ASYNC_PROCESSING_SECONDS).
    async_processing_seconds: float | None = None
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
    async_submitted: int = 0
    async_completed: int = 0
    async_failed: int = 0
    async_notification_failures: int = 0


# How long the emulated async endpoint takes from InvokeEndpointAsync to its notification, on the emulator's
# clock: the queue, the input's download, the model and the upload (a real one takes seconds to minutes, and
# up to the instance start when scaling from zero).
ASYNC_PROCESSING_SECONDS = 5.0
# InvokeEndpointAsync's InvocationTimeoutSeconds when the request names none (API Reference).
ASYNC_DEFAULT_TIMEOUT_SECONDS = 900.0


@dataclass
class AsyncRequest:
    """One InvokeEndpointAsync request in the emulated endpoint's queue."""

    account: str
    region: str
    endpoint_name: str
    input_location: str
    content_type: str
    inference_id: str
    output_location: str
    failure_location: str
    received_at: str
    due_at: float
    timed_out: bool = False  # the model would run past InvocationTimeoutSeconds: it fails at the timeout


class StandInEndpoint:
    """Answers SageMaker runtime `InvokeEndpoint` requests in moto, each with its endpoint's task stand-in.

    The patch sits on moto's response handler (not its backend) because only the handler sees the
    endpoint name in the request path, the raw body and the Content-Type header. The stand-in of an
    endpoint is found from what moto holds for it (its configuration's model's container environment)
    at every call, so an endpoint updated to another configuration is answered by its new model's task.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.faults = EndpointFaults()
        self.stats = EndpointStats()
        self.clock = clock
        self.async_queue: list[AsyncRequest] = []
        self.async_requests: list[AsyncRequest] = []  # every one received, for tests and the trace
        self.trace: Callable[[list[str], str, str], None] | None = None  # (uris, step, detail)
        # (role ARN, service, endpoint name) -> a client with that role's credentials: SageMaker's own calls
        # for an async request (the emulator's, recorded and enforced like a function's).
        self.role_client: Callable[[str, str, str], Any] | None = None
        self._lock = threading.Lock()
        self._stand_ins: dict[str, StandInModel] = {}  # by task: the stand-ins hold no per-call state

    def patches(self) -> list[Patch]:
        stand_in = self

        def invoke_endpoint_async(response: SageMakerRuntimeResponse) -> tuple[int, dict[str, str], str]:
            endpoint_name = unquote(response.path.split("/")[2])
            headers = {str(k).lower(): str(v) for k, v in dict(response.headers or {}).items()}
            return stand_in.invoke_async(
                response.current_account,
                response.region,
                endpoint_name,
                input_location=headers.get("x-amzn-sagemaker-inputlocation", ""),
                # ContentType travels in its own header (InvokeEndpointAsync has no body).
                content_type=headers.get("x-amzn-sagemaker-content-type", CONTENT_TYPE),
                inference_id=headers.get("x-amzn-sagemaker-inference-id") or str(uuid.uuid4()),
                timeout_seconds=float(
                    headers.get("x-amzn-sagemaker-invocationtimeoutseconds") or ASYNC_DEFAULT_TIMEOUT_SECONDS
                ),
            )

        def invoke_endpoint(response: SageMakerRuntimeResponse) -> tuple[int, dict[str, str], str]:
            # Path: /endpoints/<EndpointName>/invocations
            endpoint_name = unquote(response.path.split("/")[2])
            body = response.raw_body if response.raw_body is not None else response.body
            payload = body if isinstance(body, bytes) else str(body or "").encode("utf-8")
            headers = {str(k).lower(): str(v) for k, v in dict(response.headers or {}).items()}
            content_type = headers.get("content-type", CONTENT_TYPE)
            return stand_in.answer(
                response.current_account, response.region, endpoint_name, payload, content_type
            )

        return [
            Patch(
                "moto.sagemakerruntime.responses.SageMakerRuntimeResponse",
                "use_raw_body",
                True,
                reason="InvokeEndpoint bodies may be any bytes (an image): moto decodes every body as UTF-8",
            ),
            Patch(
                "moto.sagemakerruntime.responses.SageMakerRuntimeResponse",
                "invoke_endpoint",
                invoke_endpoint,
                reason="InvokeEndpoint answered by the stand-in of the endpoint model's task",
            ),
            Patch(
                "moto.sagemakerruntime.responses.SageMakerRuntimeResponse",
                "invoke_endpoint_async",
                invoke_endpoint_async,
                reason="InvokeEndpointAsync queued, then answered by the stand-in into S3 and SNS",
            ),
        ]

    def task_of(self, account: str, region: str, endpoint_name: str) -> tuple[str | None, str]:
        """(HF_TASK, model name) of the model behind an endpoint in moto (endpoint -> config -> model)."""
        backend = sagemaker_backends[account][region]
        endpoint = backend.endpoints[endpoint_name]
        config = backend.endpoint_configs[endpoint.endpoint_config_name]
        model_name = config.production_variants[0]["ModelName"]
        container = backend.describe_model(model_name).primary_container or {}
        return (container.get("Environment") or {}).get(TASK_VARIABLE), model_name

    def model_for(self, account: str, region: str, endpoint_name: str) -> StandInModel:
        task, model_name = self.task_of(account, region, endpoint_name)
        with self._lock:
            if task not in self._stand_ins:
                self._stand_ins[str(task)] = stand_in_for(task, endpoint_name, model_name)
            return self._stand_ins[str(task)]

    def check_endpoints(self, account: str, region: str) -> None:
        """NoStandIn for the first endpoint in moto whose task has no stand-in (run after a deploy)."""
        for endpoint_name in sorted(sagemaker_backends[account][region].endpoints):
            self.model_for(account, region, endpoint_name)

    def answer(
        self, account: str, region: str, endpoint_name: str, payload: bytes, content_type: str = CONTENT_TYPE
    ) -> tuple[int, dict[str, str], str]:
        """The HTTP answer (status, headers, body) of the endpoint, or the AWS error raised."""
        endpoint = sagemaker_backends[account][region].endpoints.get(endpoint_name)
        if endpoint is None:
            raise EndpointNotFound(endpoint_name, account)
        check_invoke_endpoint_body(endpoint, payload)  # limits.py: 4 MB serverless, 6 MB real-time
        model = self.model_for(account, region, endpoint_name)
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
            prediction = model.predict(payload, content_type)
        except InvalidModelInput as err:
            with self._lock:
                self.stats.model_errors += 1
            original = json.dumps({"code": 400, "type": "InternalServerException", "message": str(err)})
            raise ModelError(endpoint.arn, 400, original) from err
        with self._lock:
            self.stats.answered += 1
        headers = {"Content-Type": CONTENT_TYPE, "x-Amzn-Invoked-Production-Variant": VARIANT_NAME}
        return 200, headers, json.dumps(prediction)

    # -- asynchronous inference ------------------------------------------------------------------
    def invoke_async(
        self,
        account: str,
        region: str,
        endpoint_name: str,
        *,
        input_location: str,
        content_type: str,
        inference_id: str,
        timeout_seconds: float = ASYNC_DEFAULT_TIMEOUT_SECONDS,
    ) -> tuple[int, dict[str, str], str]:
        """Queue one InvokeEndpointAsync request; the answer SageMaker gives at once (202, the locations)."""
        backend = sagemaker_backends[account][region]
        endpoint = backend.endpoints.get(endpoint_name)
        if endpoint is None:
            raise EndpointNotFound(endpoint_name, account)
        output = self._async_output_config(account, region, endpoint_name)
        if output is None:
            raise AsyncNotConfigured(endpoint_name)
        if self.faults.async_unavailable:
            raise ServiceUnavailable()
        if not input_location.startswith("s3://"):
            raise AsyncNotConfigured(endpoint_name, f"InputLocation {input_location!r} is not an s3:// URI")
        name = str(uuid.uuid4())
        processing = self.faults.async_processing_seconds or ASYNC_PROCESSING_SECONDS
        request = AsyncRequest(
            account=account,
            region=region,
            endpoint_name=endpoint_name,
            input_location=input_location,
            content_type=content_type,
            inference_id=inference_id,
            output_location=_join(output["S3OutputPath"], f"{name}.out"),
            failure_location=_join(
                output.get("S3FailurePath") or output["S3OutputPath"], f"{name}-error.out"
            ),
            received_at=_iso(),
            due_at=self.clock() + min(processing, timeout_seconds),
            timed_out=processing > timeout_seconds,
        )
        self.model_for(account, region, endpoint_name)  # NoStandIn now, not later
        with self._lock:
            self.async_queue.append(request)
            self.async_requests.append(request)
            self.stats.async_submitted += 1
        self._record(request, f"async inference queued ({inference_id})")
        headers = {
            "X-Amzn-SageMaker-OutputLocation": request.output_location,
            "X-Amzn-SageMaker-FailureLocation": request.failure_location,
        }
        return 202, headers, json.dumps({"InferenceId": inference_id})

    def next_due(self) -> float | None:
        """When the next queued async request completes, on the emulator's clock (None: none queued)."""
        with self._lock:
            return min((r.due_at for r in self.async_queue), default=None)

    def run_due(self) -> bool:
        """Complete every queued async request that is due; True if any was."""
        with self._lock:
            now = self.clock()
            due = sorted((r for r in self.async_queue if r.due_at <= now), key=lambda r: r.due_at)
            for request in due:
                self.async_queue.remove(request)
        for request in due:
            self._complete(request)
        return bool(due)

    def _async_output_config(self, account: str, region: str, endpoint_name: str) -> dict[str, Any] | None:
        backend = sagemaker_backends[account][region]
        config = backend.endpoint_configs[backend.endpoints[endpoint_name].endpoint_config_name]
        return (getattr(config, "async_inference_config", None) or {}).get("OutputConfig")

    def _complete(self, request: AsyncRequest) -> None:
        """Read the input, run the stand-in, write the output or failure object, publish the notification:
        each an AWS call made with the model's execution role, as SageMaker makes them (so the role's
        policy and the key policy are enforced on them like on a function's calls)."""
        output = self._async_output_config(request.account, request.region, request.endpoint_name) or {}
        topics = output.get("NotificationConfig") or {}
        if request.timed_out:
            # The emulator's wording: SageMaker fails the request on its error topic at the timeout.
            self._fail(
                request, output, "ModelError: the inference did not complete within InvocationTimeoutSeconds"
            )
            return
        s3 = self._role_client(request, "s3")
        bucket, key = _split(request.input_location)
        try:
            payload = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as err:
            self._fail(request, output, f"ClientError: Failed to download the request from S3: {_error(err)}")
            return
        model = self.model_for(request.account, request.region, request.endpoint_name)
        try:
            if self.faults.permanent_model_error:
                raise InvalidModelInput("model failed to load (injected permanent fault)")
            if self.faults.crash_on_text and self.faults.crash_on_text.encode("utf-8") in payload:
                raise InvalidModelInput("crashed")
            prediction = model.predict(payload, request.content_type)
        except InvalidModelInput as err:
            # The reason as SageMaker words a model's error status ("Received ... error (NNN) from model").
            self._fail(
                request,
                output,
                f'ClientError: Received client error (400) from model with message "{err}". '
                "See the SageMaker Endpoint logs in your account for more information.",
            )
            return
        try:
            self._put(request, output, request.output_location, json.dumps(prediction).encode(), CONTENT_TYPE)
        except ClientError as err:
            self._fail(request, output, f"ClientError: Failed to upload the response to S3: {_error(err)}")
            return
        with self._lock:
            self.stats.async_completed += 1
        notice = self._notice(request, "Completed")
        notice["responseParameters"] = {
            "contentType": CONTENT_TYPE,
            "outputLocation": request.output_location,
        }
        self._record(request, f"async inference completed: {request.output_location}")
        self._publish(request, topics.get("SuccessTopic"), notice)

    def _fail(self, request: AsyncRequest, output: dict[str, Any], reason: str) -> None:
        try:
            self._put(request, output, request.failure_location, reason.encode("utf-8"), "text/plain")
        except ClientError as err:
            reason += f" (the failure object was not written either: {_error(err)})"
        with self._lock:
            self.stats.async_failed += 1
        notice = self._notice(request, "Failed")
        notice["failureReason"] = reason
        self._record(request, f"async inference failed: {reason[:80]}")
        self._publish(request, (output.get("NotificationConfig") or {}).get("ErrorTopic"), notice)

    def _put(
        self, request: AsyncRequest, output: dict[str, Any], uri: str, body: bytes, content_type: str
    ) -> None:
        """PutObject with the execution role, under OutputConfig's KmsKeyId when it names one."""
        bucket, key = _split(uri)
        encryption = (
            {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": output["KmsKeyId"]}
            if output.get("KmsKeyId")
            else {}
        )
        self._role_client(request, "s3").put_object(
            Bucket=bucket, Key=key, Body=body, ContentType=content_type, **encryption
        )

    def _role_client(self, request: AsyncRequest, service: str) -> Any:
        if self.role_client is None:
            raise RuntimeError("StandInEndpoint.role_client is not set: async requests need the emulator")
        backend = sagemaker_backends[request.account][request.region]
        _, model_name = self.task_of(request.account, request.region, request.endpoint_name)
        role_arn = backend.describe_model(model_name).execution_role_arn
        return self.role_client(role_arn, service, request.endpoint_name)

    @staticmethod
    def _notice(request: AsyncRequest, status: str) -> dict[str, Any]:
        """SageMaker's notification message (the fields of its documented example; see result_writer)."""
        return {
            "awsRegion": request.region,
            "eventTime": _iso(),
            "receivedTime": request.received_at,
            "invocationStatus": status,
            "requestParameters": {
                "contentType": request.content_type,
                "endpointName": request.endpoint_name,
                "inputLocation": request.input_location,
            },
            "inferenceId": request.inference_id,
            "eventVersion": "1.0",
            "eventSource": "aws:sagemaker",
            "eventName": "InferenceResult",
        }

    def _publish(self, request: AsyncRequest, topic_arn: str | None, notice: dict[str, Any]) -> None:
        if not topic_arn:
            return  # no topic configured: SageMaker sends no notification
        try:
            self._role_client(request, "sns").publish(TopicArn=topic_arn, Message=json.dumps(notice))
        except ClientError as err:
            # SageMaker counts it in NotificationFailures (alarmed); nobody hears of this inference.
            with self._lock:
                self.stats.async_notification_failures += 1
            self._record(request, f"notification not published: {_error(err)}")
            return
        self._record(request, f"notification published to {topic_arn.rsplit(':', 1)[-1]}")

    def _record(self, request: AsyncRequest, detail: str) -> None:
        if self.trace is not None:
            self.trace([request.input_location], f"sagemaker:{request.endpoint_name}", detail)


class AsyncNotConfigured(JsonRESTError):
    code = 400

    def __init__(self, endpoint_name: str, detail: str | None = None) -> None:
        super().__init__(
            "ValidationError",
            detail or f"Endpoint {endpoint_name} is not configured for asynchronous inference.",
        )


def _iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _join(prefix_uri: str, name: str) -> str:
    return prefix_uri.rstrip("/") + "/" + name


def _split(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def _error(err: ClientError) -> str:
    error = err.response.get("Error") or {}
    return f"{error.get('Code', 'Error')}: {error.get('Message', '')}".rstrip(": ")
