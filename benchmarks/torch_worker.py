"""PyTorch contenders in their own process, driven block by block over a pipe.

PyTorch brings its own OpenMP thread pool. In one process with NumPy's OpenBLAS pool, on two
cores, each pool's spin-waiting threads slow the other's by 1.5-4×, so PyTorch steps are timed
in this separate process, which never imports NumPy's contenders, while the parent interleaves
its blocks with the NumPy contenders' (pausing between them so that the idle pool's threads
go to sleep).

Protocol (one JSON object per line on stdin, one reply per line on stdout):
``{"make": NAME, "kind": "mnist"|"tiny"|"conv", "sizes": [...], "batch": B, "lr": LR}`` →
``"ok"`` ("conv": the book's SimpleConvNet, ``sizes`` unused);
``{"block": NAME, "steps": N, "lead": L}`` → seconds per step of N steps, timed after L
untimed ones (default 0); ``{"info": true}`` → versions and threads;
end of input ends the process.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

__all__ = ["TorchWorker", "main"]


class TorchWorker:
    """The parent's handle on a worker process (a context manager)."""

    def __init__(self, *, threads: int, data_dir=None, synthetic: str | None = None):
        import subprocess

        from benchmarks import CHECKOUT

        command = [sys.executable, "-m", "benchmarks.torch_worker", "--threads", str(threads)]
        if synthetic:
            command += ["--synthetic", synthetic]
        elif data_dir is not None:
            command += ["--data-dir", str(data_dir)]
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=CHECKOUT
        )
        self._ask(None)  # the worker says "ready" once torch and the data are loaded

    def _ask(self, message):
        if message is not None:
            self.process.stdin.write(json.dumps(message) + "\n")
            self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the PyTorch worker process ended unexpectedly")
        return json.loads(line)

    def make(self, name: str, *, kind: str, sizes, batch: int, lr: float = 0.1) -> None:
        self._ask({"make": name, "kind": kind, "sizes": list(sizes), "batch": batch, "lr": lr})

    def info(self) -> dict:
        return self._ask({"info": True})

    def contender(self, name: str) -> RemoteContender:
        return RemoteContender(self, name)

    def block(self, name: str, steps: int, *, lead: int = 0) -> float:
        return float(self._ask({"block": name, "steps": steps, "lead": lead}))

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()  # end of input: the worker returns
            self.process.wait(timeout=30)
        self.process.stdout.close()

    def __enter__(self) -> TorchWorker:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"TorchWorker(pid={self.process.pid})"


class RemoteContender:
    """A contender whose block of steps runs in the worker: ``block(n)`` → seconds per step."""

    remote = True

    def __init__(self, worker: TorchWorker, name: str):
        self.worker = worker
        self.name = name

    def block(self, steps: int, *, lead: int = 0) -> float:
        return self.worker.block(self.name, steps, lead=lead)

    def __repr__(self) -> str:
        return f"RemoteContender({self.name!r})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.torch_worker")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data-dir")
    parser.add_argument("--synthetic", help="N_TRAIN,N_TEST random images")
    args = parser.parse_args(argv)

    from benchmarks import torch_impl
    from benchmarks.data import load_raw_mnist, synthetic_data
    from benchmarks.suite import tiny_data

    torch_impl.set_threads(args.threads)
    if args.synthetic:
        n_train, n_test = (int(v) for v in args.synthetic.split(","))
        (x_train, t_train), _ = synthetic_data(n_train, n_test)
    else:
        (x_train, t_train), _ = load_raw_mnist(args.data_dir)
    steps = {}
    print(json.dumps("ready"), flush=True)
    for line in sys.stdin:
        message = json.loads(line)
        if "info" in message:
            print(json.dumps(torch_impl.torch_info()), flush=True)
        elif "make" in message:
            if message["kind"] == "conv":
                step = torch_impl.torch_conv_step(
                    x_train, t_train, batch_size=message["batch"], lr=message["lr"]
                )
            else:
                x, t = tiny_data() if message["kind"] == "tiny" else (x_train, t_train)
                step = torch_impl.torch_step(
                    message["sizes"], x, t, batch_size=message["batch"], lr=message["lr"]
                )
            steps[message["make"]] = step
            print(json.dumps("ok"), flush=True)
        else:
            step = steps[message["block"]]
            n = int(message["steps"])
            for _ in range(int(message.get("lead", 0))):
                step()
            start = time.perf_counter()
            for _ in range(n):
                step()
            print(json.dumps((time.perf_counter() - start) / n), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
