"""Settings come from the function's environment; bad or missing values fail with a message naming them."""

import pytest

from lambdas.inference import contract
from lambdas.inference.domain import RouteScope
from lambdas.inference.settings import (
    DEFAULT_MODEL_VERSION,
    MAX_DEFAULT_WORKERS,
    MIN_DEFAULT_WORKERS,
    ConfigError,
    default_max_workers,
    in_flight_budget_bytes,
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


# --- the route's model (issue 9) -------------------------------------------------------------------------
def test_the_model_name_and_version_are_read():
    settings = load_settings(
        {
            **REQUIRED,
            contract.ENV_MODEL_NAME: "sentiment",
            contract.ENV_MODEL_VERSION: "sha256:3f2a9c1b0d4e5f60",
        }
    )
    assert (settings.model, settings.model_version) == ("sentiment", "sha256:3f2a9c1b0d4e5f60")


def test_without_a_model_name_results_name_the_endpoint():
    assert load_settings(REQUIRED).model == "endpoint"


def test_without_a_model_version_results_record_the_unversioned_default():
    assert load_settings(REQUIRED).model_version == DEFAULT_MODEL_VERSION == "unversioned"


def test_the_payload_format_defaults_to_text():
    assert load_settings(REQUIRED).payload_format == contract.PAYLOAD_TEXT


@pytest.mark.parametrize("payload_format", contract.PAYLOAD_FORMATS)
def test_each_payload_format_is_read(payload_format):
    settings = load_settings({**REQUIRED, contract.ENV_PAYLOAD_FORMAT: payload_format.upper()})
    assert settings.payload_format == payload_format


def test_an_unknown_payload_format_is_refused_naming_the_variable_and_the_formats():
    with pytest.raises(ConfigError, match=r"PAYLOAD_FORMAT='image' .*text, json, binary"):
        load_settings({**REQUIRED, contract.ENV_PAYLOAD_FORMAT: "image"})


def test_the_json_field_and_request_key_are_read_exactly_for_the_json_format():
    settings = load_settings(
        {
            **REQUIRED,
            contract.ENV_PAYLOAD_FORMAT: "json",
            contract.ENV_JSON_INPUT_FIELD: "text ",
            contract.ENV_JSON_REQUEST_KEY: "inputs",
        }
    )
    assert (settings.json_input_field, settings.json_request_key) == ("text ", "inputs")


def test_without_json_variables_the_whole_document_is_the_request():
    settings = load_settings({**REQUIRED, contract.ENV_PAYLOAD_FORMAT: "json"})
    assert (settings.json_input_field, settings.json_request_key) == (None, None)


@pytest.mark.parametrize("name", [contract.ENV_JSON_INPUT_FIELD, contract.ENV_JSON_REQUEST_KEY])
@pytest.mark.parametrize("payload_format", ["text", "binary"])
def test_a_json_variable_for_another_payload_format_is_refused_naming_it(name, payload_format):
    with pytest.raises(ConfigError, match=f"{name}='text' applies to the json payload format only"):
        load_settings({**REQUIRED, contract.ENV_PAYLOAD_FORMAT: payload_format, name: "text"})


def test_a_configured_binary_content_type_is_read_as_its_media_type():
    settings = load_settings(
        {
            **REQUIRED,
            contract.ENV_PAYLOAD_FORMAT: "binary",
            contract.ENV_ENDPOINT_CONTENT_TYPE: "Image/PNG; q=1",
        }
    )
    assert settings.binary_content_type == "image/png"


def test_without_a_configured_type_a_binary_object_is_sent_with_its_own():
    assert load_settings({**REQUIRED, contract.ENV_PAYLOAD_FORMAT: "binary"}).binary_content_type is None


@pytest.mark.parametrize("content_type", ["application/octet-stream", "audio/wav", "application/pdf"])
def test_a_binary_content_type_the_container_does_not_decode_is_refused_naming_the_variable(content_type):
    with pytest.raises(ConfigError, match=f"ENDPOINT_CONTENT_TYPE='{content_type}' is not a content type"):
        load_settings(
            {
                **REQUIRED,
                contract.ENV_PAYLOAD_FORMAT: "binary",
                contract.ENV_ENDPOINT_CONTENT_TYPE: content_type,
            }
        )


def test_the_endpoint_content_type_of_a_text_model_is_sent_as_configured_as_before():
    settings = load_settings({**REQUIRED, contract.ENV_ENDPOINT_CONTENT_TYPE: "text/csv"})
    assert (settings.content_type, settings.binary_content_type) == ("text/csv", None)


def test_the_payload_limit_defaults_to_the_serverless_invoke_endpoint_limit():
    assert (
        load_settings(REQUIRED).max_payload_bytes == contract.SERVERLESS_MAX_PAYLOAD_BYTES == 4 * 1024 * 1024
    )


def test_the_payload_limit_is_read():
    settings = load_settings(
        {**REQUIRED, contract.ENV_MAX_PAYLOAD_BYTES: str(contract.REALTIME_MAX_PAYLOAD_BYTES)}
    )
    assert settings.max_payload_bytes == 6 * 1024 * 1024


def test_a_payload_limit_above_the_real_time_limit_is_refused_naming_both_limits():
    with pytest.raises(ConfigError, match=r"MAX_PAYLOAD_BYTES=6291457 is above .* 4194304 .* 6291456"):
        load_settings({**REQUIRED, contract.ENV_MAX_PAYLOAD_BYTES: "6291457"})


@pytest.mark.parametrize("raw", ["0", "4MB", "-1"])
def test_a_payload_limit_that_is_not_a_positive_integer_is_refused_naming_it(raw):
    with pytest.raises(ConfigError, match=f"MAX_PAYLOAD_BYTES='{raw}'"):
        load_settings({**REQUIRED, contract.ENV_MAX_PAYLOAD_BYTES: raw})


def test_a_binary_object_is_read_up_to_the_payload_limit_and_text_up_to_the_object_limit():
    limits = {contract.ENV_MAX_OBJECT_BYTES: "1000", contract.ENV_MAX_PAYLOAD_BYTES: "5000"}
    text = load_settings({**REQUIRED, **limits})
    binary = load_settings({**REQUIRED, **limits, contract.ENV_PAYLOAD_FORMAT: "binary"})
    assert (text.read_limit, text.read_limit_variable) == (1000, contract.ENV_MAX_OBJECT_BYTES)
    assert (binary.read_limit, binary.read_limit_variable) == (5000, contract.ENV_MAX_PAYLOAD_BYTES)


def test_the_large_results_prefix_defaults_to_results():
    assert load_settings(REQUIRED).large_results_prefix == contract.DEFAULT_LARGE_RESULTS_PREFIX == "results/"


def test_the_large_results_prefix_is_read_exactly():
    settings = load_settings({**REQUIRED, contract.ENV_LARGE_RESULTS_PREFIX: "big results/"})
    assert (settings.large_results_prefix, settings.scope.results_prefix) == ("big results/", "big results/")


def test_a_large_results_prefix_leaving_no_room_for_the_result_name_is_refused():
    with pytest.raises(ConfigError, match="LARGE_RESULTS_PREFIX is 956 bytes"):
        load_settings({**REQUIRED, contract.ENV_LARGE_RESULTS_PREFIX: "r" * 956})


def test_the_memory_budget_for_objects_in_flight_is_a_32nd_of_the_function_memory():
    settings = load_settings({**REQUIRED, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024"})
    assert settings.max_in_flight_bytes == in_flight_budget_bytes(1024) == 32 * 1024 * 1024


def test_an_explicit_worker_count_sizes_the_pool_whatever_the_memory():
    settings = load_settings(
        {**REQUIRED, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024", contract.ENV_MAX_WORKERS: "3"}
    )
    assert settings.max_workers == 3
