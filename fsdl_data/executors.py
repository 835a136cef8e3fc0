"""Execution: steps run in parallel processes, but at most one GPU-tagged step at a time.

GPU work is marked twice, for the two layers that schedule it:
- op tag `fsdl/gpu=true`: the executor below lets one such step run at a time within a run;
- `pool="gpu"`: the instance's `gpu` pool (`dagster instance concurrency set gpu 1`) does the
  same across concurrent runs.
In a multi-machine deployment the same steps carry the routing tags of the executors that
place work on GPU nodes: `dagster-celery/queue: gpu` sends them to Celery workers started with
`-q gpu` on GPU machines; `dagster-k8s/config` asks Kubernetes for `nvidia.com/gpu: 1`, so the
step's pod is scheduled on a GPU node. Nothing else changes.
"""

import dagster as dg

GPU_TAG_KEY = "fsdl/gpu"
GPU_POOL = "gpu"

GPU_OP_TAGS = {
    GPU_TAG_KEY: "true",
    "dagster-celery/queue": "gpu",
    "dagster-k8s/config": {
        "container_config": {"resources": {"limits": {"nvidia.com/gpu": "1"}}},
        "pod_spec_config": {"node_selector": {"fsdl/accelerator": "gpu"}},
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
