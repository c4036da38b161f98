"""Result files: one JSON per run.

:mod:`~reactbench.results.schema` declares the record and checks it,
:mod:`~reactbench.results.record` assembles one, :mod:`~reactbench.results.digest` seals its
scored content, :mod:`~reactbench.results.io` names, writes and reads the files.
"""

from reactbench.results.digest import (
    DIGEST_SCHEME,
    SCHEMAS_BEFORE_DIGEST,
    SCORED_FIELDS,
    edit_finding,
    edited,
    record_digest,
    scored_content,
    scored_sha256,
    written_with_digest,
)
from reactbench.results.io import (
    HASH_CHARS,
    NAME_PART_MAX,
    SEEDS_PART_MAX,
    TARGETS_SUFFIX,
    check_distinct_targets,
    check_results_dir,
    name_part,
    read_result,
    read_results,
    result_filename,
    result_files,
    safe_name,
    targets_path,
    write_result,
    write_targets,
)
from reactbench.results.record import (
    LIBRARIES,
    git_state,
    json_value,
    machine,
    make_record,
    now_iso,
    software,
)
from reactbench.results.schema import (
    KINDS,
    METRIC_KEYS,
    MODEL_KEYS,
    READABLE_SCHEMAS,
    REQUIRED_KEYS,
    SCHEMA_V1,
    SCHEMA_VERSION,
    TASKS,
    json_default,
    json_problem,
    metric_entry,
    validate_record,
)

__all__ = [
    "DIGEST_SCHEME", "HASH_CHARS", "KINDS", "LIBRARIES", "METRIC_KEYS", "MODEL_KEYS",
    "NAME_PART_MAX", "READABLE_SCHEMAS", "REQUIRED_KEYS", "SCHEMAS_BEFORE_DIGEST", "SCHEMA_V1",
    "SCHEMA_VERSION", "SCORED_FIELDS", "SEEDS_PART_MAX", "TARGETS_SUFFIX", "TASKS",
    "check_distinct_targets", "check_results_dir", "edit_finding", "edited", "git_state",
    "json_default", "json_problem", "json_value", "machine", "make_record", "metric_entry",
    "name_part", "now_iso", "read_result", "read_results", "record_digest", "result_filename",
    "result_files", "safe_name", "scored_content", "scored_sha256", "software", "targets_path",
    "validate_record", "write_result", "write_targets", "written_with_digest",
]
