"""The architecture diagram is generated from the real graph, and the committed copies match it."""

from __future__ import annotations

import re

from localrun.program import PROJECT_DIR
from tools.diagram import mermaid

DIAGRAM_FILE = PROJECT_DIR / "docs" / "architecture.mmd"
README = PROJECT_DIR / "README.md"
REGENERATE = "regenerate with `python -m tools.diagram > docs/architecture.mmd`"


def test_committed_diagram_is_the_one_the_dev_graph_generates(dev):
    assert DIAGRAM_FILE.read_text() == mermaid(dev.run), REGENERATE


def test_readme_mermaid_block_if_any_is_the_generated_diagram(dev):
    blocks = re.findall(r"```mermaid\n(.*?)```", README.read_text(), flags=re.DOTALL)
    for block in blocks:
        assert block == mermaid(dev.run), (
            f"README.md's mermaid block is stale: paste docs/architecture.mmd ({REGENERATE})"
        )


def test_diagram_draws_every_route_path_of_the_dev_stack(dev):
    diagram = mermaid(dev.run)
    for edge in (
        'ingest -->|"uploads/*"| uploads_object_events',
        'uploads_object_events -->|"subscription"| inference_uploads',
        'ingest -->|"batch/*"| batch_queue',
        'batch_queue -->|"batches of 10"| inference_batch',
        'ingest -->|"data/*.json"| inference_data',
        'ingest -->|"all objects"| default_bus',
        'default_bus -->|"events/*"| events_object_created',
        'events_object_created -->|"target"| inference_events',
        'batch_queue -.->|"after 5 receives"| batch_dlq',
        'inference_data -.->|"async failure after 2 retries"| data_dlq',
        'inference_uploads -->|"PutItem"| results',
        'alarms -->|"alarm / OK"| ops',
    ):
        assert edge in diagram, edge


def test_diagram_draws_the_endpoint_state_dead_letter_path(dev):
    diagram = mermaid(dev.run)
    assert 'endpoint_state_rule -->|"target"| notifications' in diagram
    assert 'endpoint_state_rule -.->|"undeliverable"| endpoint_state_dlq' in diagram


def test_diagram_draws_the_async_routes_submission_completion_and_result_writer(dev):
    diagram = mermaid(dev.run)
    for edge in (
        'ingest -->|"documents/*.json"| inference_documents',
        'inference_documents -->|"InvokeEndpointAsync"| model_summarizer_endpoint',
        'ingest -->|"InputLocation (read by SageMaker)"| model_summarizer_endpoint',
        'model_summarizer_endpoint -->|"completed"| model_summarizer_success',
        'model_summarizer_endpoint -.->|"failed"| model_summarizer_error',
        'model_summarizer_success -->|"subscription"| result_writer_summarizer',
        'result_writer_summarizer -->|"UpdateItem"| results',
        'result_writer_summarizer -->|"Publish outcome"| notifications',
    ):
        assert edge in diagram, edge


def test_diagram_counts_every_alarm(dev):
    assert 'alarms["38 CloudWatch alarms"]' in mermaid(dev.run)


def test_diagram_follows_the_config(prod):
    diagram = mermaid(prod.run)
    assert 'ingest -->|"reviews/*.json"| reviews_queue' in diagram
    assert 'invoices_queue -->|"batches of 50"| inference_invoices' in diagram
    assert "default_bus" not in diagram
    assert "existing SageMaker endpoint<br/>Sentiment-Prod" in diagram
