"""Names shared by the stack (infra/) and the handler: one source of truth for both sides.

The handler imports this module relatively; infra/ and tests import it as
`lambdas.inference.contract`. It must stay dependency-free (no boto3, no pulumi).
"""

# The handler string the stack deploys; tests import the same module path.
HANDLER = "lambdas.inference.app.handler"

# Environment variables the stack sets on every inference function.
ENV_RESULTS_TABLE = "RESULTS_TABLE"
ENV_ENDPOINT_NAME = "ENDPOINT_NAME"
ENV_NOTIFICATIONS_TOPIC_ARN = "NOTIFICATIONS_TOPIC_ARN"
ENV_ROUTE_NAME = "ROUTE_NAME"
ENV_MAX_OBJECT_BYTES = "MAX_OBJECT_BYTES"
ENV_ENDPOINT_CONTENT_TYPE = "ENDPOINT_CONTENT_TYPE"
ENV_MAX_WORKERS = "MAX_WORKERS"
ENV_MODEL_MAX_BATCH_SIZE = "MODEL_MAX_BATCH_SIZE"
# The route's own bucket and S3 filter: the function refuses events for any other bucket, prefix or suffix
# (IAM denial stays the second wall, not the only one). An empty prefix/suffix matches every key.
ENV_BUCKET_NAME = "BUCKET_NAME"
ENV_ROUTE_PREFIX = "ROUTE_PREFIX"
ENV_ROUTE_SUFFIX = "ROUTE_SUFFIX"
# How the route's events reach the function (sns, sqs, lambda, eventbridge, kinesis); unset: not checked.
ENV_ROUTE_VIA = "ROUTE_VIA"
# kinesis routes: the name of the route's own stream. Records of any other stream are refused, and the name
# is the first part of every record's results key (kinesis://<stream>/...).
ENV_STREAM_NAME = "STREAM_NAME"

REQUIRED_ENV = (
    ENV_RESULTS_TABLE,
    ENV_ENDPOINT_NAME,
    ENV_NOTIFICATIONS_TOPIC_ARN,
    ENV_ROUTE_NAME,
    ENV_BUCKET_NAME,
)

# 1 MiB: well below SageMaker's payload limits (4 MB serverless, 6 MB real-time).
DEFAULT_MAX_OBJECT_BYTES = 1024 * 1024
DEFAULT_ENDPOINT_CONTENT_TYPE = "application/json"

# Results table: one item per object, keyed by its URI (README: The results item).
TABLE_PARTITION_KEY = "pk"
TABLE_PARTITION_KEY_TYPE = "S"

STATUS_COMPLETED = "completed"
STATUS_FAILED = "failed"
STATUS_REJECTED = "rejected"
STATUS_MISSING = "missing"
STATUSES = (STATUS_COMPLETED, STATUS_FAILED, STATUS_REJECTED, STATUS_MISSING)
# An async route's item between InvokeEndpointAsync and SageMaker's notification (not a final outcome).
STATUS_IN_PROGRESS = "in_progress"

REASON_TOO_LARGE = "too_large"
REASON_MALFORMED_JSON = "malformed_json"
REASON_NOT_TEXT = "not_text"
REASON_MODEL_ERROR = "model_error"
REASON_NO_SUCH_KEY = "no_such_key"

# Attributes of a results item (the contract other services read).
RESULT_ATTRIBUTES = (
    TABLE_PARTITION_KEY,
    "status",
    "reason",
    "prediction",
    "route",
    "sequencer",
    "version_id",
    "etag",
    "size",
    "endpoint",
    "processed_at",
)

# SNS message attributes on every outcome, so subscribers can use filter policies.
MESSAGE_ATTRIBUTE_STATUS = "status"
MESSAGE_ATTRIBUTE_ROUTE = "route"

# Added by the handler (additive): a GetObject for a version that no longer exists, and an object in an
# archive storage class that must be restored before it can be read.
REASON_NO_SUCH_VERSION = "no_such_version"
REASON_ARCHIVED = "archived"
# A 0-byte object (not a folder marker: those are skipped) has nothing to score.
REASON_EMPTY_OBJECT = "empty_object"

