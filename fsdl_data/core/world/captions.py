"""What users write about their photos: titles with hashtags, and where they say they were.

Informative but noisy, as on a real photo app, so that keyword rules are weak labelers rather
than an answer key: many titles are generic, some name a look-alike or a misleading subject,
class vocabularies overlap ("sunset", "view", "#travel"), hashtags often echo the title (so
rules on titles and on hashtags are correlated), and a location is usually just the poster's
city, sometimes a named place that hints at the content.
"""

from __future__ import annotations

import numpy as np

from fsdl_data.core.world.spec import CONTENT_CLASSES, COUNTRIES

ADJECTIVES = (
    "Lovely",
    "Quiet",
    "Epic",
    "My",
    "Golden",
    "Rainy",
    "Perfect",
    "Late",
    "Sunday",
    "Old",
)
GENERIC_TITLES = (
    "Today", "Weekend vibes", "No filter", "Good times", "Throwback", "Just because",
    "Happy Friday", "Mood", "Finally", "Memories",
)  # fmt: skip
TITLE_NOUNS = {
    "landscape": ("hills", "lake", "valley", "sunset", "hike", "coastline", "view", "mountains"),
    "food": ("brunch", "pasta", "dinner", "breakfast", "dessert", "street food", "feast"),
    "portrait": ("selfie", "portrait", "me", "friend", "headshot", "look", "squad"),
    "city": ("skyline", "downtown", "night lights", "streets", "rooftops", "towers", "view", "sunset"),
    "pattern": ("tiles", "stripes", "texture", "design", "wallpaper", "fabric"),
}  # fmt: skip
HASHTAGS = {
    "landscape": ("nature", "travel", "mountains", "outdoors", "sunset", "hiking"),
    "food": ("foodie", "yummy", "delicious", "foodporn", "homemade"),
    "portrait": ("selfie", "me", "portrait", "friends", "ootd"),
    "city": ("citylife", "urban", "architecture", "nightlife", "travel"),
    "pattern": ("pattern", "design", "texture", "art", "minimal"),
}
GENERIC_HASHTAGS = ("photooftheday", "instagood", "love", "weekend", "happy", "nofilter")
PLACES = {
    "landscape": ("Yosemite", "Lake Como", "Swiss Alps", "Big Sur", "Mount Fuji"),
    "food": ("Borough Market", "Eataly", "Tsukiji Market", "La Boqueria"),
    "portrait": ("Photo Booth", "Studio 9"),
    "city": ("Times Square", "Shibuya Crossing", "Canary Wharf", "Alexanderplatz"),
    "pattern": ("Design Museum", "Alhambra"),
}
# A title sometimes names another subject; mostly one that is seen together with the real one.
LOOK_ALIKE = {
    "landscape": "city",
    "city": "landscape",
    "food": "portrait",  # "dinner with friends"
    "portrait": "food",
    "pattern": "city",
}
TITLE_MODES = ("generic", "own", "look_alike", "other")
TITLE_MODE_P = (0.35, 0.48, 0.10, 0.07)
PLACE_SHARE = {"landscape": 0.35, "food": 0.25, "portrait": 0.1, "city": 0.25, "pattern": 0.1}
RANDOM_PLACE_SHARE = 0.05
ECHO_SHARE = 0.8  # the first hashtag repeats the title's subject
HASHTAG_COUNT_P = (0.3, 0.3, 0.25, 0.15)  # 0, 1, 2 or 3 hashtags


def _pick(rng: np.random.Generator, options: tuple[str, ...]) -> str:
    return options[int(rng.integers(len(options)))]


def _other_class(rng: np.random.Generator, content: str) -> str:
    return _pick(rng, tuple(c for c in CONTENT_CLASSES if c != content))


def _hashtag(word: str) -> str:
    return "#" + word.replace(" ", "")


def caption(rng: np.random.Generator, content: str) -> str:
    """A title, then zero to three hashtags."""
    mode = TITLE_MODES[int(rng.choice(len(TITLE_MODES), p=TITLE_MODE_P))]
    subject = {
        "generic": None,
        "own": content,
        "look_alike": LOOK_ALIKE[content],
        "other": _other_class(rng, content),
    }[mode]
    if subject is None:
        title, noun = _pick(rng, GENERIC_TITLES), None
    else:
        noun = _pick(rng, TITLE_NOUNS[subject])
        title = f"{_pick(rng, ADJECTIVES)} {noun}"
    tags: list[str] = []
    for i in range(int(rng.choice(len(HASHTAG_COUNT_P), p=HASHTAG_COUNT_P))):
        draw = rng.uniform()
        if i == 0 and noun is not None and rng.uniform() < ECHO_SHARE:
            tag = _hashtag(noun)
        elif draw < 0.65:
            tag = _hashtag(_pick(rng, HASHTAGS[content]))
        elif draw < 0.9:
            tag = _hashtag(_pick(rng, GENERIC_HASHTAGS))
        else:
            tag = _hashtag(_pick(rng, HASHTAGS[_other_class(rng, content)]))
        if tag not in tags:
            tags.append(tag)
    return " ".join([title, *tags])


def location(rng: np.random.Generator, content: str, country: str) -> str:
    """The poster's city, or a named place: one that fits the content, or now and then any."""
    draw = rng.uniform()
    if draw < PLACE_SHARE[content]:
        return _pick(rng, PLACES[content])
    if draw < PLACE_SHARE[content] + RANDOM_PLACE_SHARE:
        return _pick(rng, PLACES[_pick(rng, CONTENT_CLASSES)])
    return _pick(rng, COUNTRIES[country][1])
