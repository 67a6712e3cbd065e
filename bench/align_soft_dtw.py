"""Benchmark: soft-DTW forward + backward, Studio vs tslearn's SoftDTWLossPyTorch.

    python bench/align_soft_dtw.py [--repeat 3] [--threads N]

Each case times ``loss(x, y).sum().backward()`` for float32 batches of random sequences (d = 20,
γ = 1): B = 32 with n = m = 128 (a training batch) and B = 1 with n = m = 1024 (one long
alignment). Studio runs with ``backend="auto"`` (numba kernel on CPU) and ``backend="torch"`` (the
anti-diagonal wavefront, the CUDA path); tslearn 0.10 computes R and E with its numba kernels on
CPU. Times are the best of ``--repeat`` runs after one warm-up (compilation excluded); ratio =
tslearn time / Studio time (> 1: Studio faster). Every value and gradient is compared with a float64
computation (max abs error / max abs gradient), so a fast wrong answer shows. With a CUDA device, the same cases run on it too; else "no CUDA".
Goal: Studio at least as fast as tslearn on CPU, and the wavefront much faster on CUDA.
"""

from __future__ import annotations

import argparse
import time

import torch

from studio.align.soft_dtw import SoftDTWLoss

CASES = [(32, 128, 128, 20), (1, 1024, 1024, 20)]


def best_time(fn, repeat: int, device: torch.device) -> float:
    fn()  # warm-up: numba compilation, CUDA context, caches
    best = float("inf")
    for _ in range(repeat):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return best


def run_case(b, n, m, d, device, repeat):
    from tslearn.metrics import SoftDTWLossPyTorch

    g = torch.Generator().manual_seed(0)
    x0 = torch.randn(b, n, d, generator=g).to(device)
    y = torch.randn(b, m, d, generator=g).to(device)
    losses = {
        "studio auto": SoftDTWLoss(1.0, reduction="sum"),
        "studio torch": SoftDTWLoss(1.0, reduction="sum", backend="torch"),
        "tslearn": SoftDTWLossPyTorch(gamma=1.0),
    }
    results = {}
    for name, loss in losses.items():
        x = x0.clone().requires_grad_()

        def step(loss=loss, x=x):
            x.grad = None
            value = loss(x, y).sum()
            value.backward()
            return value

        seconds = best_time(step, repeat, device)
        value = step()
        results[name] = (seconds, value.item(), x.grad.detach().clone())
    x = x0.double().requires_grad_()
    value = SoftDTWLoss(1.0, reduction="sum")(x, y.double())
    value.backward()
    return results, (value.item(), x.grad)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    devices = [torch.device("cpu")]
    if torch.cuda.is_available():
        devices.append(torch.device("cuda"))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads, float32, gamma=1")
    header = f"{'device':6} {'case (B, n, m, d)':22} {'backend':14} {'time ms':>9} {'tslearn/ours':>13}  error vs float64"
    print(header)
    print("-" * len(header))
    for device in devices:
        for case in CASES:
            results, (ref_value, ref_grad) = run_case(*case, device, args.repeat)
            peer_time = results["tslearn"][0]
            for name, (seconds, value, grad) in results.items():
                ratio = "" if name == "tslearn" else f"{peer_time / seconds:.2f}x"
                rel_value = abs(value - ref_value) / abs(ref_value)
                rel_grad = ((grad.double() - ref_grad).abs().max() / ref_grad.abs().max()).item()
                check = f"value {rel_value:.0e}, grad {rel_grad:.0e}"
                print(f"{device.type:6} {str(case):22} {name:14} {seconds * 1e3:9.1f} {ratio:>13}  {check}")
    if not torch.cuda.is_available():
        print("no CUDA")


if __name__ == "__main__":
    main()
