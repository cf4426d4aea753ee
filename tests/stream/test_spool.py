"""The kiosk's audio journal: compaction keeps only what the server has not acknowledged."""

from __future__ import annotations

from pathlib import Path

from kiosk.core.spool import Spool, SpoolInfo
from support.stream import noise_pcm


def test_spool_compacts_acknowledged_audio_and_reloads_the_rest(tmp_path: Path) -> None:
    info = SpoolInfo("interview-1", "ws://x", 16000)
    spool = Spool(tmp_path, info)
    audio = noise_pcm(200.0)  # 6.4 MB, past the compaction threshold
    for offset in range(0, len(audio), 32000):
        spool.append(audio[offset : offset + 32000])
    spool.acknowledge(5_000_000)
    assert spool.base == 5_000_000
    assert [p.name for p in tmp_path.glob("*.pcm")] == ["interview-1.5000000.pcm"]
    spool.close()
    reloaded = Spool(tmp_path, info)
    assert reloaded.base == 5_000_000
    assert reloaded.unacked(5_000_000) == audio[5_000_000:]
    assert Spool.find(tmp_path) == [info]
