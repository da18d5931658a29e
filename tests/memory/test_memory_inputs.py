"""Bad input to the memory OS and to ``cogos memory``: one clear line, the right exit, no change.

Every refusal here is one line on stderr that names what was wrong (exit 2 for bad usage or a
FORMAT this CogOS cannot open, 1 for an item, entity or episode that does not exist), and an open
that refuses leaves the directory byte for byte as it was.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from cogos.cli.main import cli
from memory.config import MemoryConfig
from memory.errors import FormatVersionError, WALCorruptionError
from memory.layout import FORMAT_VERSION, Layout, plan_format, read_format
from memory.memory_os import MemoryOS
from tests.cli_runner import cogos

HASHING = {"embedder": {"name": "hashing"}}


@pytest.fixture
def mem(tmp_path: Path) -> Path:
    """Items 1 (text, speaker Ann), 2 (event with a decision), 3 (event without one)."""
    root = tmp_path / "mem"
    with MemoryOS.open(root, MemoryConfig.model_validate(HASHING)) as m:
        m.remember_text("the cat sat on the mat", metadata={"speaker": "Ann"})
        m.remember_event(
            "moved east", episode="ep1", facts=[("at", "c0_1")], decision={"choice": "east"}
        )
        m.remember_event("saw the apple", episode="ep1", entities=["apple"])
    return root


def files(root: Path) -> dict[str, str]:
    """Every file and folder under ``root`` with its digest (folders: "dir")."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        if p.is_file()
        else "dir"
        for p in sorted(root.rglob("*"))
    }


def memory_cli(*args: str) -> Result:
    return CliRunner().invoke(cli, ["memory", *args], catch_exceptions=False)


def one_error_line(result: Result, code: int) -> str:
    """The single ``error: ...`` line of a refused command (and nothing else on either stream)."""
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), result.stderr
    assert result.stdout == "", result.stdout
    return lines[0]


# -- options of `cogos memory` -------------------------------------------------------------

