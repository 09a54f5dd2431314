"""ser.io's locked appends: appenders that run at once never mix their lines, even when one
append takes several write() calls (a large line, a full pipe, a writer paused half-way)."""
import builtins
import threading
import time

from ser import io as ser_io

PAUSE = 0.01  # seconds between the two halves of every write


class HalvedWrites:
    """A file whose every write is two write() calls with a pause between them, so another
    appender that does not wait for the lock gets its turn in the middle of a line."""

    def __init__(self, file):
        self._file = file

    def write(self, data):
        half = len(data) // 2
        written = self._file.write(data[:half])
        self._file.flush()
        time.sleep(PAUSE)
        return written + self._file.write(data[half:])

    def __getattr__(self, name):
        return getattr(self._file, name)

    def __enter__(self):
        self._file.__enter__()
        return self

    def __exit__(self, *exc):
        return self._file.__exit__(*exc)


def test_concurrent_appends_of_halved_writes_never_interleave(tmp_path, monkeypatch):
    monkeypatch.setattr(ser_io, "open", lambda *args, **kwargs: HalvedWrites(builtins.open(*args, **kwargs)),
                        raising=False)
    path = tmp_path / "shared.metric"
    writers, appends = 4, 5
    lines = {w: [f"writer {w} line {i} " + "x" * 200 + "\n" for i in range(appends)] for w in range(writers)}
    threads = [threading.Thread(target=lambda w=w: [ser_io.append_line(path, line) for line in lines[w]])
               for w in range(writers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    written = path.read_text().splitlines(keepends=True)
    assert sorted(written) == sorted(line for w in lines for line in lines[w])
    for w in range(writers):  # each writer's own lines stay in its order
        assert [line for line in written if line.startswith(f"writer {w} ")] == lines[w]
    # the lock serialises the appends: each waited for the one before it
    assert elapsed >= writers * appends * PAUSE
