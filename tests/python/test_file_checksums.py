"""The checksum cache: a file unchanged since it was hashed is not read again; any change is."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from scripts import file_checksums
from scripts.file_checksums import ChecksumCache
from scripts.load_landing import load_landing


@pytest.fixture
def reads(monkeypatch) -> list[str]:
    """The names of the files the cache reads to hash them."""
    seen: list[str] = []
    hash_file = file_checksums.sha256_of_file

    def counting(path: Path) -> str:
        seen.append(path.name)
        return hash_file(path)

    monkeypatch.setattr(file_checksums, "sha256_of_file", counting)
    return seen


@pytest.fixture
def settle_at_once(monkeypatch):
    """Files written by the test count as settled (the default waits a few seconds)."""
    monkeypatch.setattr(file_checksums, "RECENT_CHANGE_SECONDS", 0.0)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_checksums_are_the_files_sha256(tmp_path):
    files = [tmp_path / f"f{i}.csv" for i in range(5)]
    for i, path in enumerate(files):
        path.write_bytes(os.urandom(3 * (1 << 20) + i))  # more than one read block
    found = ChecksumCache(None).checksums(files, workers=2)
    assert found == {path: sha256(path) for path in files}


def test_an_unchanged_file_is_not_read_again(tmp_path, reads, settle_at_once):
    path = tmp_path / "a.csv"
    path.write_text("id\n1\n")
    cache_file = tmp_path / "cache.json"
    first = ChecksumCache(cache_file)
    assert first.checksums([path]) == {path: sha256(path)}
    first.save()

    again = ChecksumCache(cache_file).checksums([path])

    assert again == {path: sha256(path)}
    assert reads == ["a.csv"]


def test_a_rewrite_of_the_same_size_and_time_is_read_again(tmp_path, reads, settle_at_once):
    path = tmp_path / "a.csv"
    path.write_text("id\n1\n")
    stat = path.stat()
    cache_file = tmp_path / "cache.json"
    cache = ChecksumCache(cache_file)
    cache.checksums([path])
    cache.save()

    path.write_text("id\n2\n")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # size and mtime as before
    assert path.stat().st_size == stat.st_size

    again = ChecksumCache(cache_file).checksums([path])

    assert again == {path: hashlib.sha256(b"id\n2\n").hexdigest()}
    assert reads == ["a.csv", "a.csv"]


def test_a_file_changed_just_before_it_was_hashed_is_read_again(tmp_path, reads):
    path = tmp_path / "a.csv"
    path.write_text("id\n1\n")  # changed now: within RECENT_CHANGE_SECONDS of the hash
    cache_file = tmp_path / "cache.json"
    cache = ChecksumCache(cache_file)
    cache.checksums([path])
    cache.save()

    ChecksumCache(cache_file).checksums([path])

    assert reads == ["a.csv", "a.csv"]


def test_a_hard_link_is_known_under_its_new_name(tmp_path, reads, settle_at_once):
    path = tmp_path / "a.csv"
    path.write_text("id\n1\n")
    linked = tmp_path / "elsewhere.csv"
    os.link(path, linked)  # changes the inode's change time: before the first hash here
    cache_file = tmp_path / "cache.json"
    cache = ChecksumCache(cache_file)
    cache.checksums([path])
    cache.save()

    assert ChecksumCache(cache_file).checksums([linked]) == {linked: sha256(path)}
    assert reads == ["a.csv"]


def test_files_no_longer_asked_about_are_forgotten(tmp_path, settle_at_once):
    kept, dropped = tmp_path / "kept.csv", tmp_path / "dropped.csv"
    kept.write_text("1")
    dropped.write_text("2")
    cache = ChecksumCache(tmp_path / "cache.json")
    cache.checksums([kept, dropped])
    cache.checksums([kept])
    assert [entry["sha256"] for entry in cache.entries.values()] == [sha256(kept)]


def test_an_unreadable_cache_is_reported_and_every_file_hashed(tmp_path, reads, capsys):
    path = tmp_path / "a.csv"
    path.write_text("id\n1\n")
    cache_file = tmp_path / "cache.json"
    cache_file.write_text("{not json")

    assert ChecksumCache(cache_file).checksums([path]) == {path: sha256(path)}
    assert f"checksum cache {cache_file} is unreadable" in capsys.readouterr().out
    assert reads == ["a.csv"]


def test_the_loader_loads_a_rewritten_file_and_reads_only_it(
    tmp_path, monkeypatch, reads, settle_at_once
):
    monkeypatch.setenv("CRM_DUCKDB_PATH", str(tmp_path / "crm.duckdb"))
    landing = tmp_path / "landing"
    (landing / "campaigns").mkdir(parents=True)
    header = "campaign_id,campaign_name,channel,started_on,ended_on,cost,currency,updated_at\n"
    first = landing / "campaigns" / "2026-11-01.csv"
    second = landing / "campaigns" / "2026-11-02.csv"
    first.write_text(header + "K1,Spring,email,2026-03-01,2026-03-31,100,EUR,2026-03-01\n")
    second.write_text(header + "K2,Summer,email,2026-06-01,2026-06-30,200,EUR,2026-06-01\n")
    cache_file = tmp_path / "cache.json"
    assert [o.status for o in load_landing(landing, checksum_cache=cache_file)] == [
        "loaded",
        "loaded",
    ]
    stat = second.stat()
    second.write_text(header + "K2,Summer,email,2026-06-01,2026-06-30,300,EUR,2026-06-02\n")
    os.utime(second, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    reads.clear()

    outcomes = load_landing(landing, checksum_cache=cache_file)

    assert [(o.source_file, o.status) for o in outcomes] == [
        ("campaigns/2026-11-01.csv", "skipped"),
        ("campaigns/2026-11-02.csv", "loaded"),
    ]
    assert reads == ["2026-11-02.csv"]
