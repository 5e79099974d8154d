"""The demo's verdict per file and the delivery contract it judges by (`localrun/delivery_contract.py`).

A file meets its expectation only when delivered — one results item, that item's outcome
published, no DLQ message — with the expected status, reason and (for completed) label.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from lambdas.inference.contract import (
    PAYLOAD_BINARY,
    PAYLOAD_JSON,
    REASON_MALFORMED_JSON,
    SERVERLESS_MAX_PAYLOAD_BYTES,
    STATUS_COMPLETED,
    STATUS_FAILED,
    STATUS_REJECTED,
    TABLE_PARTITION_KEY,
)
from localrun.delivery_contract import DEAD_LETTERED, DELIVERED, NO_OUTCOME, NOT_PUBLISHED, Fate
from localrun.demo import (
    EXPECTED,
    LARGE_DOCUMENT_BYTES,
    LARGE_DOCUMENT_NAME,
    LARGE_DOCUMENT_SUMMARY,
    Expected,
    Upload,
    content_type_of,
    format_hops,
    large_document,
    sample_files,
)
from localrun.standin_model import StandInSummarizer
from localrun.trace import Hop

URI = "s3://b/uploads/f.json"
POSITIVE = {TABLE_PARTITION_KEY: URI, "status": STATUS_COMPLETED, "prediction": {"label": "POSITIVE"}}
NEGATIVE = {TABLE_PARTITION_KEY: URI, "status": STATUS_COMPLETED, "prediction": {"label": "NEGATIVE"}}
MALFORMED = {TABLE_PARTITION_KEY: URI, "status": STATUS_REJECTED, "reason": REASON_MALFORMED_JSON}
FAILED_MALFORMED = {TABLE_PARTITION_KEY: URI, "status": STATUS_FAILED, "reason": REASON_MALFORMED_JSON}
SUMMARY = "The first sentence."
SUMMARIZED = {TABLE_PARTITION_KEY: URI, "status": STATUS_COMPLETED, "prediction": [{"summary_text": SUMMARY}]}


def _published(item: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """The outcome message the handler publishes for `item` (optionally changed)."""
    return {**{"reason": None, "prediction": None}, **item, **changes}


def _delivered(item: dict[str, Any]) -> Fate:
    return Fate(URI, item, (_published(item),))


def _upload(expected: Expected, fate: Fate | None) -> Upload:
    return Upload("uploads", "f.json", "uploads/f.json", URI, expected, fate)


@pytest.mark.parametrize(
    ("expected", "fate", "met"),
    [
        (Expected(STATUS_COMPLETED, label="POSITIVE"), _delivered(POSITIVE), True),
        (Expected(STATUS_COMPLETED, label="POSITIVE"), _delivered(NEGATIVE), False),
        (Expected(STATUS_REJECTED, REASON_MALFORMED_JSON), _delivered(MALFORMED), True),
        (Expected(STATUS_REJECTED, REASON_MALFORMED_JSON), _delivered(FAILED_MALFORMED), False),
        (Expected(STATUS_COMPLETED, label="POSITIVE"), Fate(URI, None, dead_letters=1), False),
        (Expected(STATUS_COMPLETED, label="POSITIVE"), Fate(URI, None), False),
        (Expected(STATUS_COMPLETED, label="POSITIVE"), None, False),
        # The expected item, but its outcome never published, or the event still in a DLQ.
        (Expected(STATUS_COMPLETED, label="POSITIVE"), Fate(URI, POSITIVE), False),
        (Expected(STATUS_COMPLETED, label="POSITIVE"), Fate(URI, POSITIVE, dead_letters=1), False),
        # A summarizer's answer: the summary must be the expected one.
        (Expected(STATUS_COMPLETED, summary=SUMMARY), _delivered(SUMMARIZED), True),
        (Expected(STATUS_COMPLETED, summary="Another sentence."), _delivered(SUMMARIZED), False),
    ],
)
def test_a_file_meets_its_expectation_only_when_delivered_with_the_expected_outcome(
    expected: Expected, fate: Fate | None, met: bool
) -> None:
    assert _upload(expected, fate).met is met


def test_stored_and_published_item_is_delivered_even_if_published_twice() -> None:
    assert Fate(URI, POSITIVE, (_published(POSITIVE), _published(POSITIVE))).verdict == DELIVERED


def test_item_whose_own_outcome_was_never_published_breaks_the_contract() -> None:
    older = _published(POSITIVE, status=STATUS_FAILED)  # an earlier outcome for the same object
    assert Fate(URI, POSITIVE, (older,)).verdict == NOT_PUBLISHED
    assert Fate(URI, POSITIVE).verdict == NOT_PUBLISHED


def test_event_with_neither_item_nor_dlq_message_breaks_the_contract() -> None:
    assert Fate(URI, None).verdict == NO_OUTCOME


@pytest.mark.parametrize("item", [None, POSITIVE])
def test_event_in_a_dlq_is_dead_lettered_with_or_without_an_item(item: dict[str, Any] | None) -> None:
    fate = Fate(URI, item, (_published(POSITIVE),) if item else (), dead_letters=1)
    assert fate.verdict == DEAD_LETTERED


def test_only_a_dlq_message_without_an_item_counts_as_refused() -> None:
    assert Fate(URI, None, dead_letters=1).refused
    assert not Fate(URI, POSITIVE, dead_letters=1).refused
    assert not Fate(URI, None).refused


def test_item_as_dynamodb_returns_it_matches_its_json_outcome() -> None:
    score = {"label": "POSITIVE", "score": Decimal("0.9995")}
    stored = {**POSITIVE, "prediction": score, "size": Decimal(87)}
    message = _published(POSITIVE, prediction={"label": "POSITIVE", "score": 0.9995}, size=87)
    assert Fate(URI, stored, (message,)).verdict == DELIVERED
    assert Fate(URI, stored, ({**message, "size": 88},)).verdict == NOT_PUBLISHED


def test_outcome_with_its_prediction_omitted_still_announces_the_item() -> None:
    omitted = _published(POSITIVE, prediction=None, prediction_omitted=True)
    assert Fate(URI, POSITIVE, (omitted,)).verdict == DELIVERED


def test_every_shipped_sample_has_an_expected_outcome() -> None:
    assert set(sample_files()) <= set(EXPECTED)


def test_every_sample_is_expected_on_routes_of_some_payload_format() -> None:
    assert [name for name, by_format in EXPECTED.items() if not by_format] == []


@pytest.mark.parametrize(
    ("name", "content_type"), [("sunset.png", "image/png"), ("portrait.jpg", "image/jpeg")]
)
def test_image_samples_are_uploaded_with_their_image_content_type(name: str, content_type: str) -> None:
    assert content_type_of(name) == content_type
    assert EXPECTED[name][PAYLOAD_BINARY].status == STATUS_COMPLETED


def test_the_generated_large_document_is_a_summarizer_request_over_the_serverless_limit() -> None:
    body = large_document()
    assert len(body) == LARGE_DOCUMENT_BYTES > SERVERLESS_MAX_PAYLOAD_BYTES
    assert StandInSummarizer().predict(body) == [{"summary_text": LARGE_DOCUMENT_SUMMARY}]
    expected = Expected(STATUS_COMPLETED, summary=LARGE_DOCUMENT_SUMMARY)
    assert EXPECTED[LARGE_DOCUMENT_NAME] == {PAYLOAD_JSON: expected}


def test_each_json_sample_expected_to_complete_names_its_first_sentence_as_the_summary() -> None:
    files = sample_files()
    for name, by_format in EXPECTED.items():
        expected = by_format.get(PAYLOAD_JSON)
        if name in files and expected is not None and expected.status == STATUS_COMPLETED:
            assert StandInSummarizer().predict(files[name]) == [{"summary_text": expected.summary}], name


def test_an_async_inference_shows_as_queued_completed_and_its_notification() -> None:
    steps = [
        ("s3:ingest-6eb7f2e", "ObjectCreated:Put"),
        ("lambda:inference-documents-273e9ff", "via s3:ingest-6eb7f2e"),
        ("dynamodb:results-c099142", "ok"),
        ("sagemaker:dev-summarizer", "async inference queued (338f5db1)"),
        ("sns:notifications-8bb6922", "ok"),
        ("lambda:inference-documents-273e9ff", "ok"),
        ("sagemaker:dev-summarizer", "async inference completed: s3://ingest-6eb7f2e/async-inference/x.out"),
        ("sagemaker:dev-summarizer", "notification published to model-summarizer-success-afbae90"),
        ("lambda:result-writer-summarizer-5f7798a", "via sns:model-summarizer-success-afbae90"),
        ("dynamodb:results-c099142", "ok"),
        ("sns:notifications-8bb6922", "ok"),
        ("lambda:result-writer-summarizer-5f7798a", "ok"),
    ]
    hops = [Hop(n, 0.0, URI, step, detail) for n, (step, detail) in enumerate(steps)]
    assert format_hops(hops) == (
        "s3:ingest (ObjectCreated:Put) → lambda:inference-documents → dynamodb:results → "
        "sagemaker:dev-summarizer (queued) → sns:notifications → sagemaker:dev-summarizer (completed) → "
        "sns:model-summarizer-success → lambda:result-writer-summarizer → dynamodb:results → "
        "sns:notifications"
    )
    failed = [Hop(1, 0.0, URI, "sagemaker:dev-summarizer", "async inference failed: ClientError: ...")]
    assert format_hops(failed) == "sagemaker:dev-summarizer ✗(failed)"
