#!/usr/bin/env python3
"""Times one OpenBLAS cblas_sgemm on a whole product against the same product cut into blocks of rows (one call per
block), single-threaded, on vit-small batch-8 shapes: what load-balanced row blocks would cost when idle
(docs/performance.md, "Speed-ups kept", the not-kept paragraph). Needs Debian's libopenblas0-pthread.
Usage: python3 scripts/blas-row-blocks.py   (OPENBLAS_CORETYPE defaults to SkylakeX, as AdaptSharp sets it on AVX-512 Intel)"""
import ctypes
import os
import random

os.environ.setdefault("OPENBLAS_CORETYPE", "SkylakeX")
blas = ctypes.CDLL("libopenblas.so.0")
blas.openblas_set_num_threads(1)
sgemm = blas.cblas_sgemm
sgemm.argtypes = [ctypes.c_int] * 6 + [ctypes.c_float, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_int,
                                       ctypes.c_float, ctypes.c_void_p, ctypes.c_int]
ROW_MAJOR, NO_TRANS, FLOAT = 101, 111, 4


def best_seconds(run, repeats=12):
    import time
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


for m, k, n, label in [(1776, 384, 1152, "qkv b8"), (1776, 384, 1536, "fc1 b8"), (1776, 1536, 384, "fc2 b8"), (888, 384, 1152, "qkv b4")]:
    a = (ctypes.c_float * (m * k))(*[random.random() for _ in range(m * k)])
    b = (ctypes.c_float * (k * n))(*[random.random() for _ in range(k * n)])
    c = (ctypes.c_float * (m * n))()

    def product(rows_per_call):
        for first in range(0, m, rows_per_call):
            rows = min(rows_per_call, m - first)
            sgemm(ROW_MAJOR, NO_TRANS, NO_TRANS, rows, n, k, 1.0, ctypes.addressof(a) + first * k * FLOAT, k, b, n, 0.0,
                  ctypes.addressof(c) + first * n * FLOAT, n)

    whole = best_seconds(lambda: product(m))
    blocks = {r: best_seconds(lambda r=r: product(r)) for r in (256, 128, 64)}
    print(f"{label} {m}x{k}x{n}: whole {whole * 1e3:.2f} ms; " +
          ", ".join(f"{r}-row blocks {t / whole:.2f}x" for r, t in blocks.items()), flush=True)
