"""
Squaring an R-MAT graph larger than a Dask worker
=================================================

``C = A @ A`` of a Graph500 R-MAT matrix on a local Dask cluster whose
workers each have a memory limit *smaller than the product*: the matrix is
generated on the workers, row block by row block
(:func:`sparsela.dask.rmat`), multiplied with :func:`sparsela.dask.spgemm`
(A in row blocks, the right operand sent once to every worker; or, with
``--method blocked``, 2-D blocks whose partial products are summed by a tree
reduction), and ``C`` is checked and summarised block by block: it never
sits whole in one worker, nor in this process.

Checks, all exact (the values are edge counts, so every sum is an integer
below 2**53):

* ``sum(C) == colsum(A) . rowsum(A)`` and ``C @ 1 == A @ (A @ 1)``;
* at a small scale, the distributed product (both methods) equals
  ``sparsela.spgemm`` on one machine bit for bit.

Run::

    python examples/dask_spgemm_rmat.py                 # scale 16, 2 workers x 1 GiB
    python examples/dask_spgemm_rmat.py --scale 17 --memory-limit 2GiB
    python examples/dask_spgemm_rmat.py --method blocked
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import sparsela as sl
import sparsela.dask as sld


def _nbytes(A) -> int:
    return int(A.data.nbytes + A.indices.nbytes + A.indptr.nbytes)


def _block_stats(block):
    """``[[nnz, bytes]]`` of one sparse chunk."""
    return np.array([[block.nnz, _nbytes(block)]], dtype=np.int64)


def _stats(X):
    """A small Dask array of ``[nnz, bytes]`` per chunk of ``X`` (sparse chunks)."""
    return X.map_blocks(_block_stats, chunks=((1,) * X.numblocks[0], (2,) * X.numblocks[1]),
                        dtype=np.int64, meta=np.empty((0, 0), dtype=np.int64))


def _mib(n: int) -> str:
    return f"{n / 2**20:,.1f} MiB"


def main(argv=None) -> int:
    import dask
    from dask.utils import parse_bytes
    from distributed import Client, LocalCluster

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scale", type=int, default=16, help="log2 of the vertex count (16)")
    p.add_argument("--edge-factor", type=int, default=16, help="edges per vertex (16)")
    p.add_argument("--workers", type=int, default=2, help="worker processes (2)")
    p.add_argument("--memory-limit", default="1GiB", help="per worker (1GiB)")
    p.add_argument("--row-blocks", type=int, default=32, help="row blocks of A and C (32)")
    p.add_argument("--method", choices=("auto", "broadcast", "blocked"), default="auto")
    p.add_argument("--check-scale", type=int, default=11,
                   help="scale of the exact single-machine comparison (11)")
    args = p.parse_args(argv)
    limit = parse_bytes(args.memory_limit)
    n = 1 << args.scale
    rows = -(-n // args.row_blocks)

    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                      memory_limit=limit, host="127.0.0.1", dashboard_address=None,
                      silence_logs=40) as cluster, Client(cluster):
        print(f"cluster: {args.workers} workers x 1 thread, memory limit "
              f"{_mib(limit)} per worker")

        # -- A, generated on the workers ---------------------------------------
        t0 = time.perf_counter()
        A = sld.rmat(args.scale, args.edge_factor, rng=0, row_chunks=rows).persist()
        (a_stats,) = dask.compute(_stats(A))
        t_gen = time.perf_counter() - t0
        a_nnz, a_bytes = (int(v) for v in a_stats.reshape(-1, 2).sum(axis=0))
        print(f"A: R-MAT scale {args.scale}, {n:,} x {n:,}, nnz {a_nnz:,}, "
              f"{_mib(a_bytes)} in {A.numblocks[0]} row blocks "
              f"(generated on the workers in {t_gen:.2f} s)")

        method = args.method
        if method == "auto":
            # broadcast A as the right operand when it is small next to a worker
            method = "broadcast" if a_bytes * 8 <= limit else "blocked"

        # -- C = A @ A, summarised block by block --------------------------------
        t0 = time.perf_counter()
        C = sld.spgemm(A, A, method=method)
        rowsum_A = A.sum(axis=1)
        expect_rows = sld.spmm(A, rowsum_A[:, None], method="blocked").ravel()
        c_stats, c_rows, e_rows, colsum_A, rowsum_Av = dask.compute(
            _stats(C), C.sum(axis=1), expect_rows, A.sum(axis=0), rowsum_A)
        t_mul = time.perf_counter() - t0
        blocks = c_stats.reshape(-1, 2)
        c_nnz, c_bytes = (int(v) for v in blocks.sum(axis=0))
        biggest = int(blocks[:, 1].max())
        print(f"C = A @ A ({method}): nnz {c_nnz:,}, {_mib(c_bytes)} "
              f"= {c_bytes / limit:.1f} x a worker's memory limit; "
              f"largest block {_mib(biggest)}")
        print(f"   multiply + summarise on the cluster: {t_mul:.2f} s")

        checksum = float(c_rows.sum())
        assert checksum == float(colsum_A @ rowsum_Av), (checksum, colsum_A @ rowsum_Av)
        assert np.array_equal(c_rows, e_rows)
        print(f"   checks: sum(C) = colsum(A).rowsum(A) = {checksum:,.0f}; "
              "C @ 1 == A @ (A @ 1) exactly")

        # -- exactness against one machine at a small scale -----------------------
        As = sld.rmat(args.check_scale, args.edge_factor, rng=1, row_chunks=256)
        As_local = As.compute()
        t0 = time.perf_counter()
        ref = sl.spgemm(As_local, As_local)
        t_one = time.perf_counter() - t0
        for m in ("broadcast", "blocked"):
            t0 = time.perf_counter()
            Cs = sld.spgemm(As, As, method=m, chunks=(256, 512, 512)
                            if m == "blocked" else None).compute()
            t_m = time.perf_counter() - t0
            same = (np.array_equal(Cs.indptr, ref.indptr)
                    and np.array_equal(Cs.indices, ref.indices)
                    and np.array_equal(Cs.data, ref.data))
            assert same, m
            print(f"scale {args.check_scale} ({As_local.shape[0]:,} rows, C nnz {ref.nnz:,}): "
                  f"{m} == sparsela.spgemm bit for bit "
                  f"({t_m:.2f} s on the cluster, {t_one:.2f} s on one machine)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
