"""The digest of a result record's scored content: what was scored and what it scored,
sealed when the record is assembled, so that a result file changed afterwards (a metric
value edited by hand, even within its interval) is told apart from one reactbench wrote.

``digest`` = {``scheme``: ``DIGEST_SCHEME``, ``sha256``: hex}: the SHA-256 of the UTF-8
canonical JSON (keys sorted, no spaces, ``json.dumps`` number forms) of the record's
``SCORED_FIELDS`` that are present. Not covered: ``created``, ``software``, ``machine`` and
``timings`` (when and where it ran, not what it scored) and the digest itself.

Records gained the ``command`` field and the predictions' ``content_sha256`` together with the
digest, so a record holding either was written with a digest: one without it had its digest
removed and is judged edited, as one whose content no longer matches. Files of an older form
(schema ``reactbench.result/1``, or ``reactbench.result/2`` without those fields) are not
judged.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

DIGEST_SCHEME = "reactbench.scored/1"
# result schemas whose files were never written with a digest
SCHEMAS_BEFORE_DIGEST = ("reactbench.result/1",)
SCORED_FIELDS = (
    "schema", "kind", "command", "task", "window", "split", "alpha", "seeds", "protocol",
    "protocol_version", "bootstrap", "bootstrap_seed", "realism_features", "metrics", "extra",
    "per_seed", "model", "dataset", "predictions", "causality", "targets",
)


def scored_content(record: dict) -> dict[str, Any]:
    """The fields of ``record`` its digest covers (``SCORED_FIELDS`` that are present)."""
    return {k: record[k] for k in SCORED_FIELDS if k in record}


def scored_sha256(record: dict) -> str:
    """SHA-256 (hex) of the canonical JSON of ``scored_content(record)``."""
    text = json.dumps(scored_content(record), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def record_digest(record: dict) -> dict[str, str]:
    """The ``digest`` entry of ``record`` as it is now."""
    return {"scheme": DIGEST_SCHEME, "sha256": scored_sha256(record)}


def written_with_digest(record: dict) -> bool:
    """Whether reactbench writes records of ``record``'s form with a digest: a schema newer
    than ``SCHEMAS_BEFORE_DIGEST`` holding a field that records gained together with the
    digest (the ``command`` key, null or not, or a ``content_sha256`` in a ``predictions``
    entry). Older files of the same schema have none of them and no digest."""
    if record.get("schema") in SCHEMAS_BEFORE_DIGEST:
        return False
    preds = record.get("predictions")
    entries = preds if isinstance(preds, list) else []
    return "command" in record or any(isinstance(p, dict) and "content_sha256" in p
                                      for p in entries)


def edit_finding(record: dict) -> str | None:
    """What shows that ``record``'s file was changed after reactbench wrote it, or None: its
    scored content no longer matches its digest, or its digest was removed
    (:func:`written_with_digest`). Records of a form written without a digest are not
    judged. A row merged from several runs (:mod:`reactbench.merge`, ``runs``) is judged by
    its runs."""
    if record.get("runs"):
        if any(run.get("edited") for run in record["runs"]):
            return "the result file of one of its runs was changed after reactbench wrote it"
        return None
    digest = record.get("digest")
    if not isinstance(digest, dict):
        if "digest" in record or written_with_digest(record):
            return ("its digest is missing, which reactbench writes into every result file "
                    "of its form")
        return None
    if digest.get("sha256") != scored_sha256(record):
        return "its scored content does not match the digest it was written with"
    return None


def edited(record: dict) -> bool:
    """True when ``record``'s file was changed after reactbench wrote it
    (:func:`edit_finding`): its scored content no longer matches its digest, or the digest
    was removed from a record of a form that always carries one. Records written before
    records carried a digest are not judged. A row merged from several runs
    (:mod:`reactbench.merge`, ``runs``) is edited when any of its runs was."""
    return edit_finding(record) is not None