BAD_USAGE = [
    # --where: each key with its type (docs/retrieval.md, Filters)
    (
        ("search", "{mem}", "cat", "--where", "time_from=[1,2]"),
        ("'--where'", "time_from", "unix seconds"),
    ),
    (
        ("search", "{mem}", "cat", "--where", "time_from=yesterday"),
        ("'--where'", "time_from", "unix seconds"),
    ),
    (
        ("search", "{mem}", "cat", "--where", "time_to=1e999"),
        ("'--where'", "time_to", "unix seconds"),
    ),
    (("search", "{mem}", "cat", "--where", "as_of=abc"), ("'--where'", "as_of", "unix seconds")),
    (
        ("search", "{mem}", "cat", "--where", "include_expired=maybe"),
        ("'--where'", "include_expired", "true or false"),
    ),
    (
        ("search", "{mem}", "cat", "--where", "kind=opinion"),
        ("'--where'", "kind", "event, fact, text, skill"),
    ),
    (
        ("search", "{mem}", "cat", "--where", "kind=[]"),
        ("'--where'", "kind", "event, fact, text, skill"),
    ),
    (("search", "{mem}", "cat", "--where", "id=0"), ("'--where'", "id", "positive integer")),
    (("search", "{mem}", "cat", "--where", "id=abc"), ("'--where'", "id", "positive integer")),
    (
        ("search", "{mem}", "cat", "--where", 'episode=["ep1", 2]'),
        ("'--where'", "episode", "list of names"),
    ),
    (
        ("search", "{mem}", "cat", "--where", 'speaker={"a": 1}'),
        ("'--where'", "speaker", "JSON object"),
    ),
    (
        ("search", "{mem}", "cat", "--where", 'speaker=[["Ann"]]'),
        ("'--where'", "speaker", "nested list"),
    ),
    (
        ("search", "{mem}", "cat", "--where", "speaker=123456789012345678901234"),
        ("'--where'", "speaker", "out of range"),
    ),
    (("search", "{mem}", "cat", "--where", "speaker=NaN"), ("'--where'", "speaker", "finite")),
    (("search", "{mem}", "cat", "--where", "bad key=1"), ("'--where'", "'bad key'", "plain name")),
    (("search", "{mem}", "cat", "--where", "kind"), ("'--where'", "key=value")),
    (("search", "{mem}", "cat", "--where", "=event"), ("'--where'", "key=value")),
    (
        ("search", "{mem}", "cat", "--where", "kind=event", "--where", "kind=text"),
        ("'--where'", "kind is given twice"),
    ),
    (
        ("search", "{mem}", "cat", "--where", "as_of=1", "--where", "include_expired=true"),
        ("'--where'", "as_of and include_expired"),
    ),
    (
        ("recall", "{mem}", "--recent", "5", "--where", "time_from=[1,2]"),
        ("'--where'", "time_from"),
    ),
    (
        ("recall", "{mem}", "--about", "apple", "--where", "kind=event"),
        ("--where", "--recent only"),
    ),
    # search
    (("search", "{mem}", "cat", "-k", "0"), ("'-k'", "0 is not in the range")),
    (("search", "{mem}", "cat", "-k", "-3"), ("'-k'", "not in the range")),
    (("search", "{mem}", "cat", "-k", "100000"), ("'-k'", "not in the range")),
    (("search", "{mem}", "cat", "-k", "ten"), ("'-k'", "not a valid integer")),
    (("search", "{mem}", ""), ("QUERY is empty",)),
    (("search", "{mem}", "   "), ("QUERY is empty",)),
    (("search", "{mem}"), ("Missing argument 'QUERY'",)),
    (("search", "{mem}", "cat", "--vectors"), ("No such option", "--vectors")),
    (("search", "{mem}", "not json", "--vector"), ("--vector", "not JSON")),
    (("search", "{mem}", '{"a": 1}', "--vector"), ("--vector", "JSON list of finite numbers")),
    (("search", "{mem}", "[[1, 2]]", "--vector"), ("--vector", "JSON list of finite numbers")),
    (("search", "{mem}", "[1, NaN]", "--vector"), ("--vector", "JSON list of finite numbers")),
    (("search", "{mem}", "[]", "--vector"), ("--vector", "JSON list of finite numbers")),
    (("search", "{mem}", "[1, 2]", "--vector"), ("--vector", "2 numbers", "384")),
    # recall
    (("recall", "{mem}", "--recent", "-1"), ("'--recent'", "not in the range")),
    (("recall", "{mem}", "--recent", "0"), ("'--recent'", "not in the range")),
    (("recall", "{mem}", "--recent", "lots"), ("'--recent'", "not a valid integer")),
    (("recall", "{mem}", "--decision", "0"), ("'--decision'", "not in the range")),
    (("recall", "{mem}", "--decision", "x"), ("'--decision'", "not a valid integer")),
    (("recall", "{mem}", "--why", "-2"), ("'--why'", "not in the range")),
    (("recall", "{mem}", "--why", str(2**63)), ("'--why'", "not in the range")),
    (("recall", "{mem}", "--about", ""), ("--about", "entity")),
    (("recall", "{mem}"), ("exactly one of",)),
    (("recall", "{mem}", "--recent", "3", "--why", "2"), ("exactly one of",)),
    # export
    (
        ("export", "{mem}", "--out", "/nonexistent/x.jsonl"),
        ("'--out'", "/nonexistent", "does not exist"),
    ),
    (("export", "{mem}", "--out", "{mem}"), ("'--out'", "is a directory")),
    # the group and its directory argument
    (("nope", "{mem}"), ("No such command 'nope'",)),
    (("stats",), ("Missing argument 'DIR'",)),
    (("stats", "{mem}/FORMAT"), ("'DIR'", "is a file")),
    (("stats", "{mem}/nothing-here"), ("does not exist",)),
]


@pytest.mark.parametrize(("args", "fragments"), BAD_USAGE, ids=[" ".join(a) for a, _ in BAD_USAGE])
def test_bad_usage_exits_2_with_one_line_naming_it(
    mem: Path, args: tuple[str, ...], fragments: tuple[str, ...]
) -> None:
    before = files(mem)
    line = one_error_line(memory_cli(*(a.replace("{mem}", str(mem)) for a in args)), 2)
    for fragment in fragments:
        assert fragment in line, line
    assert files(mem) == before


MISSING = [
    (("recall", "{mem}", "--decision", "9999"), "no memory item with id 9999"),
    (("recall", "{mem}", "--decision", "1"), "no decision record for item 1: this text was"),
    (("recall", "{mem}", "--decision", "3"), "no decision record for item 3: this event was"),
    (("recall", "{mem}", "--why", "9999"), "no memory item with id 9999"),
    (("recall", "{mem}", "--about", "nobody"), "no entity 'nobody' in this memory"),
    (("recall", "{mem}", "--episode", "ep9"), "no episode 'ep9' in this memory"),
]


@pytest.mark.parametrize(("args", "fragment"), MISSING, ids=[" ".join(a) for a, _ in MISSING])
def test_what_does_not_exist_exits_1_with_one_line(
    mem: Path, args: tuple[str, ...], fragment: str
) -> None:
    line = one_error_line(memory_cli(*(a.replace("{mem}", str(mem)) for a in args)), 1)
    assert fragment in line, line


