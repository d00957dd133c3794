"""py-spy profiles of the app processes while a benchmark runs, summarized.

`Profiler(pids, path)` records with `py-spy record --format raw` (collapsed stacks, one
line per stack: `frame;frame;... count`) for as long as the `with` block lasts;
`summarize(path)` prints the functions with the most samples, inclusive (anywhere on the
stack) and self (the innermost frame), as shares of all samples."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from types import TracebackType


class Profiler:
    def __init__(self, pids: list[int], path: Path, rate: int = 250) -> None:
        self.pids, self.path, self.rate = pids, path, rate
        self._processes: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> Profiler:
        py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        for n, pid in enumerate(self.pids):
            out = self.path.with_suffix(f".{n}.txt") if len(self.pids) > 1 else self.path
            self._processes.append(
                subprocess.Popen(
                    [
                        py_spy,
                        "record",
                        "--pid",
                        str(pid),
                        "--format",
                        "raw",
                        "--rate",
                        str(self.rate),
                        "--nonblocking",
                        "--output",
                        str(out),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for process in self._processes:
            process.send_signal(signal.SIGINT)
        for process in self._processes:
            process.wait(60)


def summarize(paths: list[Path], top: int = 40) -> str:
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for path in paths:
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack or not count.isdigit():
                continue
            n = int(count)
            frames = [
                f.split(" (")[0] + " (" + f.split(" (")[1].split(":")[0] + ")" if " (" in f else f
                for f in stack.split(";")
            ]
            total += n
            for frame in set(frames):
                inclusive[frame] += n
            own[frames[-1]] += n
    lines = [f"{total} samples"]
    lines.append("inclusive (on the stack):")
    lines += [f"  {c / total:6.1%}  {f}" for f, c in inclusive.most_common(top)]
    lines.append("self (innermost frame):")
    lines += [f"  {c / total:6.1%}  {f}" for f, c in own.most_common(top)]
    return "\n".join(lines)


if __name__ == "__main__":
    print(summarize([Path(p) for p in sys.argv[1:]]))
