"""What each column means, for the column docs every table shows in the UI.

A column name means the same thing in every table that has it, so one glossary serves them all;
feature columns take theirs from their definition (core/features/definitions.py), the
labeling functions' columns from the function's docstring, and the `p_<class>` columns are
described from the class. A test fails on any table column without a
description here.
"""

from __future__ import annotations

COLUMNS: dict[str, str] = {
    # identity and provenance
    "photo_id": "The photo's id in the app database.",
    "user_id": "The user's id in the app database.",
    "key": "The photo object's key in the object store.",
    "object_key": "Where the app stored the photo (its object key).",
    "source_key": "The object (log file) the row came from.",
    "line_no": "The line's number within its log file, from 1.",
    "etag": "The object's ETag when it was read (its content fingerprint on S3).",
    "version_id": "The object's S3 VersionId on a versioned bucket; null otherwise.",
    "sha256": "SHA-256 of the object's bytes.",
    "size": "The object's size in bytes.",
    "raw": "The line's bytes exactly as delivered.",
    # photos
    "width": "Decoded width in pixels; null when the photo could not be decoded.",
    "height": "Decoded height in pixels; null when the photo could not be decoded.",
    "decode_error": "Why the photo could not be decoded or was refused; null when it decoded.",
    "thumbnail": "64x64 RGB pixels, exactly what the classifier sees (uint8 bytes).",
    "brightness": "Mean luma of the thumbnail, 0-1.",
    "dark_share": "Share of the thumbnail's pixels that are dark.",
    "top_blue": "Share of the top third's pixels that are sky blue.",
    "center_skin": "Share of the centre's pixels in skin tones.",
    "center_white": "Share of the centre's pixels that are near white (plates).",
    "colors": "Distinct coarse colours in the thumbnail (flat graphics have few).",
    "title": "The title the user gave the photo.",
    "posted_at": "When the photo was posted (UTC).",
    "updated_at": "When the record was last changed (UTC; for annotations, as Label Studio says).",
    "username": "The user's public handle.",
    "country": "The user's country.",
    "signup_at": "When the user signed up (UTC).",
    # events
    "event_id": "The event's id as the client sent it (duplicates removed).",
    "event_type": "login, view, like or post.",
    "ts": "When the event happened, normalised to UTC.",
    "client": "The app that sent the event.",
    "reason": "Why the line was quarantined (a code).",
    "detail": "What exactly was wrong with the line.",
    # features
    "feature_date": "The day the feature values describe.",
    "as_of": "The end of the day the values are computed as of (UTC).",
    "known_at": "When this version of the row was published: point-in-time joins use it.",
    "max_event_ts": "The newest event the values used.",
    "entity": "user or photo: which kind of entity the feature describes.",
    "entity_id": "The user or photo id.",
    "feature": "The feature's name.",
    "value": "The feature's value.",
    "event_time": "The time the value describes.",
    "request_time": "When the feature server served the value (as of this moment).",
    "status": "Whether the value was served: ok, not_yet_known, expired or missing.",
    "features_as_of": "as_of of the user features joined (the newest known at posting).",
    "features_known_at": "known_at of the user features joined: always before the photo was posted.",
    "features_max_event_ts": "The newest event behind the joined user features.",
    "knowledge_time": "The time the training row is assembled as known at.",
    # classifier outputs
    "predicted_class": "The classifier's most likely content class.",
    "style_score": "The classifier's style (vividness) score, 0-1.",
    "classifier_version": "Version of the photo classifier behind the values (registry id).",
    # popularity labels
    "likes_24h": "Likes in the 24 hours after posting (the label); null until the 24 hours end.",
    # human labels
    "project": "The Label Studio project the annotation came from (annotation ids are per instance).",
    "task_id": "The Label Studio task's id.",
    "annotation_id": "The Label Studio annotation's id.",
    "annotator": "Who labeled, by id only (no e-mail or name).",
    "label": "The class.",
    "ground_truth": "True for gold: an expert's answer, marked ground truth in Label Studio.",
    "created_at": "When the annotation was made (as Label Studio says).",
    "lead_time": "Seconds the annotator spent on the task, as Label Studio measured.",
    "source_file": "The export file the annotation was read from.",
    "rejected_reason": "Why the row is not used (a code); null when it is used.",
    "rejected_detail": "What exactly was wrong, e.g. the JSON parser's message.",
    "ignored": "Regions of the annotation not taken as the label (other controls, non-choices), and why.",
    "review": "True when the annotation was made on a task that sent the photo back for review; "
    "it then replaces the photo's earlier (non-gold) annotations, kept as `reviewed_again`.",
    # consensus and annotators
    "confidence": "Posterior probability of the label.",
    "annotations": "How many annotations.",
    "annotators": "Who labeled the photo (ids).",
    "agreement": "Share of the photo's annotations that gave the consensus label.",
    "gold_label": "The expert's gold label, where there is one.",
    "estimated_accuracy": "The annotator's accuracy as the consensus model estimates it.",
    "gold_annotations": "The annotator's answers on gold photos.",
    "gold_correct": "How many of those matched gold.",
    "gold_accuracy": "Accuracy on gold photos.",
    "gold_accuracy_low": "Lower end of the 95% Wilson interval of the gold accuracy.",
    "gold_accuracy_high": "Upper end of the 95% Wilson interval of the gold accuracy.",
    "excluded": "True when the annotator's labels are left out of the consensus.",
    "excluded_reason": "Why they are left out (e.g. gold accuracy below the threshold).",
    # labeling functions and the labeled set
    "labeling_function": "The labeling function's name (fsdl_data/core/labels/functions.py).",
    "votes_for": "The one class the function can vote for; null when it can vote for any.",
    "owner": "Who maintains the function.",
    "photos": "Photos of the day.",
    "votes": "Photos the function voted on.",
    "coverage": "Share of the day's photos the function voted on.",
    "overlap": "Share of photos where it voted and another function did too.",
    "conflict": "Share of photos where it voted and another function voted differently.",
    "gold_n": "Its votes on gold photos.",
    "human_n": "Its votes on photos with a human consensus.",
    "human_accuracy": "Accuracy against the human consensus.",
    "trailing_days": "Days in the trailing window.",
    "photos_trailing": "Photos over the trailing window.",
    "coverage_trailing_mean": "Mean daily coverage over the trailing window (drift baseline).",
    "human_n_trailing": "Votes on human-labeled photos over the trailing window.",
    "human_accuracy_trailing_mean": "Accuracy against humans over the trailing window.",
    "source": "Where the label comes from: gold > human (consensus) > weak (label model).",
    "human_label": "The human consensus label.",
    "human_confidence": "The human consensus's posterior probability.",
    "weak_label": "The label model's label from the labeling functions' votes.",
    "weak_confidence": "The label model's probability of its label.",
    "labeling_functions": "The functions that voted on the photo.",
    "label_model_version": "Version of the fitted label model.",
    "labeling_functions_version": "Hash of the labeling functions' code.",
    # labeling queue
    "rank": "Position in the queue, 1 = label first.",
    "photo_day": "The day the photo was posted (its partition).",
    "score": "The classifier's probability of its choice (the pre-annotation's score).",
    "margin": "Probability of the likeliest class minus the second likeliest.",
    "disagrees": "True when the weak label differs from the classifier's choice.",
    "uncertainty": "1 - margin, + 1 when the weak label disagrees: higher is labeled first.",
    "review_reason": "Why a labeled photo is back for review (a likely label error, from "
    "label_issues); null for a photo not labeled before.",
    # label issues
    "suggested_label": "The class a model that never trained on the photo finds likeliest.",
    "label_probability": "The label's probability under a model that never trained on the photo "
    "(cross-fitted): the label issue score, low = likely wrong.",
    "suggested_probability": "The suggested label's probability under that model.",
    "issue": "True when confident learning flags the label as likely wrong.",
    "issue_rank": "1 = the day's label most likely wrong; null when not flagged.",
    "fold": "The cross-fitting fold: the photo was scored by a model trained on the others.",
    # models and snapshots
    "version": "The artifact's content-derived version.",
    "model_key": "Where the weights are stored.",
    "labels_through": "The newest day of labels the classifier was trained on.",
    "labeled_photos": "Labeled photos it was trained on.",
    "n_train": "Training rows.",
    "n_val": "Validation rows (trusted labels only).",
    "val_accuracy": "Accuracy on the validation rows.",
    "style_mae": "Mean absolute error of the style head on validation.",
    "reused": "True when an identical version was already in the registry.",
    "snapshot_version": "The training snapshot the model was trained on.",
    "held_out_day": "The day held out for evaluation.",
    "train_rows": "Rows trained on.",
    "test_rows": "Rows evaluated on.",
    "spearman": "Rank correlation of predicted and actual likes on the held-out day.",
    "auc_above_median": "AUC of telling above-median photos apart on the held-out day.",
    "baseline_spearman": "The constant baseline's rank correlation.",
    "baseline_auc": "The constant baseline's AUC.",
    "promoted": "True when the model beat the baseline and was promoted.",
    "name": "The snapshot's name.",
    "manifest_key": "Where the snapshot's manifest is stored.",
    "row_count": "Rows in the snapshot.",
    "parts": "Files (partitions) in the snapshot.",
    "first_part": "The first partition in the snapshot.",
    "last_part": "The last partition in the snapshot.",
    "files_read": "Files read and hashed to make the snapshot.",
    "files_reused": "Files whose hash was reused from the previous snapshot.",
    "day": "The day partition the row came from.",
}


def column_description(name: str) -> str | None:
    """The column's description, or None when it has none (a test keeps that from happening)."""
    from fsdl_data.core.features.definitions import FEATURES

    for feature in FEATURES:
        if feature.name == name:
            return feature.description
    if name in COLUMNS:
        return COLUMNS[name]
    if name.startswith("p_"):
        return f"The classifier's probability that the photo is {name[2:]}."
    from fsdl_data.core.labels.functions import LABELING_FUNCTIONS

    for function in LABELING_FUNCTIONS:
        if function.name == name:
            first = function.description.split("\n\n")[0].replace("\n", " ")
            return f"Vote of labeling function {name} (class index, -1 abstains): {first}"
    return None