# Internal attribute of a results item: the sequencer in the form the conditional write orders by
# (domain.sequencer_order); `sequencer` keeps the value exactly as the event carried it.
SEQUENCER_ORDER_ATTRIBUTE = "sequencer_order"

# --- The route's model (issue 9; README: Models) -----------------------------------------------------------
# The stack sets these from the route's `models.<name>` entry.
ENV_MODEL_NAME = "MODEL_NAME"  # the model's key in `models`
# What defines the model (README: Models), e.g. "sha256:3f2a9c1b0d4e5f60"; recorded on every result.
ENV_MODEL_VERSION = "MODEL_VERSION"
ENV_PAYLOAD_FORMAT = "PAYLOAD_FORMAT"  # one of PAYLOAD_FORMATS; unset means text
# json format: the object's top-level field to send (unset: the whole object) and the request key it is
# placed under (unset: the value is the request body as is).
ENV_JSON_INPUT_FIELD = "JSON_INPUT_FIELD"
ENV_JSON_REQUEST_KEY = "JSON_REQUEST_KEY"
# binary format: ENV_ENDPOINT_CONTENT_TYPE, when set, is the content type sent; unset, the object's S3
# Content-Type is sent. InvokeEndpoint's request limit for the model's endpoint type, in bytes:
ENV_MAX_PAYLOAD_BYTES = "MAX_PAYLOAD_BYTES"
# Results too large for a DynamoDB item are written to BUCKET_NAME under this prefix (no route's filter
# matches it: config validation checks so the pipeline never triggers itself), encrypted with the stack key.
ENV_LARGE_RESULTS_PREFIX = "LARGE_RESULTS_PREFIX"

PAYLOAD_TEXT = "text"
PAYLOAD_JSON = "json"
PAYLOAD_BINARY = "binary"
PAYLOAD_FORMATS = (PAYLOAD_TEXT, PAYLOAD_JSON, PAYLOAD_BINARY)
# InvokeEndpoint request payload limits (SageMaker endpoints quotas): serverless 4 MB, real-time 6 MB.
SERVERLESS_MAX_PAYLOAD_BYTES = 4 * 1024 * 1024
REALTIME_MAX_PAYLOAD_BYTES = 6 * 1024 * 1024
DEFAULT_LARGE_RESULTS_PREFIX = "results/"

# Result attributes added with named models: the model's name and version, and where a result too large for
# the item was written (then `prediction` is absent).
RESULT_MODEL_ATTRIBUTES = ("model", "model_version", "prediction_uri")
# Internal ordering attribute for re-scoring: when the environment that wrote the result started (epoch ms).
# Lambda starts no environment of a previous configuration once an update completes: the later deploy wins.
ENVIRONMENT_STARTED_AT_ATTRIBUTE = "environment_started_at"

# The handler's worst case for one object's chain of AWS calls, retries and backoff included (see
# lambdas/inference/app.py CLIENT_TIMEOUTS); the stack's function timeout must be at least this.
HANDLER_MIN_TIMEOUT_SECONDS = 240

# --- Added by the handler for named models (additive) ------------------------------------------------------
# json format: the object is not JSON, not an object while JSON_INPUT_FIELD is set, or lacks that field.
# (Malformed JSON keeps REASON_MALFORMED_JSON.)
REASON_NOT_A_JSON_OBJECT = "not_a_json_object"
REASON_MISSING_JSON_FIELD = "missing_json_field"
# binary format: neither ENDPOINT_CONTENT_TYPE nor the object's S3 Content-Type is one the container decodes.
REASON_UNSUPPORTED_CONTENT_TYPE = "unsupported_content_type"
# A human-readable explanation next to `reason` (e.g. which limit an object exceeds), when there is one.
RESULT_DETAIL_ATTRIBUTE = "detail"
# SNS message attribute naming the model (MODEL_NAME) of every outcome, so subscribers can filter on it.
MESSAGE_ATTRIBUTE_MODEL = "model"

