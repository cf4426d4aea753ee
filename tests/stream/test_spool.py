"""The kiosk's audio journal: compaction keeps only what the server has not acknowledged,
on a worker thread, without losing or reordering a block, and a crash at any step of it
leaves one complete journal."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kiosk.core.spool import COMPACT_AFTER_BYTES, Spool, SpoolInfo
from support.stream import noise_pcm

INFO = SpoolInfo("interview-1", "ws://x", 16000)


def test_spool_compacts_acknowledged_audio_and_reloads_the_rest(tmp_path: Path) -> None:
    spool = Spool(tmp_path, INFO)
    audio = noise_pcm(200.0)  # 6.4 MB, past the compaction threshold
    for offset in range(0, len(audio), 32000):
        spool.append(audio[offset : offset + 32000])
    spool.acknowledge(5_000_000)
    assert spool.base == 5_000_000
    spool.close()
    assert [p.name for p in tmp_path.glob("*.pcm")] == ["interview-1.5000000.pcm"]
    reloaded = Spool(tmp_path, INFO)
    assert reloaded.base == 5_000_000
    assert reloaded.end == len(audio)
    assert reloaded.unacked(5_000_000) == audio[5_000_000:]
    assert Spool.find(tmp_path) == [INFO]
    reloaded.close()


def test_compactions_keep_every_block_in_order_while_appends_continue(tmp_path: Path) -> None:
    spool = Spool(tmp_path, INFO)
    audio = noise_pcm(600.0, seed=3)  # 19.2 MB: four compactions
    acked = 0
    for offset in range(0, len(audio), 640):  # the capture's 20 ms blocks
        spool.append(audio[offset : offset + 640])
        # The server acknowledges what was sent a while ago: each compaction copies a tail
        # of 1.5 MB while the next blocks are already queued behind it.
        if offset - acked >= COMPACT_AFTER_BYTES + 1_500_000:
            acked = offset - 1_500_000
            spool.acknowledge(acked)
            assert spool.base == acked
    assert spool.end == len(audio)
    assert spool.unacked(spool.base) == audio[spool.base :]  # waits for the worker
    base = spool.base
    assert base > 3 * COMPACT_AFTER_BYTES
    spool.close()
    assert {p.name for p in tmp_path.iterdir()} == {"interview-1.json", f"interview-1.{base}.pcm"}
    reloaded = Spool(tmp_path, INFO)
    assert (reloaded.base, reloaded.end) == (base, len(audio))
    assert reloaded.unacked(base) == audio[base:]
    reloaded.close()


@pytest.mark.parametrize(
    "crash",
    ["copy half written", "copy whole, not yet renamed", "renamed, old file not yet removed"],
)
def test_a_journal_reloads_after_a_crash_mid_compaction(tmp_path: Path, crash: str) -> None:
    audio = noise_pcm(160.0, seed=4)  # 5.1 MB
    spool = Spool(tmp_path, INFO)
    spool.append(audio)
    spool.close()
    old = tmp_path / "interview-1.0.pcm"
    acked = COMPACT_AFTER_BYTES
    new = tmp_path / f"interview-1.{acked}.pcm"
    copy = new.with_name(new.name + ".tmp")
    # What the disk holds when the kiosk dies at that step of compacting at ``acked``.
    if crash == "copy half written":
        copy.write_bytes(audio[acked : acked + 100_000])
    elif crash == "copy whole, not yet renamed":
        copy.write_bytes(audio[acked:])
    else:
        shutil.copyfile(old, new)
        new.write_bytes(audio[acked:])
    expected_base = acked if crash.startswith("renamed") else 0

    reloaded = Spool(tmp_path, INFO)
    assert (reloaded.base, reloaded.end) == (expected_base, len(audio))
    assert reloaded.unacked(expected_base) == audio[expected_base:]
    # One journal is left, and it goes on: appends, the compaction that was cut short.
    assert [p.name for p in tmp_path.glob("*.pcm*")] == [f"interview-1.{expected_base}.pcm"]
    reloaded.append(audio[:640])
    reloaded.acknowledge(acked)
    reloaded.close()
    final = Spool(tmp_path, INFO)
    assert (final.base, final.end) == (acked, len(audio) + 640)
    assert final.unacked(acked) == audio[acked:] + audio[:640]
    final.close()


def test_a_torn_final_write_is_cut_back_to_whole_samples(tmp_path: Path) -> None:
    Spool(tmp_path, INFO).close()
    (tmp_path / "interview-1.0.pcm").write_bytes(b"\x01\x02\x03")  # killed mid-sample
    spool = Spool(tmp_path, INFO)
    assert spool.end == 2
    spool.append(b"\x04\x05")
    assert spool.unacked(0) == b"\x01\x02\x04\x05"
    spool.close()


def test_removing_a_completed_journal_leaves_nothing(tmp_path: Path) -> None:
    spool = Spool(tmp_path, INFO)
    spool.append(noise_pcm(1.0))
    spool.remove()
    assert not list(tmp_path.iterdir())
    with pytest.raises(ValueError, match="closed"):
        spool.append(b"\x00\x00")
