"""The offline checks of infra/: they pass on the repository's code and fail on a broken copy."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ai_roadmap.mlops import infra_checks as ic

INFRA = ic.repo_infra_dir()


@pytest.fixture
def infra_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "infra"
    shutil.copytree(INFRA, copy, ignore=shutil.ignore_patterns(".terraform*"))
    return copy


def test_the_repository_infra_is_found_and_formatted() -> None:
    assert ic.find_infra_dir() == INFRA
    check = ic.terraform_fmt(INFRA / "terraform")
    assert check.passed, check.detail
    assert check.detail.startswith("Terraform v")


def test_a_misformatted_terraform_file_fails_fmt(infra_copy: Path) -> None:
    tf = infra_copy / "terraform" / "outputs.tf"
    tf.write_text(
        tf.read_text().replace(
            "  value       = aws_eks_cluster.this.name", "  value = aws_eks_cluster.this.name"
        )
    )
    check = ic.terraform_fmt(infra_copy / "terraform")
    assert not check.passed and "outputs.tf" in check.detail


def test_a_terraform_syntax_error_fails_fmt(infra_copy: Path) -> None:
    (infra_copy / "terraform" / "broken.tf").write_text('resource "aws_s3_bucket" "x" {\n')
    assert not ic.terraform_fmt(infra_copy / "terraform").passed


def test_the_configuration_loads_and_stops_only_at_the_providers() -> None:
    check = ic.terraform_config_loads(INFRA / "terraform")
    assert check.passed, check.detail
    assert "3 providers" in check.detail


def test_a_validation_message_terraform_rejects_fails_loading(infra_copy: Path) -> None:
    variables = infra_copy / "terraform" / "variables.tf"
    text = variables.read_text()
    assert 'error_message = "The region must look like us-east-1."' in text
    # Terraform 1.0 wants a sentence: capital first letter, full stop at the end
    variables.write_text(text.replace('"The region must look like us-east-1."', '"bad region"'))
    check = ic.terraform_config_loads(infra_copy / "terraform")
    assert not check.passed and "Invalid validation error message" in check.detail
    assert ic.terraform_fmt(infra_copy / "terraform").passed  # fmt alone does not see it


def test_the_manifests_match_their_schemas() -> None:
    checks = ic.validate_manifests(INFRA / "k8s", "1.31.0")
    assert all(c.passed for c in checks), [c for c in checks if not c.passed]
    kinds = " ".join(c.detail for c in checks)
    for kind in ("Deployment/", "HorizontalPodAutoscaler/", "PodDisruptionBudget/", "Service/"):
        assert kind in kinds


@pytest.mark.parametrize(
    ("old", "new", "error"),
    [
        ("  minReplicas: 2", "  minReplica: 2", "minReplica"),  # a misspelt field
        ("  maxReplicas: 20", "  maxReplicas: twenty", "twenty"),  # a wrong type
    ],
)
def test_a_broken_manifest_fails(infra_copy: Path, old: str, new: str, error: str) -> None:
    hpa = infra_copy / "k8s" / "hpa.yaml"
    assert old in hpa.read_text()
    hpa.write_text(hpa.read_text().replace(old, new))
    checks = {c.name: c for c in ic.validate_manifests(infra_copy / "k8s", "1.31.0")}
    assert not checks["schema_hpa"].passed and error in checks["schema_hpa"].detail
    assert checks["schema_deployment"].passed


def test_the_deployment_asks_for_a_gpu_and_tolerates_the_gpu_taint() -> None:
    import yaml

    deployment = yaml.safe_load((INFRA / "k8s" / "deployment.yaml").read_text())
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod[
        "tolerations"
    ]
    # drained inside the 2-minute Spot notice
    assert pod["terminationGracePeriodSeconds"] < 120
    assert container["lifecycle"]["preStop"]
    # the node group's types, read from variables.tf, are several and all GPU types
    types = ic.terraform_default_list(INFRA / "terraform" / "variables.tf", "gpu_instance_types")
    assert len(types) >= 2 and all(t.startswith(("g4dn", "g5", "g6")) for t in types)


@pytest.mark.slow
def test_checkov_passes_with_every_skip_explained() -> None:
    summary = ic.checkov_scan(INFRA)
    assert summary.failed == 0, summary.failures
    assert summary.parsing_errors == 0 and summary.passed > 100
    assert summary.skipped >= 1 and not summary.unexplained_skips
    assert all(c.passed for c in ic.checkov_checks(summary))


@pytest.mark.slow
def test_checkov_fails_an_insecure_change_and_a_skip_without_reason(infra_copy: Path) -> None:
    main = infra_copy / "terraform" / "main.tf"
    text = main.read_text()
    # the control plane's logs switched off: a failed check
    logs = [line for line in text.splitlines(True) if "enabled_cluster_log_types" in line]
    assert len(logs) == 1
    text = text.replace(logs[0], "")
    # a bare skip (no reason) on the log group
    text = text.replace(
        'resource "aws_cloudwatch_log_group" "eks" {\n',
        'resource "aws_cloudwatch_log_group" "eks" {\n  #checkov:skip=CKV_AWS_338\n',
    )
    main.write_text(text)
    summary = ic.checkov_scan(infra_copy)
    assert any(f.startswith("CKV_AWS_37 ") for f in summary.failures), summary.failures
    assert any(s.startswith("CKV_AWS_338 ") for s in summary.unexplained_skips)
    assert not any(c.passed for c in ic.checkov_checks(summary))
