"""The demo's verdict per file: only the expected status, reason and (for completed) label count as met."""

from __future__ import annotations

from typing import Any

import pytest

from lambdas.inference.contract import REASON_MALFORMED_JSON, STATUS_COMPLETED, STATUS_FAILED, STATUS_REJECTED
from localrun.demo import EXPECTED, Expected, Upload, sample_files


def _upload(expected: Expected, outcome: dict[str, Any] | None) -> Upload:
    return Upload("uploads", "f.json", "uploads/f.json", "s3://b/uploads/f.json", expected, outcome)


@pytest.mark.parametrize(
    ("expected", "outcome", "met"),
    [
        (
            Expected(STATUS_COMPLETED, label="POSITIVE"),
            {"status": STATUS_COMPLETED, "prediction": [{"label": "POSITIVE"}]},
            True,
        ),
        (
            Expected(STATUS_COMPLETED, label="POSITIVE"),
            {"status": STATUS_COMPLETED, "prediction": [{"label": "NEGATIVE"}]},
            False,
        ),
        (
            Expected(STATUS_REJECTED, REASON_MALFORMED_JSON),
            {"status": STATUS_REJECTED, "reason": REASON_MALFORMED_JSON},
            True,
        ),
        (
            Expected(STATUS_REJECTED, REASON_MALFORMED_JSON),
            {"status": STATUS_FAILED, "reason": REASON_MALFORMED_JSON},
            False,
        ),
        (Expected(STATUS_COMPLETED, label="POSITIVE"), {"status": "dead-lettered"}, False),
        (Expected(STATUS_COMPLETED, label="POSITIVE"), None, False),
    ],
)
def test_a_file_meets_its_expectation_only_with_the_expected_outcome(
    expected: Expected, outcome: dict[str, Any] | None, met: bool
) -> None:
    assert _upload(expected, outcome).met is met


def test_every_shipped_sample_has_an_expected_outcome() -> None:
    assert set(sample_files()) <= set(EXPECTED)
