"""One transcription worker process: loads a faster-whisper model once, then transcribes the
answers it is sent, one at a time.

A separate process, not a thread of the backend, so that transcription can never stall or
crash the server that acknowledges audio: it runs at a lower CPU priority, a native crash or
an out-of-memory kill takes only this process (the job is retried), and it dies with the
backend (``PR_SET_PDEATHSIG``) instead of lingering as an orphan.

Protocol, one JSON object per line. On start it writes ``{"ready": true, "model": ...}`` or
``{"ready": false, "error": ...}`` and exits. Then for each request
``{"path", "start", "end", "sample_rate", "channels"}`` (recording bytes ``[start, end)`` of
s16le audio) it answers ``{"ok": true, "text", "words", "language", "audio_seconds",
"work_seconds"}`` or ``{"ok": false, "error"}``.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

WHISPER_RATE = 16_000
_PR_SET_PDEATHSIG = 1
# Lower than the backend, so audio acks keep their turn on a busy machine.
NICENESS = 10


def _die_with_parent() -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the pipe's end stops us instead
        pass


def read_samples(path: Path, start: int, end: int, sample_rate: int, channels: int) -> Any:
    """Recording bytes ``[start, end)`` as what Whisper takes: mono float32 at 16 kHz."""
    import numpy as np

    with path.open("rb") as handle:
        handle.seek(start)
        data = handle.read(max(0, end - start))
    frame = 2 * channels
    data = data[: len(data) - len(data) % frame]
    samples = np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1)
    if sample_rate != WHISPER_RATE and samples.size:
        count = round(samples.size * WHISPER_RATE / sample_rate)
        positions = np.arange(count) * (sample_rate / WHISPER_RATE)
        samples = np.interp(positions, np.arange(samples.size), samples).astype(np.float32)
    return samples


def _answer(out: Any, message: dict[str, Any]) -> None:
    out.write(json.dumps(message) + "\n")
    out.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True, type=Path)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--beam-size", type=int, default=1)
    parser.add_argument("--language", default="en")
    args = parser.parse_args(argv)
    _die_with_parent()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a local directory; never a download
    os.nice(NICENESS)
    # Answers go to the real stdout; anything a library prints goes to stderr.
    out = sys.stdout
    sys.stdout = sys.stderr
    try:
        from faster_whisper import WhisperModel

        model = WhisperModel(
            str(args.model), device="cpu", compute_type="int8", cpu_threads=args.threads,
            local_files_only=True,
        )  # fmt: skip
    except Exception as exc:  # any failure to load is reported, not raised
        _answer(out, {"ready": False, "error": f"{type(exc).__name__}: {exc}"[:400]})
        return 1
    _answer(out, {"ready": True, "model": args.model.name})
    for line in sys.stdin:
        try:
            request = json.loads(line)
            began = time.perf_counter()
            samples = read_samples(
                Path(request["path"]), int(request["start"]), int(request["end"]),
                int(request["sample_rate"]), int(request["channels"]),
            )  # fmt: skip
            # temperature 0 only: the fallback to higher temperatures can cost six times
            # as long on repetitive speech, and a reviewer's transcript needs no creativity.
            segments, info = model.transcribe(
                samples, language=args.language, beam_size=args.beam_size,
                word_timestamps=True, temperature=0.0, condition_on_previous_text=False,
            )  # fmt: skip
            words: list[list[object]] = []
            texts: list[str] = []
            for segment in segments:  # lazy: the work happens here
                texts.append(segment.text.strip())
                for word in segment.words or ():
                    words.append([word.word.strip(), round(word.start, 2), round(word.end, 2)])
            _answer(out, {
                "ok": True,
                "text": " ".join(t for t in texts if t),
                "words": [w for w in words if w[0]],
                "language": info.language,
                "audio_seconds": samples.size / WHISPER_RATE,
                "work_seconds": time.perf_counter() - began,
            })  # fmt: skip
        except Exception as exc:  # one bad job must not end the worker
            _answer(out, {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:400]})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
