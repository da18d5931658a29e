"""``cogos memory ...`` end to end in a subprocess, on a real directory."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from memory.config import MemoryConfig
from memory.memory_os import MemoryOS


def cogos(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cogos.cli.main", "memory", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def memdir(tmp_path: Path) -> Path:
    config = MemoryConfig.model_validate({"embedder": {"name": "hashing"}})
    with MemoryOS.open(tmp_path / "mem", config) as m:
        m.remember_text("the cat sat on the mat", metadata={"speaker": "Ann"})
        m.remember_text("stock markets fell", metadata={"speaker": "Bob"})
        m.remember_event(
            "moved east", episode="ep1", facts=[("at", "c0_1")], decision={"choice": "east"}
        )
        m.remember_event("saw the apple", episode="ep1", entities=["apple"])
        m.delete(2)
    return tmp_path / "mem"


def test_stats_and_recover(memdir: Path) -> None:
    out = cogos("stats", str(memdir), "--json")
    assert out.returncode == 0, out.stderr
    stats = json.loads(out.stdout)
    assert stats["items"] == {"event": 2, "fact": 0, "text": 1}
    assert stats["deleted"] == 1
    rec = cogos("recover", str(memdir))
    assert rec.returncode == 0 and "agree" in rec.stdout


def test_search_by_text_uses_the_directorys_embedder(memdir: Path) -> None:
    out = cogos("search", str(memdir), "a cat on a mat", "-k", "2", "--json")
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert rows[0]["text"] == "the cat sat on the mat"
    assert all(r["id"] != 2 for r in rows), "deleted items are never found"
    filtered = cogos("search", str(memdir), "cat", "--where", "kind=event", "--json")
    assert {json.loads(line)["kind"] for line in filtered.stdout.splitlines()} == {"event"}


def test_recall(memdir: Path) -> None:
    why = json.loads(cogos("recall", str(memdir), "--why", "4", "--json").stdout)
    assert why["event"]["text"] == "saw the apple"
    assert [e["text"] for e in why["preceding"]] == ["moved east"]
    assert json.loads(cogos("recall", str(memdir), "--decision", "3", "--json").stdout) == {
        "choice": "east"
    }
    about = cogos("recall", str(memdir), "--about", "apple", "--json").stdout.splitlines()
    assert [json.loads(line)["id"] for line in about] == [4]
    recent = cogos("recall", str(memdir), "--recent", "5", "--where", "kind=event", "--json").stdout
    assert [json.loads(line)["id"] for line in recent.splitlines()] == [4, 3]


def test_export_and_compact(memdir: Path, tmp_path: Path) -> None:
    out = cogos("export", str(memdir), "--out", str(tmp_path / "x.jsonl"))
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in (tmp_path / "x.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == [1, 3, 4]
    assert rows[1]["decision"] == {"choice": "east"}
    compacted = json.loads(cogos("compact", str(memdir)).stdout)
    assert compacted["removed"] == 1
    assert json.loads(cogos("stats", str(memdir), "--json").stdout)["deleted"] == 0


def test_errors_exit_with_one_line(memdir: Path, tmp_path: Path) -> None:
    missing = cogos("stats", str(tmp_path / "nope"))
    assert missing.returncode == 2 and "not a memory directory" in missing.stderr
    bad = cogos("recall", str(memdir))
    assert bad.returncode == 2 and "exactly one" in bad.stderr
    (memdir / "checkpoints").mkdir(exist_ok=True)
    seg = sorted((memdir / "wal").glob("*.seg"))[0]
    data = bytearray(seg.read_bytes())
    data[40] ^= 0xFF  # inside the first record, with valid records after it
    seg.write_bytes(bytes(data))
    damaged = cogos("stats", str(memdir))
    assert damaged.returncode == 1
    assert "corrupt WAL record" in damaged.stderr and "Traceback" not in damaged.stderr