# The content types the Hugging Face inference container decodes: the keys of `_decoder_map` in
# aws/sagemaker-huggingface-inference-toolkit src/sagemaker_huggingface_inference_toolkit/decoder_encoder.py
# (values from its content_types.py; main at 69bc5ef, v2.6.0). The container looks the request's
# Content-Type up exactly in that map and answers 400 (UnsupportedFormatError) for any other, so a binary
# payload is only sent with one of these. Note `audio/wave` (not audio/wav), `audio/x-flac` (not
# audio/flac): the toolkit lists no audio/wav, audio/x-wav, audio/flac, audio/mp3 or audio/webm.
HF_DECODED_CONTENT_TYPES = frozenset(
    {
        # text and arrays
        "application/json",
        "text/csv",
        "application/x-npy",
        # images (VISION_TYPES)
        "image/jpeg",
        "image/png",
        "image/tiff",
        "image/bmp",
        "image/gif",
        "image/webp",
        "image/x-image",
        # audio (AUDIO_TYPES)
        "audio/x-flac",
        "audio/mpeg",
        "audio/wave",
        "audio/ogg",
        "audio/x-audio",
    }
)

# --- Kinesis routes (README: The kinesis route) ---------------------------------------------------------
# A record's JSON object: `id` (optional, the producer's key for the record), `text` or `input`.
RECORD_ID_FIELD = "id"
RECORD_TEXT_FIELD = "text"
RECORD_INPUT_FIELD = "input"
# The producer's id is a results-key part: 1-256 characters, as a Kinesis partition key.
RECORD_ID_MAX_LENGTH = 256
KINESIS_URI_SCHEME = "kinesis://"
# A record without data, or only whitespace; one whose JSON object is not {id?, text} / {id?, input}.
REASON_EMPTY_RECORD = "empty_record"
REASON_MALFORMED_RECORD = "malformed_record"

# --- Async models (async_submit.py, result_writer.py) ------------------------------------------------------
# Set on the functions of routes whose model is async: they submit each object's S3 location with
# InvokeEndpointAsync (InvocationTimeoutSeconds = this) instead of reading it.
ENV_ASYNC_INVOCATION_TIMEOUT_SECONDS = "ASYNC_INVOCATION_TIMEOUT_SECONDS"
DEFAULT_ASYNC_INFERENCE_PREFIX = "async-inference/"
# Attributes of an async route's item: the InferenceId submitted (the result writer's write is conditioned on
# it) and where SageMaker writes the output (set by the result writer from the notification).
INFERENCE_ID_ATTRIBUTE = "inference_id"
OUTPUT_LOCATION_ATTRIBUTE = "output_location"
# Set by the result writer once the final outcome is published, so a duplicate notice publishes nothing.
OUTCOME_PUBLISHED_ATTRIBUTE = "outcome_published_at"
REASON_ASYNC_SUBMITTED = "async_submitted"  # the reason of an in_progress item
REASON_ASYNC_INFERENCE_FAILED = "async_inference_failed"  # SageMaker's error topic; its text is the detail

# The result writer: one function per async model, subscribed to the model's success and error topics.
RESULT_WRITER_HANDLER = "lambdas.inference.result_writer.handler"
# s3://<bucket>/<prefix> of the model's outputs: the writer reads outputs only there.
ENV_ASYNC_OUTPUT_URI = "ASYNC_OUTPUT_URI"
# An output at most this large is stored in the item (parsed as JSON); a larger one stays in S3 and the item
# holds its URI in `prediction_uri` (DynamoDB items are limited to 400 KB).
ASYNC_OUTPUT_INLINE_MAX_BYTES = 300_000
# An async endpoint's input is read by SageMaker from S3, up to 1 GB (SageMaker Developer Guide, "Asynchronous
# inference": "large payload sizes (up to 1GB)"); the submitting function never holds it.
ASYNC_MAX_PAYLOAD_BYTES = 1024 * 1024 * 1024
