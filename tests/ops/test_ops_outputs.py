"""Stack outputs: this project's are read, anything else is refused before any AWS call (pure)."""

from __future__ import annotations

import subprocess

import pytest
from ops_samples import ERROR_TOPIC, SUCCESS_TOPIC, WRITER_FUNCTION_ARN, dev_outputs, dev_outputs_with_async

from ops.outputs import OpsError, parse_outputs, read_outputs


def test_dev_stack_outputs_give_every_route_with_its_entry():
    stack = parse_outputs(dev_outputs(), "outputs.json")
    assert sorted(stack.routes) == ["batch", "data", "events", "uploads"]
    assert stack.route("batch").entry.startswith("queue https://sqs.")
    assert stack.route("uploads").entry.startswith("topic arn:aws:sns:")
    assert stack.route("data").entry == "function inference-data-1234567"
    assert stack.route("data").suffix == ".json"


def test_unknown_route_is_an_error_listing_the_stacks_routes():
    stack = parse_outputs(dev_outputs(), "outputs.json")
    with pytest.raises(
        OpsError, match=r"unknown route 'nope'; this stack's routes: batch, data, events, uploads"
    ):
        stack.route("nope")


def test_outputs_of_another_project_are_refused_naming_what_is_missing():
    with pytest.raises(OpsError) as raised:
        parse_outputs({"vpc_id": "vpc-1", "region": "us-east-1"}, "other.json")
    message = str(raised.value)
    assert "other.json is not the stack output of ai-event-pipeline" in message
    for name in ("bucket_name", "results_table_name", "notifications_topic_arn", "routes"):
        assert f"missing output {name!r}" in message


def test_a_route_lacking_its_kinds_resource_is_refused():
    outputs = dev_outputs()
    del outputs["routes"]["batch"]["queue_url"]
    with pytest.raises(OpsError, match="route 'batch' lacks queue_url"):
        parse_outputs(outputs, "outputs.json")


def test_a_route_with_an_unknown_kind_is_refused():
    outputs = dev_outputs()
    outputs["routes"]["batch"]["via"] = "carrier-pigeon"
    with pytest.raises(OpsError, match="route 'batch' has via 'carrier-pigeon'"):
        parse_outputs(outputs, "outputs.json")


def test_outputs_file_that_is_not_json_is_an_ops_error(tmp_path):
    path = tmp_path / "outputs.json"
    path.write_text("Current stack outputs (3):", encoding="utf-8")
    with pytest.raises(OpsError, match="is not JSON"):
        read_outputs(path)


def test_missing_outputs_file_is_an_ops_error(tmp_path):
    with pytest.raises(OpsError, match="cannot read stack outputs"):
        read_outputs(tmp_path / "absent.json")


def test_without_a_path_the_outputs_come_from_pulumi_stack_output_json():
    calls = []

    def run(args, **kwargs):
        calls.append(args)
        return subprocess.CompletedProcess(args, 0, stdout=__import__("json").dumps(dev_outputs()), stderr="")

    stack = read_outputs(None, run=run)
    assert calls == [["pulumi", "stack", "output", "--json"]]
    assert stack.bucket == "ingest-abc1234"


def test_without_the_pulumi_cli_the_error_says_to_pass_outputs():
    def run(args, **kwargs):
        raise FileNotFoundError("pulumi")

    with pytest.raises(OpsError, match="pass --outputs PATH"):
        read_outputs(None, run=run)


def test_an_async_model_gives_its_result_writer():
    writer = parse_outputs(dev_outputs_with_async(), "outputs.json").writer("summarizer")
    assert writer.function_name == "result-writer-summarizer-5f7798a"
    assert writer.dlq_url.endswith("/result-writer-summarizer-dlq")
    assert writer.topic_arns == (SUCCESS_TOPIC, ERROR_TOPIC)
    assert writer.output_uri == "s3://ingest-abc1234/async-inference/summarizer/output/"
    assert writer.is_function(f"{WRITER_FUNCTION_ARN}:$LATEST")
    assert not writer.is_function("arn:aws:lambda:us-east-1:123456789012:function:inference-documents-1")


def test_a_model_that_is_not_async_has_no_result_writer_and_the_error_names_the_async_models():
    stack = parse_outputs(dev_outputs_with_async(), "outputs.json")
    with pytest.raises(
        OpsError, match=r"model 'text-classifier' is not async \(mode 'serverless'\)"
    ) as raised:
        stack.writer("text-classifier")
    assert "this stack's async models: summarizer" in str(raised.value)
    with pytest.raises(OpsError, match=r"unknown model 'nope'; this stack's async models: summarizer"):
        stack.writer("nope")


def test_a_stack_without_an_async_model_says_so():
    with pytest.raises(OpsError, match="this stack has no async model"):
        parse_outputs(dev_outputs(), "outputs.json").writer("text-classifier")


def test_an_async_model_lacking_its_result_writer_outputs_is_refused():
    outputs = dev_outputs_with_async()
    del outputs["models"]["summarizer"]["result_writer_dlq_url"]
    with pytest.raises(OpsError, match="async model 'summarizer' lacks result_writer_dlq_url"):
        parse_outputs(outputs, "outputs.json")