def test_what_exists_is_still_found(mem: Path) -> None:
    found = memory_cli("recall", str(mem), "--decision", "2", "--json")
    assert found.exit_code == 0, found.stderr
    assert json.loads(found.stdout) == {"choice": "east"}
    about = memory_cli("recall", str(mem), "--about", "apple", "--json")
    assert [json.loads(line)["id"] for line in about.stdout.splitlines()] == [3]


def ids(*args: str) -> list[int]:
    result = memory_cli(*args, "--json")
    assert result.exit_code == 0, result.stderr
    return sorted(json.loads(line)["id"] for line in result.stdout.splitlines())


def test_good_filters_still_match(mem: Path) -> None:
    now = str(time.time() + 1)
    search = ("search", str(mem), "cat apple east", "-k", "10", "--where")
    assert ids(*search, "kind=event") == [2, 3]
    assert ids(*search, 'kind=["event", "text"]') == [1, 2, 3]
    assert ids(*search, "speaker=Ann") == [1]
    assert ids(*search, 'speaker=["Ann", "Bob"]') == [1]
    assert ids(*search, "metadata.speaker=Ann") == [1]
    assert ids(*search, "episode=ep1") == [2, 3]
    assert ids(*search, "id=[1]") == [1]
    assert ids(*search, "time_from=0") == [1, 2, 3]
    assert ids(*search, f"time_to={now}") == [1, 2, 3]
    assert ids(*search, "time_from=1e12") == []
    assert ids(*search, f"as_of={now}") == [1, 2, 3]
    assert ids(*search, "as_of=0") == []
    assert ids(*search, "include_expired=true") == [1, 2, 3]
    assert ids("recall", str(mem), "--recent", "2", "--where", "kind=event") == [2, 3]
    vector = json.dumps([0.5] * 384)
    assert len(ids("search", str(mem), vector, "--vector", "-k", "3")) == 3


def test_export_writes_where_it_can(mem: Path, tmp_path: Path) -> None:
    out = tmp_path / "x.jsonl"
    result = memory_cli("export", str(mem), "--out", str(out))
    assert result.exit_code == 0, result.stderr
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == [1, 2, 3]


# -- the FORMAT marker ------------------------------------------------------------------------


def marker_of(mem: Path) -> dict[str, Any]:
    found = json.loads((mem / "FORMAT").read_text())
    assert isinstance(found, dict)
    return found


GOOD = {"format": "cogos-memory", "version": 1, "dim": 384, "metric": "cosine", "index": "flat"}

MALFORMED = [
    ("not json", b"not json", "not a CogOS memory directory (FORMAT is not JSON"),
    ("empty", b"", "not a CogOS memory directory (FORMAT is not JSON"),
    ("binary", b"\xff\xfe\x00", "not a CogOS memory directory (FORMAT is not JSON"),
    ("a list", b"[1, 2]", "not a CogOS memory directory (FORMAT holds a list"),
    ("a string", b'"cogos-memory"', "not a CogOS memory directory (FORMAT holds 'cogos-memory'"),
    ("a number", b"2", "not a CogOS memory directory (FORMAT holds 2"),
    ("no keys", b"{}", "not a CogOS memory directory (format None"),
    (
        "foreign",
        json.dumps({**GOOD, "format": "other-db"}),
        "not a CogOS memory directory (format 'other-db'",
    ),
    ("newer", json.dumps({**GOOD, "version": 99}), "newer format version 99"),
    ("newer, bare", json.dumps({"format": "cogos-memory", "version": 7}), "newer format version 7"),
    ("version text", json.dumps({**GOOD, "version": "1"}), "'version' must be a positive integer"),
    ("version 0", json.dumps({**GOOD, "version": 0}), "'version' must be a positive integer"),
    ("version bool", json.dumps({**GOOD, "version": True}), "'version' must be a positive integer"),
    (
        "no version",
        json.dumps({k: v for k, v in GOOD.items() if k != "version"}),
        "'version' must be",
    ),
    (
        "no dim",
        json.dumps({k: v for k, v in GOOD.items() if k != "dim"}),
        "'dim' must be a positive integer",
    ),
    ("dim 0", json.dumps({**GOOD, "dim": 0}), "'dim' must be a positive integer"),
    ("dim text", json.dumps({**GOOD, "dim": "384"}), "'dim' must be a positive integer"),
    ("dim float", json.dumps({**GOOD, "dim": 384.5}), "'dim' must be a positive integer"),
    (
        "metric",
        json.dumps({**GOOD, "metric": "manhattan"}),
        "'metric' must be one of cosine, ip, l2",
    ),
    ("index", json.dumps({**GOOD, "index": None}), "'index' must be one of flat, hnsw, ivf"),
    ("embedder list", json.dumps({**GOOD, "embedder": []}), "'embedder' must be an object"),
    ("no space", json.dumps({**GOOD, "embedder": {"name": "hashing"}}), "'embedder.space' must be"),
    (
        "name",
        json.dumps({**GOOD, "embedder": {"space": "s", "name": 3}}),
        "'embedder.name' must be",
    ),
    (
        "options",
        json.dumps({**GOOD, "embedder": {"space": "s", "options": []}}),
        "'embedder.options'",
    ),
]


