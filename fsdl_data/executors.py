"""Execution: steps run in parallel processes, but at most one GPU-tagged step at a time.

GPU work is marked twice, for the two layers that schedule it:
- op tag `fsdl/gpu=true`: the executor below lets one such step run at a time within a run;
- `pool="gpu"`: the instance's `gpu` pool (limit 1 in dagster.yaml, the only pool) does the
  same across concurrent runs.
In a multi-machine deployment the same steps carry the routing tags of the executors that
place work on GPU nodes: `dagster-celery/queue: gpu` sends them to Celery workers started with
`-q gpu` on GPU machines; `dagster-k8s/config` asks Kubernetes for `nvidia.com/gpu: 1`, so the
step's pod is scheduled on a GPU node. Nothing else changes.
"""

import dagster as dg

from fsdl_data.config import Settings

GPU_TAG_KEY = "fsdl/gpu"
GPU_POOL = "gpu"

GPU_NODE_LABEL = {"fsdl/accelerator": "gpu"}  # label your GPU node pool with it
GPU_OP_TAGS = {
    GPU_TAG_KEY: "true",
    "dagster-celery/queue": "gpu",
    "dagster-k8s/config": {
        "container_config": {"resources": {"limits": {"nvidia.com/gpu": "1"}}},
        "pod_spec_config": {
            "node_selector": GPU_NODE_LABEL,
            # GPU node pools are tainted so that only GPU work lands there (GKE, EKS, AKS)
            "tolerations": [
                {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
            ],
        },
    },
}

gpu_aware_executor = dg.multiprocess_executor.configured(
    {
        "tag_concurrency_limits": [{"key": GPU_TAG_KEY, "value": "true", "limit": 1}],
        # A fresh interpreter per step re-imports dagster, torch and polars (seconds each); a fork
        # server that has imported the code location once starts steps in a fraction of that.
        "start_method": {"forkserver": {"preload_modules": ["fsdl_data.definitions"]}},
    },
    name="gpu_aware_multiprocess",
)


def executor_for(settings: Settings) -> dg.ExecutorDefinition:
    """The executor FSDL_EXECUTOR names (`settings.executor`): a configuration change, not a
    code edit.

    - `multiprocess` (default): one machine, `gpu_aware_multiprocess` above;
    - `celery`: every step a Celery task on FSDL_CELERY_BROKER (default RabbitMQ on localhost);
      GPU steps go to the `gpu` queue (run its workers with `-c 1` on GPU machines), the rest to
      `dagster`; the instance and the lake must be shared (Postgres, S3);
    - `k8s`: every step its own Kubernetes pod (`dagster-k8s`); GPU steps ask for one
      `nvidia.com/gpu`, on a node labelled `fsdl/accelerator=gpu`, tolerating the GPU taint.
    """
    if settings.executor == "celery":
        from dagster_celery import celery_executor

        return celery_executor.configured({"broker": settings.celery_broker}, name="celery")
    if settings.executor == "k8s":
        from dagster_k8s import k8s_job_executor

        return k8s_job_executor
    return gpu_aware_executor  # Settings accepts only EXECUTORS
