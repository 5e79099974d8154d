"""The ingest bucket's lifecycle and server access logging, and the access-log bucket they write to."""

from __future__ import annotations

import pytest
from stack_graph import BUCKET, BUCKET_LOGGING, BUCKET_POLICY, LIFECYCLE, VERSIONING

# Pulumi.dev.yaml's bucket section (the defaults, too).
NONCURRENT_DAYS = 30
ACCESS_LOG_DAYS = 365


def lifecycle_rule(dev, bucket_output: str) -> dict:
    lifecycle = dev.of_bucket(LIFECYCLE, dev.outputs[bucket_output])
    (rule,) = lifecycle.inputs["rules"]
    assert rule["status"] == "Enabled", lifecycle.key
    return rule


def test_buckets_keep_their_logical_names(dev):
    assert dev.resolve(dev.outputs["bucket_name"]).key == (BUCKET, "ingest")
    assert dev.resolve(dev.outputs["access_log_bucket_name"]).key == (BUCKET, "access-logs")
    names = {
        r.name for r in dev.run.resources if r.type.startswith("aws:s3/") and r.name.startswith("ingest")
    }
    assert names == {
        "ingest",
        "ingest-public-access-block",
        "ingest-versioning",
        "ingest-encryption",
        "ingest-policy",
        "ingest-lifecycle",
        "ingest-access-logging",
    }


@pytest.mark.parametrize("bucket_output", ["bucket_name", "access_log_bucket_name"])
def test_lifecycle_rule_applies_to_every_object(dev, bucket_output):
    assert lifecycle_rule(dev, bucket_output)["filter"] == {"prefix": ""}, bucket_output


@pytest.mark.parametrize("bucket_output", ["bucket_name", "access_log_bucket_name"])
def test_noncurrent_versions_expire_after_the_configured_days(dev, bucket_output):
    rule = lifecycle_rule(dev, bucket_output)
    assert rule["noncurrentVersionExpiration"] == {"noncurrentDays": NONCURRENT_DAYS}, bucket_output


@pytest.mark.parametrize("bucket_output", ["bucket_name", "access_log_bucket_name"])
def test_incomplete_multipart_uploads_are_aborted_after_seven_days(dev, bucket_output):
    rule = lifecycle_rule(dev, bucket_output)
    assert rule["abortIncompleteMultipartUpload"] == {"daysAfterInitiation": 7}, bucket_output


def test_ingest_bucket_removes_expired_delete_markers_and_keeps_current_objects(dev):
    assert lifecycle_rule(dev, "bucket_name")["expiration"] == {"expiredObjectDeleteMarker": True}


def test_access_logs_expire_after_the_configured_days(dev):
    assert lifecycle_rule(dev, "access_log_bucket_name")["expiration"] == {"days": ACCESS_LOG_DAYS}


@pytest.mark.parametrize("bucket_output", ["bucket_name", "access_log_bucket_name"])
def test_lifecycle_waits_for_versioning(dev, bucket_output):
    lifecycle = dev.of_bucket(LIFECYCLE, dev.outputs[bucket_output])
    versioning = dev.of_bucket(VERSIONING, dev.outputs[bucket_output])
    assert versioning.key in lifecycle.depends_on, lifecycle.key


def test_ingest_bucket_logs_access_into_the_access_log_bucket_under_its_prefix(dev):
    logging = dev.of_bucket(BUCKET_LOGGING, dev.outputs["bucket_name"])
    assert logging.name == "ingest-access-logging"
    assert logging.inputs["targetBucket"] == dev.outputs["access_log_bucket_name"], logging.key
    assert logging.inputs["targetPrefix"] == "ingest/", logging.key


def test_access_logging_waits_for_the_log_bucket_policy(dev):
    # S3 checks that the destination's policy admits log delivery when logging is enabled.
    logging = dev.of_bucket(BUCKET_LOGGING, dev.outputs["bucket_name"])
    log_policy = dev.of_bucket(BUCKET_POLICY, dev.outputs["access_log_bucket_name"])
    assert log_policy.key in logging.depends_on, logging.key


def test_access_log_bucket_logs_nothing_itself(dev):
    # Logging the log bucket's own access would write a log for every log written.
    logged = [r.inputs["bucket"] for r in dev.of_type(BUCKET_LOGGING)]
    assert logged == [dev.outputs["bucket_name"]], logged
