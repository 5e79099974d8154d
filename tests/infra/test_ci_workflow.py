"""The pull-request workflow's preview job: a first step that skips, with a notice, what cannot preview."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from localrun.program import PROJECT_DIR

WORKFLOW = PROJECT_DIR / ".github" / "workflows" / "pull-request.yml"
GATE_CONDITION = "steps.gate.outputs.run == 'true'"
BASH = shutil.which("bash")


def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def preview_steps() -> list[dict]:
    return workflow()["jobs"]["preview"]["steps"]


def gate() -> dict:
    return preview_steps()[0]


def test_workflow_runs_on_pull_requests():
    # YAML 1.1 reads the bare key `on` as the boolean True.
    document = workflow()
    triggers = document.get("on", document.get(True))
    assert "pull_request" in triggers, WORKFLOW


def test_preview_job_starts_with_the_gate_step():
    step = gate()
    assert step.get("id") == "gate", step
    assert "if" not in step, step


def test_gate_reads_the_repositories_and_the_role_through_env():
    step = gate()
    assert step["env"] == {
        "HEAD_REPOSITORY": "${{ github.event.pull_request.head.repo.full_name }}",
        "BASE_REPOSITORY": "${{ github.repository }}",
        "PREVIEW_ROLE": "${{ vars.AWS_PREVIEW_ROLE_ARN }}",
    }, step


def test_gate_script_interpolates_no_expression():
    # A fork names its own repository: an expression pasted into the script would run as shell code.
    assert "${{" not in gate()["run"]


def test_every_step_after_the_gate_runs_only_when_the_gate_allows():
    later = preview_steps()[1:]
    assert later
    for index, step in enumerate(later, start=1):
        assert step.get("if") == GATE_CONDITION, (
            index,
            step.get("name") or step.get("uses") or step.get("run"),
        )


def run_gate(tmp_path: Path, *, head: str, base: str, role: str) -> tuple[str, str]:
    """Run the gate's script as GitHub runs a `run:` step (bash -e); return (stdout, $GITHUB_OUTPUT)."""
    output = tmp_path / "github_output"
    output.touch()
    env = {
        "PATH": os.environ["PATH"],
        "HEAD_REPOSITORY": head,
        "BASE_REPOSITORY": base,
        "PREVIEW_ROLE": role,
        "GITHUB_OUTPUT": str(output),
    }
    result = subprocess.run(  # noqa: S603 - our own workflow's script, no untrusted input
        [BASH, "-e", "-c", gate()["run"]], env=env, capture_output=True, text=True, check=True, timeout=30
    )
    return result.stdout, output.read_text()


ROLE = "arn:aws:iam::123456789012:role/pulumi-preview"


@pytest.mark.skipif(BASH is None, reason="needs bash")
def test_gate_skips_a_pull_request_from_a_fork_with_a_notice(tmp_path):
    stdout, outputs = run_gate(
        tmp_path, head="someone/ai-event-pipeline", base="acme/ai-event-pipeline", role=ROLE
    )
    assert outputs.splitlines() == ["run=false"]
    assert stdout.startswith("::notice "), stdout
    assert "someone/ai-event-pipeline" in stdout


@pytest.mark.skipif(BASH is None, reason="needs bash")
def test_gate_skips_without_the_preview_role_variable_with_a_notice(tmp_path):
    stdout, outputs = run_gate(
        tmp_path, head="acme/ai-event-pipeline", base="acme/ai-event-pipeline", role=""
    )
    assert outputs.splitlines() == ["run=false"]
    assert stdout.startswith("::notice "), stdout
    assert "AWS_PREVIEW_ROLE_ARN" in stdout


@pytest.mark.skipif(BASH is None, reason="needs bash")
def test_gate_lets_a_same_repository_pull_request_with_a_role_preview(tmp_path):
    stdout, outputs = run_gate(
        tmp_path, head="acme/ai-event-pipeline", base="acme/ai-event-pipeline", role=ROLE
    )
    assert outputs.splitlines() == ["run=true"]
    assert "::notice" not in stdout


@pytest.mark.skipif(BASH is None, reason="needs bash")
def test_gate_treats_a_fork_name_as_data_not_shell_code(tmp_path):
    marker = tmp_path / "pwned"
    head = f'x"; touch {marker}; echo "'
    _, outputs = run_gate(tmp_path, head=head, base="acme/ai-event-pipeline", role=ROLE)
    assert outputs.splitlines() == ["run=false"]
    assert not marker.exists()
