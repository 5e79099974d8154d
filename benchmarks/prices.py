"""AWS prices the cost model uses: US East (N. Virginia), on-demand, no free tier, first pricing tier.

Read on 2026-12-01 from the `search` tool's stored copies of the pages named per price (the stored copies,
not the live pages: check them before quoting a figure). VERIFIED means the figure was seen in a stored
copy of the AWS page or of a dated summary of it (named); UNVERIFIED means no stored copy showed it, and the
figure is the one AWS has published to the author's knowledge; treat it as an assumption.
"""

from __future__ import annotations

from dataclasses import dataclass

PRICES_READ_ON = "2026-12-01 (stored copies; see each source)"
REGION = "us-east-1"


@dataclass(frozen=True)
class Price:
    usd: float
    per: str
    source: str
    verified: bool
    note: str = ""


# AWS Lambda, Arm: requests and duration (first tier, up to 7.5 billion GB-s a month); duration is rounded
# up to the nearest 1 ms. https://aws.amazon.com/lambda/pricing/ — the stored copy states the 1 ms rounding
# and the request-plus-duration model; the figures were read from a summary of that page
# (cloudchipr.com/blog/aws-lambda-pricing: Arm "$0.0000133334 per GB-second").
LAMBDA_REQUEST = Price(0.20 / 1_000_000, "request", "https://aws.amazon.com/lambda/pricing/", False,
                       "$0.20 per 1M requests: not shown in the stored copy")  # fmt: skip
LAMBDA_ARM_GB_SECOND = Price(
    0.0000133334, "GB-second", "https://aws.amazon.com/lambda/pricing/", True,
    "Arm, first 7.5 billion GB-s/month (via cloudchipr.com summary of the page)",
)  # fmt: skip

# Amazon SQS standard queues: per request, each 64 KB chunk of a payload billed as one request.
# https://aws.amazon.com/sqs/pricing/ (figures via summaries: cloudburn.io/blog/amazon-sqs-pricing, 2026-03,
# "Standard $0.40/M (first 100B)"; unanswered.io: "each 64 KB chunk of a message is billed as one request").
SQS_REQUEST = Price(0.40 / 1_000_000, "64 KB request chunk", "https://aws.amazon.com/sqs/pricing/", True)

# Amazon SNS standard topics: publishes per request (64 KB chunks); deliveries to SQS and Lambda are not
# charged. https://aws.amazon.com/sns/pricing/ (publish figure via factualminds.com SNS pricing summary:
# "Standard topic publish is $0.50/M"). The free SQS/Lambda delivery is UNVERIFIED here.
SNS_PUBLISH = Price(0.50 / 1_000_000, "64 KB publish chunk", "https://aws.amazon.com/sns/pricing/", True)
SNS_DELIVERY_TO_SQS_OR_LAMBDA = Price(
    0.0, "delivery", "https://aws.amazon.com/sns/pricing/", False,
    "no charge for SQS/Lambda deliveries: not seen in a stored copy",
)  # fmt: skip

# Amazon EventBridge: events published by AWS services (S3 "Object Created" on the default bus) are free;
# custom events $1.00 per million (64 KB chunks). https://aws.amazon.com/eventbridge/pricing/ — UNVERIFIED.
EVENTBRIDGE_AWS_SERVICE_EVENT = Price(0.0, "event", "https://aws.amazon.com/eventbridge/pricing/", False,
                                      "AWS service events free: not seen in a stored copy")  # fmt: skip

# Amazon DynamoDB on-demand, Standard table class: per write request unit (1 WRU writes up to 1 KB; larger
# items take one more per started KB). https://aws.amazon.com/dynamodb/pricing/on-demand/ (figure via
# airbyte.com DynamoDB pricing summary, 2025-07: "$0.625 per million write request units", after the
# November 2024 reduction; the 1 KB unit from a stored copy of the provisioned-capacity page).
DYNAMODB_WRITE_REQUEST_UNIT = Price(0.625 / 1_000_000, "WRU",
                                    "https://aws.amazon.com/dynamodb/pricing/on-demand/", True)  # fmt: skip

# Amazon S3 Standard: GET requests. https://aws.amazon.com/s3/pricing/ — UNVERIFIED ($0.0004 per 1,000).
S3_GET = Price(0.0004 / 1_000, "GET", "https://aws.amazon.com/s3/pricing/", False)

# AWS KMS: symmetric-key API requests. https://aws.amazon.com/kms/pricing/ — UNVERIFIED ($0.03 per 10,000).
KMS_REQUEST = Price(0.03 / 10_000, "request", "https://aws.amazon.com/kms/pricing/", False)

# SageMaker Serverless Inference: compute per second of inference duration per GB of configured memory
# (1024 MB $0.0000200/s, linear in memory), plus data processed in and out.
# https://aws.amazon.com/sagemaker/pricing/ — UNVERIFIED: the stored copies showed the free tier (150,000 s
# of serverless inference duration), not the rates.
SAGEMAKER_SERVERLESS_GB_SECOND = Price(0.0000200, "GB-second", "https://aws.amazon.com/sagemaker/pricing/",
                                       False)  # fmt: skip
SAGEMAKER_SERVERLESS_DATA_GB = Price(
    0.016, "GB in or out", "https://aws.amazon.com/sagemaker/pricing/", False
)

ALL: dict[str, Price] = {
    name: value for name, value in globals().items() if isinstance(value, Price) and name.isupper()
}
