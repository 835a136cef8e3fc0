"""What a generated photo-app world is made of, and the hidden factors that drive it."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import date, timedelta

from fsdl_data.core.tables.schemas import CONTENT_CLASSES

__all__ = ["CONTENT_CLASSES", "COUNTRIES", "WorldSpec"]


CLIENTS: tuple[str, ...] = ("ios", "android", "web")

# country -> (UTC offset in hours of its clients, cities)
COUNTRIES: dict[str, tuple[int, tuple[str, ...]]] = {
    "US": (-5, ("New York", "Chicago", "Austin")),
    "BR": (-3, ("Sao Paulo", "Rio de Janeiro")),
    "GB": (0, ("London", "Manchester")),
    "DE": (1, ("Berlin", "Munich")),
    "IN": (5, ("Mumbai", "Bangalore")),
    "JP": (9, ("Tokyo", "Osaka")),
}

# Hidden popularity factors (log scale). Nothing downstream may read these: models must learn them.
CONTENT_EFFECT = {"landscape": 0.35, "food": 0.1, "portrait": 0.55, "city": 0.0, "pattern": -0.7}
STYLE_EFFECT = 1.2  # times (style - 0.5); style is "vividness" in [0, 1]
ACTIVITY_EFFECT = 0.45  # times log(poster activity)
EVENING_EFFECT = 0.4  # posted 17:00-22:59 UTC
NIGHT_EFFECT = -0.35  # posted 00:00-05:59 UTC
NOISE_SD = 0.3  # unexplained popularity


@dataclass(frozen=True)
class WorldSpec:
    seed: int = 0
    start_date: date = date(2026, 1, 1)
    photos_per_day: int = 200
    users: int = 500
    events_per_day: int = 20_000
    # share of photos in the human-labeled seed set (each labeled by annotators_per_task): 20
    # photos a day, the agreement gate's minimum (agreement.MIN_UNITS_FOR_ALPHA), so it can block
    seed_label_fraction: float = 0.1
    gold_fraction: float = 0.01  # share of photos an expert labels (drawn from the seed set)
    annotators_per_task: int = 3
    defects: bool = False
    # With defects: one photo per day whose poster does not exist, the defect the blocking
    # referential-integrity check is there to stop (off for a world every check should pass).
    orphan_photos: bool = True
    # The label-error defect (independent of `defects`): this share of the seed set's photos get
    # one wrong class from every annotator, and this share of gold photos a wrong expert label
    # (defects.corrupt_labels; label_issues is there to find them).
    label_error_rate: float = 0.0

    def day(self, index: int) -> date:
        return self.start_date + timedelta(days=index)

    def index(self, day: date) -> int:
        return (day - self.start_date).days

    def to_json(self) -> str:
        d = asdict(self)
        d["start_date"] = self.start_date.isoformat()
        return json.dumps(d, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> WorldSpec:
        d = json.loads(text)
        d.pop("days", None)
        d["start_date"] = date.fromisoformat(d["start_date"])
        return cls(**d)