@pytest.mark.parametrize(
    ("content", "fragment"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
def test_a_malformed_format_is_one_line_and_changes_nothing(
    mem: Path, content: str | bytes, fragment: str
) -> None:
    (mem / "FORMAT").write_bytes(content if isinstance(content, bytes) else content.encode())
    before = files(mem)
    for command in ("stats", "recover", "compact", "checkpoint", "export"):
        line = one_error_line(memory_cli(command, str(mem)), 2)
        assert fragment in line, line
    assert fragment in one_error_line(memory_cli("search", str(mem), "cat"), 2)
    for config in (None, MemoryConfig.model_validate(HASHING)):
        with pytest.raises(FormatVersionError) as refused:
            MemoryOS.open(mem, config)
        assert fragment in str(refused.value) and "\n" not in str(refused.value)
    with pytest.raises(FormatVersionError) as refused:  # the constructor checks it too
        MemoryOS(MemoryConfig.model_validate({**HASHING, "path": str(mem)}))
    assert fragment in str(refused.value)
    assert files(mem) == before


def test_a_format_error_from_a_real_process_is_one_line(mem: Path, tmp_path: Path) -> None:
    (mem / "FORMAT").write_text("[]")
    proc = cogos("memory", "stats", str(mem), cwd=tmp_path, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.splitlines() == [
        f"error: {mem}/FORMAT: not a CogOS memory directory (FORMAT holds a list, not a JSON "
        "object)"
    ]
    bad = cogos("memory", "search", str(mem), "cat", "--where", "time_from=[1,2]", cwd=tmp_path)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert len(bad.stderr.splitlines()) == 1 and "time_from" in bad.stderr


def test_a_directory_that_lost_its_format_is_refused_not_remade(mem: Path) -> None:
    good = (mem / "FORMAT").read_bytes()
    (mem / "FORMAT").unlink()
    before = files(mem)
    line = one_error_line(memory_cli("stats", str(mem)), 2)
    assert "no FORMAT file" in line and "not a new memory directory" in line
    assert "restore FORMAT" in line
    for settings in ({}, {"dim": 16}, {"dim": 384, "metric": "l2"}):
        with pytest.raises(FormatVersionError, match="no FORMAT file"):
            MemoryOS.open(mem, **settings)
        with pytest.raises(FormatVersionError, match="no FORMAT file"):
            MemoryOS(MemoryConfig.model_validate({"path": str(mem), **settings}))
    assert files(mem) == before, "a refused open wrote a fresh FORMAT"
    (mem / "FORMAT").write_bytes(good)  # the repair the message asks for
    with MemoryOS.open(mem, MemoryConfig.model_validate(HASHING)) as m:
        assert m.get(1).text == "the cat sat on the mat"


def test_a_format_holding_only_an_empty_log_is_still_new(tmp_path: Path) -> None:
    from memory.wal.log import WriteAheadLog

    root = tmp_path / "fresh"
    with WriteAheadLog(root / "wal"):  # what a copy of an empty memory holds (copy_memory_as_of)
        pass
    with MemoryOS.open(root, MemoryConfig.model_validate(HASHING)) as m:
        m.remember_text("hello")
    assert marker_of(root)["version"] == FORMAT_VERSION


@pytest.mark.parametrize(
    ("settings", "fragment"),
    [
        ({"dim": 16}, "created with dim=384, but dim=16"),
        ({"metric": "l2"}, "created with metric='cosine', but metric='l2'"),
        ({**HASHING, "metric": "ip"}, "created with metric='cosine', but metric='ip'"),
        ({"embedder": {"name": "hashing", "options": {"seed": 1}}}, "another space"),
    ],
)
def test_a_refused_setting_changes_nothing(
    mem: Path, settings: dict[str, Any], fragment: str
) -> None:
    before = files(mem)
    with pytest.raises(FormatVersionError) as refused:
        MemoryOS.open(mem, MemoryConfig.model_validate(settings))
    assert fragment in str(refused.value)
    assert files(mem) == before
    with MemoryOS.open(mem) as m:  # the right settings still open it
        assert m.get(2).text == "moved east"


def test_a_version_1_directory_still_opens(mem: Path) -> None:
    (mem / "FORMAT").write_text(json.dumps({**marker_of(mem), "version": 1}))
    stats = memory_cli("stats", str(mem), "--json")
    assert stats.exit_code == 0, stats.stderr
    assert json.loads(stats.stdout)["items"]["event"] == 2
    with MemoryOS.open(mem) as m:
        assert m.get(1).text == "the cat sat on the mat"
    assert marker_of(mem)["version"] in (1, FORMAT_VERSION)


# -- the plan an open follows (memory.layout) -------------------------------------------------


def test_planning_writes_nothing_and_create_then_undo_removes_what_it_made(tmp_path: Path) -> None:
    root = tmp_path / "new"
    plan = plan_format(Layout(root), {"dim": 8, "metric": "l2", "index": "flat"})
    assert plan.new and not root.exists()
    plan.create()
    assert marker_of(root) == {
        "format": "cogos-memory",
        "version": FORMAT_VERSION,
        "dim": 8,
        "metric": "l2",
        "index": "flat",
    }
    (root / "wal").mkdir()
    (root / "records.sqlite").write_bytes(b"x")
    (root / "LOCK").write_text("1")
    plan.undo()
    assert sorted(p.name for p in root.iterdir()) == ["LOCK"]
    assert read_format(Layout(root)) is None


def test_undo_keeps_what_was_there_before(tmp_path: Path) -> None:
    root = tmp_path / "mine"
    root.mkdir()
    (root / "notes.txt").write_text("mine")
    plan = plan_format(Layout(root), {"dim": 8, "metric": "l2", "index": "flat"})
    plan.create()
    plan.undo()
    assert sorted(p.name for p in root.iterdir()) == ["notes.txt"]


def test_the_first_embedder_and_the_version_upgrade_wait_for_commit(mem: Path) -> None:
    marker = {k: v for k, v in marker_of(mem).items() if k != "embedder"}
    (mem / "FORMAT").write_text(json.dumps({**marker, "version": 1}))
    before = files(mem)
    settings = {"dim": 384, "metric": "cosine", "index": "flat", "embedder": {"space": "s"}}
    plan = plan_format(Layout(mem), settings)
    assert plan.pending and not plan.new
    assert plan.marker["version"] == FORMAT_VERSION and plan.marker["embedder"] == {"space": "s"}
    plan.create()
    plan.undo()  # a failed open of an existing directory
    assert files(mem) == before
    plan.commit()  # a successful one
    assert marker_of(mem) == {**marker, "version": FORMAT_VERSION, "embedder": {"space": "s"}}


def test_the_check_is_repeated_under_the_lock(tmp_path: Path) -> None:
    root = tmp_path / "raced"
    plan = plan_format(Layout(root), {"dim": 8, "metric": "l2", "index": "flat"})
    other = plan_format(Layout(root), {"dim": 16, "metric": "l2", "index": "flat"})
    other.create()  # another process made the directory in between
    with pytest.raises(FormatVersionError, match="dim=16"):
        plan.again()


def test_an_open_refused_after_the_format_check_leaves_format_as_it_was(tmp_path: Path) -> None:
    root = tmp_path / "plain"
    with MemoryOS.open(root, MemoryConfig(dim=384)) as m:  # no embedder recorded
        for i in range(3):
            m.remember_text(f"item {i}", vector=[float(i + 1)] * 384)
    segment = sorted((root / "wal").glob("*.seg"))[0]
    data = bytearray(segment.read_bytes())
    data[40] ^= 0xFF  # inside the first record, with valid records after it
    segment.write_bytes(bytes(data))
    before = files(root)
    with pytest.raises(WALCorruptionError):
        MemoryOS.open(root, MemoryConfig.model_validate(HASHING))
    assert files(root) == before


# -- the package's exports ----------------------------------------------------------------


def test_every_name_the_memory_package_exports_imports() -> None:
    import memory

    assert set(memory.__all__) == set(memory._EXPORTS)
    code = "import memory\nfrom memory import *\nfrom memory import Entry\n" + "".join(
        f"assert memory.{name} is not None\n" for name in memory.__all__
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr


def test_the_readme_memory_example_uses_entry() -> None:
    from tests.test_readme_examples import BLOCKS

    assert "from memory import Entry" in BLOCKS["python-memory"]
