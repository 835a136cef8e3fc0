"""Labeling functions: cheap, noisy rules that vote on a photo's content class or abstain.

Each is plain Python declared here with `@labeling_function`: its name is the function's name,
its description the docstring, plus an owner and, for a rule that can vote for one class only,
that class (the function then returns True to vote, False to abstain). A function that can
vote for any class returns the class name, or None to abstain. In the label matrix a vote is
the class's index in CONTENT_CLASSES and an abstention is -1.

Adding a rule is one definition here plus a test (fsdl_data_tests/core/test_labeling_functions.py).
The rules look only at what the app knows about a photo (title and hashtags, location, pixel
statistics, the classifier's outputs), never at the world's hidden truth.
"""

from __future__ import annotations

import inspect
import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from fsdl_data.core.labels.label_model import ABSTAIN
from fsdl_data.core.tables.schemas import CONTENT_CLASSES
from fsdl_data.core.versions import version_of
from fsdl_data.core.vision.pixels import PixelStats

OWNER = "team:labeling"
_WORD = re.compile(r"[a-z0-9']+")
_HASHTAG = re.compile(r"#(\w+)")


@dataclass(frozen=True)
class Photo:
    """What a labeling function may look at."""

    photo_id: int
    title: str  # the caption without its hashtags
    hashtags: frozenset[str]  # lower case, without '#'
    location: str
    pixels: PixelStats | None  # None when the photo could not be decoded
    classifier: Mapping[str, float] | None  # class -> probability; None before any classifier

    @property
    def words(self) -> frozenset[str]:
        return frozenset(_WORD.findall(self.title.lower()))

    def mentions(self, phrases: frozenset[str]) -> bool:
        """Whether the title holds any of `phrases` as whole words."""
        text = " " + " ".join(_WORD.findall(self.title.lower())) + " "
        return any(f" {p} " in text for p in phrases)


@dataclass(frozen=True)
class LabelingFunction:
    name: str
    description: str
    owner: str
    vote: Callable[[Photo], str | None]
    votes_for: str | None  # the one class it can vote for; None: any class
    source: str  # its code, part of the label model's version
    reads_classifier: bool = False  # its votes change whenever the classifier does

    def __call__(self, photo: Photo) -> int:
        """The vote as a class index, or ABSTAIN."""
        choice = self.vote(photo)
        if choice is None:
            return ABSTAIN
        if choice not in CONTENT_CLASSES:
            raise ValueError(f"labeling function {self.name} voted unknown class {choice!r}")
        return CONTENT_CLASSES.index(choice)


LABELING_FUNCTIONS: list[LabelingFunction] = []


def labeling_function(
    *, votes_for: str | None = None, owner: str = OWNER, reads_classifier: bool = False
) -> Callable[[Callable[[Photo], Any]], LabelingFunction]:
    """Declares a labeling function (see the module docstring) and registers it."""
    if votes_for is not None and votes_for not in CONTENT_CLASSES:
        raise ValueError(f"votes_for must be one of {CONTENT_CLASSES}, got {votes_for!r}")

    def declare(rule: Callable[[Photo], Any]) -> LabelingFunction:
        description = inspect.getdoc(rule)
        if not description:
            raise ValueError(
                f"labeling function {rule.__name__} needs a docstring: its description"
            )
        if any(lf.name == rule.__name__ for lf in LABELING_FUNCTIONS):
            raise ValueError(f"a labeling function named {rule.__name__} already exists")
        if votes_for is None:
            vote = rule
        else:

            def vote(photo: Photo) -> str | None:
                return votes_for if rule(photo) else None

        lf = LabelingFunction(
            name=rule.__name__,
            description=description,
            owner=owner,
            vote=vote,
            votes_for=votes_for,
            source=inspect.getsource(rule),
            reads_classifier=reads_classifier,
        )
        LABELING_FUNCTIONS.append(lf)
        return lf

    return declare


# --- titles ----------------------------------------------------------------------------------
LANDSCAPE_WORDS = frozenset(
    {"hills", "lake", "valley", "sunset", "hike", "coastline", "view", "mountains"}
)
FOOD_WORDS = frozenset(
    {"brunch", "pasta", "dinner", "breakfast", "dessert", "street food", "feast"}
)
PORTRAIT_WORDS = frozenset({"selfie", "portrait", "me", "friend", "headshot", "look", "squad"})
CITY_WORDS = frozenset({"skyline", "downtown", "night lights", "streets", "rooftops", "towers"})
PATTERN_WORDS = frozenset({"tiles", "stripes", "texture", "design", "wallpaper", "fabric"})


@labeling_function(votes_for="landscape")
def title_mentions_landscape(photo: Photo) -> bool:
    """The title names a landscape: hills, a lake, a valley, a sunset, a view, a hike."""
    return photo.mentions(LANDSCAPE_WORDS)


