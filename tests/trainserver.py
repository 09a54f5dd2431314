"""A warm ``train.py`` for tests that start many short trainings through the sweep scripts.

A fresh ``python train.py ...`` spends about 3 s importing torch, scikit-learn and librosa
before it trains anything, and the script smoke tests start dozens of them. The server
imports train.py's modules once; for each request it forks a child that runs train.py as
``__main__`` with the requester's argv, working directory, environment and standard streams,
so the child runs the same program a fresh process would, minus the imports. The server
itself never runs torch code, so no thread pool exists to be broken by the fork.

    python tests/trainserver.py serve SOCKET          prints "ready" once it takes requests
    python tests/trainserver.py run SOCKET train.py ARGS...    exits with train.py's status
    python tests/trainserver.py run SOCKET -m ser.reporting.plots ARGS...   any script or module the same way

The sweep starts the second form through ``SER_TRAIN_COMMAND``; tests start a server with
:func:`serving`.
"""
import contextlib
import importlib
import json
import os
import runpy
import shutil
import socket
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path

STREAMS = (0, 1, 2)


def run(socket_path: str, argv: list[str]) -> int:
    """Ask the server to run ``argv`` here (cwd, environment, stdin/stdout/stderr); its status."""
    with socket.socket(socket.AF_UNIX) as connection:
        connection.connect(socket_path)
        request = json.dumps({"argv": argv, "cwd": os.getcwd(), "env": dict(os.environ)}).encode()
        socket.send_fds(connection, [request], list(STREAMS))
        connection.shutdown(socket.SHUT_WR)
        reply = b"".join(iter(lambda: connection.recv(64), b""))
    return int(reply)


def serve(socket_path: str) -> None:
    sys.path.insert(0, os.getcwd())
    # What every child imports: train.py's modules, and what a run imports lazily on its way
    # (torch's optimizers load torch._dynamo on their first step; features load librosa's parts).
    import librosa.feature  # noqa: F401
    import torch._dynamo  # noqa: F401

    import train  # noqa: F401

    parent = os.getppid()
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(socket_path)
        listener.listen()
        listener.settimeout(1.0)
        print("ready", flush=True)
        while True:
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                if os.getppid() != parent:  # the test session is gone without stopping us
                    return
                continue
            connection.settimeout(None)
            with connection:
                data, fds, _, _ = socket.recv_fds(connection, 1 << 20, len(STREAMS))
                request = json.loads(data + b"".join(iter(lambda c=connection: c.recv(1 << 16), b"")))
                pid = os.fork()
                if pid == 0:
                    listener.close()
                    connection.close()
                    run_child(request, fds)
                for fd in fds:
                    os.close(fd)
                _, status = os.waitpid(pid, 0)
                try:
                    connection.sendall(str(os.waitstatus_to_exitcode(status)).encode())
                except OSError:  # the requester was stopped meanwhile; serve the next one
                    pass


def run_child(request: dict, fds: list[int]) -> None:
    """Become ``python ARGV`` in the requester's place; never returns."""
    for target, fd in zip(STREAMS, fds):
        os.dup2(fd, target)
        os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    if "path" in sys.modules:  # path.py reads IEMOCAP_DIR when imported: read the requester's
        importlib.reload(sys.modules["path"])
    sys.argv = request["argv"]
    status = 0
    try:
        if sys.argv[0] == "-m":  # python -m MODULE ARGS
            sys.argv = sys.argv[1:]
            runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
        else:
            runpy.run_path(sys.argv[0], run_name="__main__")
    except SystemExit as exit_:
        if isinstance(exit_.code, int) or exit_.code is None:
            status = exit_.code or 0
        else:  # sys.exit("message"): Python prints it and exits with 1
            print(exit_.code, file=sys.stderr)
            status = 1
    except BaseException:
        traceback.print_exc()
        status = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


@contextlib.contextmanager
def serving(cwd: Path, env: dict):
    """A server started in ``cwd`` with ``env`` for the duration of the block; yields the
    command prefix (a list) that runs a script or ``-m MODULE`` through it."""
    # A socket path must stay under ~100 bytes, which a deep temporary folder can exceed.
    socket_dir = Path(tempfile.mkdtemp(prefix="ser-"))
    socket_path = socket_dir / "train.sock"
    with open(cwd / "trainserver.log", "w") as log:
        server = subprocess.Popen([sys.executable, __file__, "serve", str(socket_path)], cwd=cwd, env=env,
                                  stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        assert server.stdout.readline().strip() == "ready", (cwd / "trainserver.log").read_text()[-3000:]
        yield [sys.executable, __file__, "run", str(socket_path)]
    finally:
        server.kill()
        server.wait()
        shutil.rmtree(socket_dir)


if __name__ == "__main__":
    mode, path, *rest = sys.argv[1:]
    if mode == "serve":
        serve(path)
    else:
        status = run(path, rest)
        sys.exit(128 - status if status < 0 else status)
