"""Labeling functions: each rule on hand-made photos, the registry's contract, and the label
matrix on a generated world (informative but noisy, as the world is meant to be)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from fsdl_data.core.labels import functions as lfs
from fsdl_data.core.labels.functions import (
    LABELING_FUNCTIONS,
    Photo,
    apply_labeling_functions,
    labeling_function,
    photos_for_labeling,
    vote_matrix,
)
from fsdl_data.core.labels.label_model import ABSTAIN
from fsdl_data.core.storage.appdb import AppDatabase
from fsdl_data.core.storage.backends.local import LocalObjectStore
from fsdl_data.core.tables.schemas import CONTENT_CLASSES
from fsdl_data.core.tables.sources import photo_objects, photo_rows
from fsdl_data.core.vision.pixels import PixelStats
from fsdl_data.core.world.generator import seed_world
from fsdl_data_tests.helpers import SMALL

PLAIN = PixelStats(brightness=0.5, dark_share=0.0, top_blue=0.0, center_skin=0.0,
                   center_white=0.0, colors=20)  # fmt: skip


def photo(title: str = "Today", location: str = "Berlin", pixels: PixelStats | None = PLAIN,
          classifier: dict[str, float] | None = None) -> Photo:  # fmt: skip
    caption = pl.DataFrame({"photo_id": [1], "title": [title], "location": [location]})
    stats = (
        pl.DataFrame([{"photo_id": 1, **pixels.as_dict()}])
        if pixels
        else pl.DataFrame({"photo_id": []}, schema={"photo_id": pl.Int64})
    )
    probs = (
        pl.DataFrame([{"photo_id": 1, **{f"p_{c}": classifier[c] for c in CONTENT_CLASSES}}])
        if classifier
        else None
    )
    (found,) = photos_for_labeling(caption, stats, probs)
    return found


def vote(name: str, p: Photo) -> str | None:
    lf = next(f for f in LABELING_FUNCTIONS if f.name == name)
    index = lf(p)
    return None if index == ABSTAIN else CONTENT_CLASSES[index]


CASES = [
    ("title_mentions_landscape", photo("Golden hills #nature"), "landscape"),
    ("title_mentions_landscape", photo("Weekend vibes"), None),
    ("title_mentions_food", photo("Late street food"), "food"),
    ("title_mentions_food", photo("Streets at night"), None),  # a whole-word match, not a substring
    ("title_mentions_person", photo("My selfie"), "portrait"),
    ("title_mentions_person", photo("Memories #me"), None),  # a hashtag is not the title
    ("title_mentions_city", photo("Epic night lights"), "city"),
    ("title_mentions_pattern", photo("Old tiles"), "pattern"),
    ("hashtags_majority", photo("Today #foodie #yummy #travel"), "food"),
    ("hashtags_majority", photo("Today #foodie #selfie"), None),  # a tie abstains
    ("hashtags_majority", photo("Today #photooftheday"), None),
    ("hashtag_food", photo("Mood #Delicious"), "food"),  # hashtags are case-insensitive
    ("hashtag_selfie", photo("Mood #ootd"), "portrait"),
    ("location_nature_spot", photo(location="Yosemite"), "landscape"),
    ("location_food_market", photo(location="Borough Market"), "food"),
    ("location_city_landmark", photo(location="Times Square"), "city"),
    ("location_city_landmark", photo(location="London"), None),
    ("pixels_blue_sky", photo(pixels=replace(PLAIN, top_blue=0.5)), "landscape"),
    ("pixels_blue_sky", photo(pixels=None), None),  # undecodable: every pixel rule abstains
    ("pixels_night", photo(pixels=replace(PLAIN, dark_share=0.6)), "city"),
    ("pixels_skin_center", photo(pixels=replace(PLAIN, center_skin=0.5)), "portrait"),
    ("pixels_plate", photo(pixels=replace(PLAIN, center_white=0.4)), "food"),
    ("pixels_flat_colors", photo(pixels=replace(PLAIN, colors=5)), "pattern"),
    ("classifier_confident", photo(), None),  # no classifier yet
    ("classifier_confident", photo(classifier=dict(zip(CONTENT_CLASSES, [0.02, 0.02, 0.92, 0.02, 0.02], strict=True))), "portrait"),
    ("classifier_confident", photo(classifier=dict(zip(CONTENT_CLASSES, [0.5, 0.2, 0.1, 0.1, 0.1], strict=True))), None),
]  # fmt: skip


@pytest.mark.parametrize(("name", "p", "expected"), CASES)
def test_each_rule(name: str, p: Photo, expected: str | None) -> None:
    assert vote(name, p) == expected


def test_every_rule_is_declared_with_a_test_and_a_contract() -> None:
    names = [lf.name for lf in LABELING_FUNCTIONS]
    assert len(names) == len(set(names)) >= 15
    tested = {name for name, _, expected in CASES if expected is not None}
    assert tested == set(names)  # every rule has a case where it votes
    for lf in LABELING_FUNCTIONS:
        assert lf.description and lf.owner.startswith("team:")
        assert lf.votes_for in (None, *CONTENT_CLASSES)
    assert len(lfs.labeling_functions_version()) == 12


def test_declaring_a_rule_is_checked() -> None:
    before = list(LABELING_FUNCTIONS)
    try:
        with pytest.raises(ValueError, match="docstring"):
            labeling_function(votes_for="food")(lambda p: True)
        with pytest.raises(ValueError, match="votes_for must be one of"):
            labeling_function(votes_for="cats")
        with pytest.raises(ValueError, match="already exists"):

            @labeling_function(votes_for="food")
            def title_mentions_food(photo: Photo) -> bool:
                """A second rule of the same name."""
                return True

        @labeling_function()
        def votes_nonsense(photo: Photo) -> str:
            """Votes a class that does not exist."""
            return "cats"

        with pytest.raises(ValueError, match="unknown class 'cats'"):
            votes_nonsense(photo())
    finally:
        LABELING_FUNCTIONS[:] = before


def test_label_matrix_layout() -> None:
    photos = [photo("Golden hills"), photo("Today", location="Eataly")]
    matrix = apply_labeling_functions(photos)
    assert matrix.columns == ["photo_id", *(lf.name for lf in LABELING_FUNCTIONS)]
    assert matrix.schema["title_mentions_landscape"] == pl.Int8
    votes = vote_matrix(matrix, ["title_mentions_landscape", "location_food_market", "missing"])
    assert votes.tolist() == [[0, -1, -1], [-1, 1, -1]]


@pytest.fixture(scope="module")
def world_matrix(tmp_path_factory: pytest.TempPathFactory):
    root: Path = tmp_path_factory.mktemp("lf-world")
    spec = replace(SMALL, photos_per_day=600, events_per_day=500)
    store = LocalObjectStore(root / "objects")
    db = AppDatabase(f"sqlite:///{root / 'app.db'}")
    seed_world(spec, 1, store, db, root / "truth")
    _, pixels = photo_objects(store, "2026-01-01")
    metadata, _, _ = photo_rows(db, "2026-01-01")
    matrix = apply_labeling_functions(photos_for_labeling(metadata, pixels))
    truth = pl.read_parquet(root / "truth" / "photos" / "2026-01-01.parquet")
    content = matrix.select("photo_id").join(truth, on="photo_id", maintain_order="left")["content"]
    y = np.array([CONTENT_CLASSES.index(c) for c in content])
    return matrix, y


def test_rules_on_the_world_are_informative_but_noisy(world_matrix) -> None:
    matrix, y = world_matrix
    names = [lf.name for lf in LABELING_FUNCTIONS if lf.name != "classifier_confident"]
    votes = vote_matrix(matrix, names)
    for j, name in enumerate(names):
        voted = votes[:, j] != ABSTAIN
        accuracy = (votes[voted, j] == y[voted]).mean()
        assert 0.04 <= voted.mean() <= 0.6, (name, voted.mean())
        assert 0.5 <= accuracy <= 0.995, (name, accuracy)
    # no keyword rule is an answer key any more: titles are noisy
    title = votes[:, names.index("title_mentions_food")]
    assert (title[title != ABSTAIN] != y[title != ABSTAIN]).sum() > 5


def test_some_rules_are_strongly_correlated(world_matrix) -> None:
    """Hashtags often echo the title, and two rules read the same hashtags: dependencies a label
    model must not count twice."""
    matrix, _ = world_matrix

    food = CONTENT_CLASSES.index("food")

    def says_food(name: str) -> np.ndarray:
        return (matrix[name].to_numpy() == food).astype(float)

    def phi(a: str, b: str) -> float:
        return float(np.corrcoef(says_food(a), says_food(b))[0, 1])

    assert phi("title_mentions_food", "hashtag_food") > 0.3
    assert phi("hashtag_food", "hashtags_majority") > 0.6
    assert (
        abs(phi("location_food_market", "pixels_plate")) < 0.5
    )  # both food, not the same evidence


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_days_label_matrix_reads_the_classifier_given_and_names_it(seed: int) -> None:
    """label_matrix votes on every photo of the metadata, the classifier's votes come from the
    outputs it is given (none before a classifier exists), and every row names that classifier;
    coverage and photos_with_a_vote agree with counts over the votes."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 12))
    metadata = pl.DataFrame(
        {
            "photo_id": rng.permutation(np.arange(100, 100 + n)).tolist(),
            "title": rng.choice(["Golden hills", "Today", "my lunch #food", "selfie"], n).tolist(),
            "location": rng.choice(["Berlin", "Eataly", "Yosemite"], n).tolist(),
        }
    )
    sure = rng.uniform(size=n) < 0.5
    best = rng.integers(0, len(CONTENT_CLASSES), n)
    probabilities = np.full((n, len(CONTENT_CLASSES)), 0.02)
    probabilities[np.arange(n), best] = np.where(sure, 0.95, 0.3)
    outputs = pl.DataFrame(
        {
            "photo_id": metadata["photo_id"],
            **{f"p_{c}": probabilities[:, i] for i, c in enumerate(CONTENT_CLASSES)},
        }
    )
    pixels = pl.DataFrame({"photo_id": []}, schema={"photo_id": pl.Int64})
    names = [lf.name for lf in LABELING_FUNCTIONS]
    before = lfs.label_matrix(metadata, pixels, None, None)
    assert before["photo_id"].to_list() == metadata["photo_id"].to_list()
    assert before["classifier_version"].null_count() == n
    assert (before["classifier_confident"] == ABSTAIN).all()
    after = lfs.label_matrix(metadata, pixels, outputs, "clf-1")
    assert set(after["classifier_version"]) == {"clf-1"}
    expected = np.where(sure, best, ABSTAIN)
    assert after["classifier_confident"].to_list() == expected.tolist()
    votes = vote_matrix(after, names) >= 0
    coverage = lfs.coverage(after, names)
    assert list(coverage) == names
    assert all(coverage[name] == round(votes[:, j].mean(), 4) for j, name in enumerate(names))
    assert lfs.photos_with_a_vote(after, names) == int(votes.any(axis=1).sum())
    assert lfs.photos_with_a_vote(before.head(0), names) == 0
    assert set(lfs.coverage(before.head(0), names).values()) == {0.0}
