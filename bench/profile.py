"""``--profile``: py-spy samples the bridge during each measured step (I/O edge + pure summary).

py-spy writes collapsed stacks ("frame;frame;frame count" per line); ``top_frames`` turns
them into the few lines a reader needs: where the CPU went, own and inclusive.
"""

from __future__ import annotations

import shutil
import sys
from collections import Counter
from pathlib import Path
from types import TracebackType

from devtools.procs import ManagedProcess


def py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(found).exists():
        raise FileNotFoundError("--profile needs py-spy: .venv/bin/pip install py-spy")
    return found


class Profiler:
    """Records one process for ``seconds`` into ``out`` (collapsed stacks), when enabled."""

    def __init__(self, pid: int, out: Path, seconds: float, enabled: bool) -> None:
        self.out = out
        argv = [py_spy(), "record", "-p", str(pid), "-d", str(max(1, round(seconds)))]
        argv += ["-r", "200", "-f", "raw", "--nonblocking", "-o", str(out)]
        self.proc = (
            ManagedProcess(f"py-spy-{out.stem}", argv, out.with_suffix(".log")) if enabled else None
        )

    def __enter__(self) -> Profiler:
        if self.proc is not None:
            self.proc.start()
        return self

    def __exit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        if self.proc is not None:
            self.proc.stop(timeout=15)
            if self.out.exists():
                self.out.with_suffix(".top.txt").write_text(top_frames(self.out.read_text()))


def top_frames(collapsed: str, limit: int = 25) -> str:
    """The frames where most samples were spent: own time, then inclusive time."""
    total = 0
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        own[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    if total == 0:
        return "no samples\n"
    lines = [f"{total} samples"]
    lines += [f"own  {n / total:6.1%}  {f}" for f, n in own.most_common(limit)]
    lines += [f"incl {n / total:6.1%}  {f}" for f, n in inclusive.most_common(limit)]
    return "\n".join(lines) + "\n"
