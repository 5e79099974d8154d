"""Settings come from the function's environment; bad or missing values fail with a message naming them."""

import pytest

from lambdas.inference import contract
from lambdas.inference.domain import RouteScope
from lambdas.inference.settings import (
    MAX_DEFAULT_WORKERS,
    MIN_DEFAULT_WORKERS,
    ConfigError,
    default_max_workers,
    load_settings,
)

REQUIRED = {
    contract.ENV_RESULTS_TABLE: "results",
    contract.ENV_ENDPOINT_NAME: "endpoint",
    contract.ENV_NOTIFICATIONS_TOPIC_ARN: "arn:aws:sns:us-east-1:123456789012:notifications",
    contract.ENV_ROUTE_NAME: "uploads",
    contract.ENV_BUCKET_NAME: "ingest-bucket",
}


def test_required_variables_fill_the_settings():
    settings = load_settings(REQUIRED)
    assert (settings.results_table, settings.endpoint_name, settings.topic_arn, settings.route) == (
        "results",
        "endpoint",
        "arn:aws:sns:us-east-1:123456789012:notifications",
        "uploads",
    )


def test_optional_variables_default_to_the_documented_values():
    settings = load_settings(REQUIRED)
    assert settings.max_object_bytes == contract.DEFAULT_MAX_OBJECT_BYTES == 1024 * 1024
    assert settings.content_type == contract.DEFAULT_ENDPOINT_CONTENT_TYPE
    assert settings.model_max_batch_size == 1


def test_the_bucket_is_read_and_no_route_filter_means_every_key():
    scope = load_settings(REQUIRED).scope
    assert scope == RouteScope("uploads", "ingest-bucket", "", "")
    assert scope.matches("ingest-bucket", "any/key at all.txt")


def test_the_route_prefix_and_suffix_are_read_exactly_as_set():
    # A key prefix or suffix may end or begin with a space; S3 matches it as written.
    settings = load_settings(
        {**REQUIRED, contract.ENV_ROUTE_PREFIX: "data /", contract.ENV_ROUTE_SUFFIX: " .json"}
    )
    assert (settings.scope.prefix, settings.scope.suffix) == ("data /", " .json")


@pytest.mark.parametrize("name", contract.REQUIRED_ENV)
def test_a_missing_required_variable_is_named_in_the_error(name):
    env = {key: value for key, value in REQUIRED.items() if key != name}
    with pytest.raises(ConfigError, match=name):
        load_settings(env)


def test_a_blank_required_variable_counts_as_missing():
    with pytest.raises(ConfigError, match=contract.ENV_ROUTE_NAME):
        load_settings({**REQUIRED, contract.ENV_ROUTE_NAME: "  "})


@pytest.mark.parametrize("raw", ["abc", "0", "-5", "1.5"])
def test_a_non_positive_integer_limit_is_rejected_with_its_name(raw):
    with pytest.raises(ConfigError, match=f"{contract.ENV_MAX_OBJECT_BYTES}='{raw}'"):
        load_settings({**REQUIRED, contract.ENV_MAX_OBJECT_BYTES: raw})


def test_numeric_variables_are_read():
    settings = load_settings(
        {
            **REQUIRED,
            contract.ENV_MAX_OBJECT_BYTES: "2048",
            contract.ENV_MAX_WORKERS: "3",
            contract.ENV_MODEL_MAX_BATCH_SIZE: "8",
            contract.ENV_ENDPOINT_CONTENT_TYPE: "application/json; charset=utf-8",
        }
    )
    assert (settings.max_object_bytes, settings.max_workers, settings.model_max_batch_size) == (2048, 3, 8)
    assert settings.content_type == "application/json; charset=utf-8"


def test_default_workers_follow_the_function_memory():
    # One thread per 16 MB (was 32 MB: the pool no longer bounds memory, admission by bytes does).
    assert load_settings({**REQUIRED, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512"}).max_workers == 32


def test_default_workers_stay_within_bounds_for_tiny_and_huge_functions():
    assert default_max_workers(128) == MIN_DEFAULT_WORKERS
    assert default_max_workers(10240) == MAX_DEFAULT_WORKERS
