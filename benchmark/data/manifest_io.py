"""The dataset manifest on disk: a folder with ``manifest.json`` and three tables (CSV, or Parquet with pyarrow).

A manifest is how any dataset reaches the suite: ``--dataset path/to/manifest`` scores it without registration, and
the converters (``benchmark.data.converters``) write one from the field's layouts. Scoring reads only manifests
(``benchmark.data.manifest.Manifest``). docs/ADDING_A_DATASET.md walks through writing one.

``manifest.json`` (UTF-8 JSON object)::

    {"format": "voice2face-bench manifest", "version": 1,
     "name": "my-lab",                        # recorded in results; a-z, 0-9, '.', '_', '-'
     "root": ".",                             # folder the table paths are relative to, itself relative to this file
     "split_rule": "one identity per clip; split by clip id hash", # free text, recorded in results
     "tables": {"identities": "identities.csv", "utterances": "utterances.csv", "faces": "faces.csv"}}

Tables (one row each; ``.csv`` is comma-separated UTF-8 with a header, ``.parquet`` needs pyarrow):

* identities: ``id`` (required, unique), ``split`` (required: train / validation / test), ``gender`` ("m", "f" or
  empty), ``gender_source``, ``age`` (empty, whole years such as "34", or a band "20-39" / ">=60"), ``age_source``,
  ``name`` and ``nationality`` (free text).
* utterances: ``path`` (required; .wav, .flac, or .m4a decoded with PyAV), ``identity`` (required), ``video`` (the
  video or recording session; empty if unknown), ``id`` (unique; default: the path without its extension).
* faces: ``path`` (required; .jpg, .jpeg, .png), ``identity`` (required), ``kind`` (required, ``FACE_KINDS``:
  "clip" = a crop of the same clip as the voice, "frame" = a frame of a video, "photo" = a separate photo),
  ``video`` (for "clip" and "frame"), ``id`` (unique; default: the path without its extension).

Labels and their source: a label's ``*_source`` is "human" (annotated by people, e.g. VoxCeleb1's metadata),
"model:<name>@<weights sha256>" (predicted, e.g. by ``bench label``), or empty when the label is empty. A protocol
whose truth is a model label says so in its result (``benchmark.tasks.gender``, ``benchmark.tasks.age_labels``).

Kinds map onto the gallery sources protocols name (``ProtocolSpec.gallery_source``): "photo" is "vggface" (separate
photos, as VGGFace1's), "clip" and "frame" are "voxceleb" (video frames, as VoxCeleb1's face tracks). A protocol's
gallery of photos is scored on the frames of a manifest that has no photos (``benchmark.data.datasets.dataset_spec``).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from benchmark.data.manifest import (AUDIO_EXTS, IMAGE_EXTS, SPLITS, Face, Identity, Manifest, Utterance,
                                     refuse_duplicate_ids)
from benchmark.errors import DataError

FORMAT = "voice2face-bench manifest"
VERSION = 1
MANIFEST_FILE = "manifest.json"
TABLES = ("identities", "utterances", "faces")
REQUIRED = {"identities": ("id", "split"), "utterances": ("path", "identity"), "faces": ("path", "identity", "kind")}
COLUMNS = {
    "identities": ("id", "name", "gender", "gender_source", "age", "age_source", "split", "nationality"),
    "utterances": ("id", "identity", "path", "video"),
    "faces": ("id", "identity", "path", "kind", "video"),
}
FACE_KINDS = {"clip": "voxceleb", "frame": "voxceleb", "photo": "vggface"}
"""Face kind -> the gallery source protocols name (module docstring)."""
MANIFEST_AUDIO_EXTS = AUDIO_EXTS + (".m4a", ".aac")
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
SOURCE_RE = re.compile(r"^(human|model:[A-Za-z0-9._/-]+@[0-9a-f]{64})$")
AGE_RE = re.compile(r"^(\d{1,3}(\.\d+)?|\d{1,3}-\d{1,3}|>=\d{1,3})$")


def manifest_file(path: str | os.PathLike[str]) -> Path:
    """The ``manifest.json`` a path names: the file itself, or ``<folder>/manifest.json``.

    Raises:
        DataError: neither exists (the message says what to pass).
    """
    path = Path(path).expanduser()
    candidate = path / MANIFEST_FILE if path.is_dir() else path
    if not candidate.is_file():
        raise DataError(f"no dataset manifest at {path}: pass a manifest.json or the folder holding one (write one "
                        "with `bench dataset convert`, see docs/ADDING_A_DATASET.md).")
    return candidate


def looks_like_manifest(name: str) -> bool:
    """True when a ``--dataset`` value is a path to a manifest (it has a path separator, ends in ``.json``, or names
    an existing folder holding ``manifest.json``) rather than a registered name."""
    return ("/" in name or os.sep in name or name.endswith(".json")
            or (Path(name).is_dir() and (Path(name) / MANIFEST_FILE).is_file()))


def manifest_reference(path: str | os.PathLike[str]) -> str:
    """How a result records the manifest it was scored on (``dataset.manifest``), so ``bench check`` can find it again:
    the ``manifest.json`` path relative to the working directory when it lies below it (``my-data/manifest.json``),
    else from the home folder (``~/data/x/manifest.json``), else absolute. POSIX separators.

    Raises:
        DataError: no manifest at ``path`` (``manifest_file``).
    """
    file = manifest_file(path).resolve()
    for base, prefix in ((Path.cwd().resolve(), ""), (Path.home().resolve(), "~/")):
        if file.is_relative_to(base):
            return prefix + file.relative_to(base).as_posix()
    return file.as_posix()


def read_header(path: str | os.PathLike[str]) -> tuple[Path, dict]:
    """Read and check ``manifest.json``.

    Returns:
        (the manifest file, its JSON object).

    Raises:
        DataError: missing, not JSON, wrong ``format``/``version``, a bad ``name``, or ``tables`` not naming the three
            tables (the message names the file and the fix).
    """
    file = manifest_file(path)
    try:
        head = json.loads(file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{file} is not UTF-8 JSON ({exc}); see docs/ADDING_A_DATASET.md for the format.") from None
    if not isinstance(head, dict) or head.get("format") != FORMAT or head.get("version") != VERSION:
        raise DataError(f"{file}: not a manifest of this suite (need \"format\": {FORMAT!r}, \"version\": {VERSION}).")
    name = head.get("name")
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise DataError(f"{file}: \"name\" {name!r} must be 1-64 characters of a-z, 0-9, '.', '_', '-' (it becomes a "
                        "folder name of results).")
    tables = head.get("tables")
    if not isinstance(tables, dict) or set(tables) != set(TABLES) or not all(isinstance(v, str) for v in tables.values()):
        raise DataError(f"{file}: \"tables\" must map exactly {list(TABLES)} to file names.")
    return file, head


def read_table(path: Path):
    """Read one table as a pandas DataFrame of strings (empty cells are "", never NaN).

    Raises:
        DataError: missing or unreadable, or Parquet without pyarrow (the message says ``pip install pyarrow``).
    """
    import pandas as pd

    if not path.is_file():
        raise DataError(f"manifest table {path} not found; fix the name in manifest.json or restore the file.")
    try:
        if path.suffix.lower() == ".parquet":
            try:
                frame = pd.read_parquet(path)
            except ImportError:
                raise DataError(f"{path}: reading Parquet needs pyarrow (pip install pyarrow), or write the table as "
                                "CSV.") from None
            return frame.astype(str).replace({"None": "", "nan": ""})
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise DataError(f"manifest table {path} cannot be read ({exc}); write it as UTF-8 CSV with a header.") from None


def check_tables(head: dict, file: Path) -> tuple[dict, list[str], dict]:
    """Read the three tables and list every problem (columns, duplicates, unknown identities or labels, missing
    files), without raising for them.

    Returns:
        ({table: list of row dicts}, problems as lines, {"root": Path}).

    Raises:
        DataError: a table cannot be read at all (``read_table``).
    """
    root = (file.parent / str(head.get("root", "."))).resolve()
    rows: dict[str, list[dict]] = {}
    problems: list[str] = []
    for table in TABLES:
        path = file.parent / head["tables"][table]
        frame = read_table(path)
        missing = [c for c in REQUIRED[table] if c not in frame.columns]
        if missing:
            problems.append(f"{path.name}: missing column(s) {missing} (required: {list(REQUIRED[table])})")
            rows[table] = []
            continue
        for column in COLUMNS[table]:
            if column not in frame.columns:
                frame[column] = ""
        rows[table] = [{k: str(v).strip() for k, v in r.items()} for r in frame[list(COLUMNS[table])].to_dict("records")]
    ids = [r["id"] for r in rows["identities"]]
    problems += _repeats(ids, head["tables"]["identities"], "identity id")
    known = set(ids)
    for n, r in enumerate(rows["identities"], start=2):
        where = f"{head['tables']['identities']}, line {n} ({r['id']})"
        if r["split"] not in SPLITS:
            problems.append(f"{where}: split {r['split']!r} is not one of {list(SPLITS)}")
        if r["gender"] not in ("m", "f", ""):
            problems.append(f"{where}: gender {r['gender']!r} is not m, f or empty")
        if r["age"] and not AGE_RE.match(r["age"]):
            problems.append(f"{where}: age {r['age']!r} is not whole years (34) or a band (20-39, >=60)")
        for label in ("gender", "age"):
            source = r[f"{label}_source"]
            if r[label] and not SOURCE_RE.match(source):
                problems.append(f"{where}: {label}_source {source!r} must be 'human' or 'model:<name>@<sha256>'")
            if not r[label] and source:
                problems.append(f"{where}: {label}_source {source!r} without a {label}")
    for table, exts in (("utterances", MANIFEST_AUDIO_EXTS), ("faces", IMAGE_EXTS)):
        name = head["tables"][table]
        for r in rows[table]:
            r["id"] = r["id"] or str(Path(r["path"]).with_suffix("")).replace(os.sep, "/")
        problems += _repeats([r["id"] for r in rows[table]], name, f"{table[:-1]} id")
        problems += _repeats([r["path"] for r in rows[table]], name, "path")
        for n, r in enumerate(rows[table], start=2):
            where = f"{name}, line {n}"
            if r["identity"] not in known:
                problems.append(f"{where}: identity {r['identity']!r} is not in the identities table")
            if table == "faces" and r["kind"] not in FACE_KINDS:
                problems.append(f"{where}: kind {r['kind']!r} is not one of {list(FACE_KINDS)}")
            if Path(r["path"]).is_absolute() or ".." in Path(r["path"]).parts:
                problems.append(f"{where}: path {r['path']!r} must be relative to the root, without '..'")
            elif Path(r["path"]).suffix.lower() not in exts:
                problems.append(f"{where}: {r['path']} is not one of {list(exts)}")
            elif not (root / r["path"]).is_file():
                problems.append(f"{where}: file {root / r['path']} not found")
    return rows, problems, {"root": root}


def _repeats(values: list[str], table: str, what: str) -> list[str]:
    seen: dict[str, int] = {}
    for v in values:
        seen[v] = seen.get(v, 0) + 1
    return [f"{table}: {what} {v!r} appears {n} times" for v, n in seen.items() if n > 1]


def read_manifest(path: str | os.PathLike[str]) -> Manifest:
    """Load a manifest folder (module docstring) as a ``Manifest``.

    Args:
        path: ``manifest.json`` or the folder holding it.

    Returns:
        A ``Manifest`` named by the file's ``name``, rooted at its ``root``; identities without an utterance or a face
        are left out and listed in ``Manifest.excluded``. Lists are sorted by id.

    Raises:
        DataError: any problem ``check_tables`` finds (all of them, in one message: run ``bench dataset validate``).
    """
    file, head = read_header(path)
    rows, problems, info = check_tables(head, file)
    if problems:
        shown = "\n  ".join(problems[:20]) + (f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else "")
        raise DataError(f"dataset manifest {file} has {len(problems)} problem(s):\n  {shown}\nFix the tables "
                        f"(`bench dataset validate {file}` lists them all).")
    root = info["root"]
    utterances = [Utterance(id=r["id"], identity=r["identity"], path=str(root / r["path"]), video=r["video"])
                  for r in rows["utterances"]]
    faces = [Face(id=r["id"], identity=r["identity"], path=str(root / r["path"]), source=FACE_KINDS[r["kind"]],
                  video=r["video"], kind=r["kind"]) for r in rows["faces"]]
    refuse_duplicate_ids(utterances, "utterance")
    refuse_duplicate_ids(faces, "face")
    voiced, pictured = {u.identity for u in utterances}, {f.identity for f in faces}
    identities, excluded = [], list(head.get("excluded_by_converter", []))
    for r in sorted(rows["identities"], key=lambda r: r["id"]):
        if r["id"] not in voiced or r["id"] not in pictured:
            excluded.append({"identity": r["id"], "reason": "no voice" if r["id"] not in voiced else "no face"})
            continue
        identities.append(Identity(id=r["id"], name=r["name"] or r["id"], gender=r["gender"],
                                   nationality=r["nationality"], split=r["split"],
                                   gender_source=r["gender_source"], age=r["age"], age_source=r["age_source"]))
    kept = {i.id for i in identities}
    return Manifest(dataset_id=head["name"], root=str(root), identities=identities,
                    utterances=sorted((u for u in utterances if u.identity in kept), key=lambda u: u.id),
                    faces=sorted((f for f in faces if f.identity in kept), key=lambda f: f.id),
                    excluded=excluded, split_rule=str(head.get("split_rule", "")), origin="manifest")


def write_manifest(manifest: Manifest, out: str | os.PathLike[str], split_rule: str, fmt: str = "csv") -> Path:
    """Write ``manifest`` as a manifest folder ``out`` (``manifest.json`` and three tables).

    Paths are written relative to ``manifest.root``, and ``root`` in ``manifest.json`` is that folder relative to
    ``out`` (``"."`` when the manifest sits in the dataset root), so the folder can move with its data.

    Args:
        manifest: what to write (``Face.kind`` must be set; a face without one is written by its source: "vggface" ->
            "photo", "voxceleb" -> "frame").
        out: the folder to write (created; existing tables are replaced).
        split_rule: how the identities were split, in words (recorded in results).
        fmt: "csv" or "parquet" (needs pyarrow).

    Returns:
        The path of ``manifest.json``.

    Raises:
        DataError: an unknown ``fmt``, a file outside the root, or Parquet without pyarrow.
    """
    import pandas as pd

    if fmt not in ("csv", "parquet"):
        raise DataError(f"unknown manifest table format {fmt!r}: use csv or parquet.")
    out = Path(out).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    root = Path(manifest.root).resolve()

    def rel(path: str) -> str:
        p = Path(path).resolve()
        if not p.is_relative_to(root):
            raise DataError(f"{path} is outside the dataset root {root}; keep every file under one folder.")
        return p.relative_to(root).as_posix()

    by_source = {"vggface": "photo", "voxceleb": "frame"}
    tables = {
        "identities": [{"id": i.id, "name": i.name, "gender": i.gender,
                        "gender_source": i.gender_source if i.gender else "", "age": i.age,
                        "age_source": i.age_source if i.age else "", "split": i.split, "nationality": i.nationality}
                       for i in manifest.identities],
        "utterances": [{"id": u.id, "identity": u.identity, "path": rel(u.path), "video": u.video}
                       for u in manifest.utterances],
        "faces": [{"id": f.id, "identity": f.identity, "path": rel(f.path), "kind": f.kind or by_source[f.source],
                   "video": f.video} for f in manifest.faces],
    }
    names = {}
    for table, records in tables.items():
        names[table] = f"{table}.{fmt}"
        frame = pd.DataFrame(records, columns=list(COLUMNS[table]))
        if fmt == "csv":
            frame.to_csv(out / names[table], index=False, encoding="utf-8")
        else:
            try:
                frame.to_parquet(out / names[table], index=False)
            except ImportError:
                raise DataError("writing Parquet needs pyarrow (pip install pyarrow); or use --format csv.") from None
    head = {"format": FORMAT, "version": VERSION, "name": manifest.dataset_id,
            "root": Path(os.path.relpath(root, out.resolve())).as_posix(), "split_rule": split_rule, "tables": names}
    if manifest.excluded:
        head["excluded_by_converter"] = manifest.excluded
    path = out / MANIFEST_FILE
    path.write_text(json.dumps(head, indent=2) + "\n", encoding="utf-8")
    return path
