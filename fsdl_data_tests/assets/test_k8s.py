"""The Kubernetes pods the k8s_job_executor would create, rendered offline with dagster-k8s from
the step's tags and deploy/k8s/values.yaml (the Helm values we ship), and checked: no cluster."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from fsdl_data.definitions import defs

REPO = Path(__file__).resolve().parents[2]
VALUES = yaml.safe_load((REPO / "deploy" / "k8s" / "values.yaml").read_text())


def render_step_pod(step: str) -> dict[str, Any]:
    """The pod spec of `step`'s Kubernetes job, built the way the k8s_job_executor builds it:
    the user deployment's image and env, merged with the step's `dagster-k8s/config` tag."""
    from dagster_k8s.container_context import K8sContainerContext
    from dagster_k8s.job import construct_dagster_k8s_job, get_user_defined_k8s_config
    from kubernetes.client import ApiClient

    deployment = VALUES["dagster-user-deployments"]["deployments"][0]
    image = f"{deployment['image']['repository']}:{deployment['image']['tag']}"
    (node,) = [n for n in defs.resolve_job_def("nightly").graph.nodes if n.name == step]
    context = K8sContainerContext(
        image_pull_policy=deployment["image"]["pullPolicy"],
        env_secrets=[secret["name"] for secret in deployment["envSecrets"]],
        env=deployment["env"],
    ).merge(K8sContainerContext(run_k8s_config=get_user_defined_k8s_config(node.tags)))
    launcher = SimpleNamespace(  # what the Helm chart gives the K8sRunLauncher
        job_image=None,
        dagster_home="/opt/dagster/dagster_home",
        instance_config_map="fsdl-dagster-instance",
        postgres_password_secret=VALUES["global"]["postgresqlSecretName"],
    )
    job = construct_dagster_k8s_job(
        context.get_k8s_job_config(image, launcher),
        args=["dagster", "api", "execute_step"],
        job_name=f"dagster-step-{step.replace('_', '-')}",
        component="step_worker",
        user_defined_k8s_config=context.run_k8s_config,
        labels={"dagster/op": step},
    )
    return ApiClient().sanitize_for_serialization(job)["spec"]["template"]["spec"]


def test_the_inference_step_gets_a_gpu_pod_with_secrets_only_by_reference() -> None:
    pod = render_step_pod("photo_classifications")
    (container,) = pod["containers"]
    assert container["resources"]["limits"] == {"nvidia.com/gpu": "1"}
    assert pod["nodeSelector"] == {"fsdl/accelerator": "gpu"}
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod[
        "tolerations"
    ]
    assert container["image"] == "ghcr.io/fsdl-data/fsdl-data:0.1.0"
    env = {e["name"]: e for e in container["env"]}
    assert env["FSDL_EXECUTOR"]["value"] == "k8s"
    assert env["FSDL_LAKE_URL"]["value"].startswith("s3://")
    assert env["FSDL_PARALLEL_STEPS"]["value"] == "1"  # torch gets every core of the pod
    assert env["DAGSTER_PG_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == (
        "dagster-postgresql-secret"
    )
    assert container["envFrom"] == [{"secretRef": {"name": "fsdl-data-secrets"}}]
    for name in ("AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "FSDL_APP_DB_URL"):
        assert name not in env  # only through the secret, never as a literal value
    assert not any("value" in e and "password" in e["name"].lower() for e in container["env"])


@pytest.mark.parametrize("step", ["photo_classifier"])
def test_training_is_a_gpu_step_too(step: str) -> None:
    assert render_step_pod(step)["containers"][0]["resources"]["limits"] == {"nvidia.com/gpu": "1"}


def test_other_steps_get_plain_pods() -> None:
    pod = render_step_pod("user_features")
    assert "nvidia.com/gpu" not in str(pod) and not pod.get("nodeSelector")
