"""AWS size limits the pipeline can hit, enforced at the service edge where moto 5.2.5 does not.

`LIMITS` is the one table: each limit's number, where AWS documents it and the error AWS returns.
Each service's entries and checks live with the service (`services/s3.py`, `sns.py`, `sqs.py`,
`lambda_.py`, `sagemaker.py`: a `LIMITS` table and `limit_patches`); `LimitEnforcer.patches()` hooks
them into moto through the patch registry (`patches.py`); the SageMaker stand-in (`standin_model.py`,
our own code) asks `services.sagemaker.invoke_endpoint_limit` itself.

What moto already enforces is only noted here and tested, not re-implemented:
- SNS Publish: a body longer than 256 KiB *characters* (moto.sns.models.MAXIMUM_MESSAGE_LENGTH); it
  counts neither UTF-8 bytes nor attributes, nor the PublishBatch total -- those are added here.
- SQS SendMessage: a body longer than the queue's MaximumMessageSize (default 1 MiB, as AWS's today),
  `InvalidParameterValue`; a SendMessageBatch over 1 MiB in total, `BatchRequestTooLong`.
"""

from __future__ import annotations

from .patches import Patch
from .services import lambda_, s3, sagemaker, sns, sqs
from .services.base import Limit, utf8_size
from .services.sagemaker import InvokeEndpointBodyTooLarge, check_invoke_endpoint_body, invoke_endpoint_limit
from .services.sns import sns_message_size

__all__ = [
    "LIMITS",
    "InvokeEndpointBodyTooLarge",
    "Limit",
    "LimitEnforcer",
    "check_invoke_endpoint_body",
    "invoke_endpoint_limit",
    "sns_message_size",
    "utf8_size",
]

LIMITS: dict[str, Limit] = {**s3.LIMITS, **lambda_.LIMITS, **sns.LIMITS, **sqs.LIMITS, **sagemaker.LIMITS}


class LimitEnforcer:
    """The checks, as patches of moto's backends (the service edge every caller goes through)."""

    def __init__(self) -> None:
        self.refused: dict[str, int] = {}

    def refuse(self, name: str) -> Limit:
        self.refused[name] = self.refused.get(name, 0) + 1
        return LIMITS[name]

    def patches(self) -> list[Patch]:
        return [*s3.limit_patches(self), *sns.limit_patches(self), *lambda_.limit_patches(self)]