@labeling_function(votes_for="food")
def title_mentions_food(photo: Photo) -> bool:
    """The title names a meal or a dish."""
    return photo.mentions(FOOD_WORDS)


@labeling_function(votes_for="portrait")
def title_mentions_person(photo: Photo) -> bool:
    """The title names a person: a selfie, a friend, a headshot."""
    return photo.mentions(PORTRAIT_WORDS)


@labeling_function(votes_for="city")
def title_mentions_city(photo: Photo) -> bool:
    """The title names a city scene: a skyline, downtown, streets, rooftops."""
    return photo.mentions(CITY_WORDS)


@labeling_function(votes_for="pattern")
def title_mentions_pattern(photo: Photo) -> bool:
    """The title names a pattern or a material: tiles, stripes, fabric, wallpaper."""
    return photo.mentions(PATTERN_WORDS)


# --- hashtags --------------------------------------------------------------------------------
CLASS_HASHTAGS = {
    "landscape": frozenset({"nature", "mountains", "outdoors", "hiking", "hike", "sunset", "lake",
                            "hills", "valley", "coastline"}),
    "food": frozenset({"foodie", "yummy", "delicious", "foodporn", "homemade", "dinner", "brunch",
                       "pasta", "breakfast", "dessert", "streetfood", "feast"}),
    "portrait": frozenset({"selfie", "me", "portrait", "friends", "friend", "ootd", "headshot",
                           "squad"}),
    "city": frozenset({"citylife", "urban", "architecture", "nightlife", "skyline", "downtown",
                       "streets", "rooftops", "towers", "nightlights"}),
    "pattern": frozenset({"pattern", "design", "texture", "art", "minimal", "tiles", "stripes",
                          "wallpaper", "fabric"}),
}  # fmt: skip


@labeling_function()
def hashtags_majority(photo: Photo) -> str | None:
    """The class most of the photo's class-specific hashtags point to (abstains on a tie)."""
    counts = Counter(c for c, tags in CLASS_HASHTAGS.items() for t in photo.hashtags if t in tags)
    if not counts:
        return None
    ranked = counts.most_common(2)
    if len(ranked) == 2 and ranked[0][1] == ranked[1][1]:
        return None
    return ranked[0][0]


@labeling_function(votes_for="food")
def hashtag_food(photo: Photo) -> bool:
    """A food hashtag: #foodie, #yummy, #pasta, #brunch."""
    return bool(photo.hashtags & CLASS_HASHTAGS["food"])


@labeling_function(votes_for="portrait")
def hashtag_selfie(photo: Photo) -> bool:
    """A selfie hashtag: #selfie, #me, #ootd, #headshot."""
    return bool(photo.hashtags & {"selfie", "me", "ootd", "headshot"})


# --- locations -------------------------------------------------------------------------------
NATURE_SPOTS = frozenset({"Yosemite", "Lake Como", "Swiss Alps", "Big Sur", "Mount Fuji"})
FOOD_MARKETS = frozenset({"Borough Market", "Eataly", "Tsukiji Market", "La Boqueria"})
LANDMARKS = frozenset({"Times Square", "Shibuya Crossing", "Canary Wharf", "Alexanderplatz"})


@labeling_function(votes_for="landscape")
def location_nature_spot(photo: Photo) -> bool:
    """Taken at a national park or a scenic spot."""
    return photo.location in NATURE_SPOTS


@labeling_function(votes_for="food")
def location_food_market(photo: Photo) -> bool:
    """Taken at a food market."""
    return photo.location in FOOD_MARKETS


@labeling_function(votes_for="city")
def location_city_landmark(photo: Photo) -> bool:
    """Taken at a city landmark."""
    return photo.location in LANDMARKS


# --- pixels ----------------------------------------------------------------------------------
@labeling_function(votes_for="landscape")
def pixels_blue_sky(photo: Photo) -> bool:
    """The top of the frame is clearly blue: a sky."""
    return photo.pixels is not None and photo.pixels.top_blue > 0.3


@labeling_function(votes_for="city")
def pixels_night(photo: Photo) -> bool:
    """Mostly dark: a night scene."""
    return photo.pixels is not None and photo.pixels.dark_share > 0.35


@labeling_function(votes_for="portrait")
def pixels_skin_center(photo: Photo) -> bool:
    """Skin tones fill much of the centre: a face."""
    return photo.pixels is not None and photo.pixels.center_skin > 0.3


@labeling_function(votes_for="food")
def pixels_plate(photo: Photo) -> bool:
    """A white disc in the centre: a plate."""
    return photo.pixels is not None and photo.pixels.center_white > 0.2


