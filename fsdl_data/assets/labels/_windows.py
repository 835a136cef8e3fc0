"""What the `labels` modules share: the group, owner and partitions every asset of it has, and
the windows of days their inputs span."""

import dagster as dg

from fsdl_data.partitions import daily, days_window
from fsdl_data.resources import TAGGED_BY_DAY

OWNERS = ["team:labeling"]
DAILY_LABELS = {"partitions_def": daily, "group_name": "labels", "owners": OWNERS}


def trailing(days: int) -> dg.TimeWindowPartitionMapping:
    """The partition itself and the `days - 1` before it (those that exist)."""
    return days_window(-(days - 1), 0)


def tagged_days(first: int, last: int) -> dg.AssetIn:
    """An input of the partitions from `first` to `last` days from this one (those that exist),
    each row tagged with its day."""
    return dg.AssetIn(partition_mapping=days_window(first, last), metadata=TAGGED_BY_DAY)