@labeling_function(votes_for="pattern")
def pixels_flat_colors(photo: Photo) -> bool:
    """Very few distinct colours: a flat design."""
    return photo.pixels is not None and photo.pixels.colors <= 7


# --- the classifier --------------------------------------------------------------------------
CLASSIFIER_CONFIDENCE = 0.9


@labeling_function(reads_classifier=True)
def classifier_confident(photo: Photo) -> str | None:
    """The photo classifier's class, where it gives that class at least 90% probability."""
    if not photo.classifier:
        return None
    best = max(photo.classifier, key=lambda c: photo.classifier[c])  # type: ignore[index]
    return best if photo.classifier[best] >= CLASSIFIER_CONFIDENCE else None


# --- applying them ---------------------------------------------------------------------------
def labeling_functions_version(functions: list[LabelingFunction] | None = None) -> str:
    """A hash of the functions' names and code: it changes whenever a rule changes."""
    functions = LABELING_FUNCTIONS if functions is None else functions
    return version_of(*(f"{lf.name}\n{lf.owner}\n{lf.source}" for lf in functions))


def photos_for_labeling(
    metadata: pl.DataFrame, pixels: pl.DataFrame, classifier: pl.DataFrame | None = None
) -> list[Photo]:
    """One Photo per row of `metadata` (photo_id, title, location), with its pixel statistics
    (from photo_pixels) and classifier probabilities (p_<class> columns) where present."""
    stats = {r["photo_id"]: r for r in pixels.iter_rows(named=True)}
    probabilities: dict[int, dict[str, float]] = {}
    if classifier is not None:
        for r in classifier.iter_rows(named=True):
            probabilities[r["photo_id"]] = {c: float(r[f"p_{c}"]) for c in CONTENT_CLASSES}
    fields = PixelStats.__dataclass_fields__
    photos = []
    for row in metadata.select("photo_id", "title", "location").iter_rows(named=True):
        caption = row["title"] or ""
        found = stats.get(row["photo_id"])
        photos.append(
            Photo(
                photo_id=row["photo_id"],
                title=_HASHTAG.sub("", caption).strip(),
                hashtags=frozenset(t.lower() for t in _HASHTAG.findall(caption)),
                location=row["location"] or "",
                pixels=PixelStats(**{f: found[f] for f in fields}) if found else None,
                classifier=probabilities.get(row["photo_id"]),
            )
        )
    return photos


def apply_labeling_functions(
    photos: list[Photo], functions: list[LabelingFunction] | None = None
) -> pl.DataFrame:
    """The label matrix as a table: photo_id, then one Int8 column of votes per function."""
    functions = LABELING_FUNCTIONS if functions is None else functions
    columns: dict[str, Any] = {"photo_id": pl.Series([p.photo_id for p in photos], dtype=pl.Int64)}
    for lf in functions:
        columns[lf.name] = pl.Series([lf(p) for p in photos], dtype=pl.Int8)
    return pl.DataFrame(columns)


def label_matrix(
    metadata: pl.DataFrame,
    pixels: pl.DataFrame,
    classifier_outputs: pl.DataFrame | None,
    classifier_version: str | None,
    functions: list[LabelingFunction] | None = None,
) -> pl.DataFrame:
    """A day's label matrix: every function's vote on every photo of `metadata`, with the
    version of the classifier whose outputs (p_<class> columns; None before there is one) the
    classifier_* functions read."""
    photos = photos_for_labeling(metadata, pixels, classifier_outputs)
    return apply_labeling_functions(photos, functions).with_columns(
        pl.lit(classifier_version, dtype=pl.String).alias("classifier_version")
    )


def coverage(label_matrix: pl.DataFrame, names: list[str]) -> dict[str, float]:
    """Per function, the share of photos it votes on (0 for an empty matrix)."""
    voted = vote_matrix(label_matrix, names) >= 0
    shares = voted.mean(axis=0) if len(voted) else np.zeros(len(names))
    return {n: round(float(share), 4) for n, share in zip(names, shares, strict=True)}


def photos_with_a_vote(label_matrix: pl.DataFrame, names: list[str]) -> int:
    """How many photos at least one of the functions votes on."""
    return int((vote_matrix(label_matrix, names) >= 0).any(axis=1).sum())


def vote_matrix(label_matrix: pl.DataFrame, names: list[str]) -> np.ndarray:
    """(n, m) votes of the named functions; a function missing from the table abstains."""
    columns = [
        label_matrix[n].to_numpy().astype(np.int64)
        if n in label_matrix.columns
        else np.full(len(label_matrix), ABSTAIN, dtype=np.int64)
        for n in names
    ]
    return np.stack(columns, axis=1) if columns else np.zeros((len(label_matrix), 0), np.int64)
