"""XGBoost training with OpenMP's idle threads spinning (the runtime's default) or waiting passively (what
``ml/__init__.py`` sets), each in a fresh process because the runtime reads ``OMP_WAIT_POLICY`` when it loads.

    python benchmarks/openmp_wait.py [--rows 30000] [--features 50] [--rounds 150] [--repeat 2]

The sizes default to the demo's customer models (30,303 training rows, 50 features; the project's tree parameters).
Spinning costs little on an idle machine and a lot when more processes want the cores than there are: run it on
the machine as it is, and note the load average it prints.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

PROBE = """
import sys, time
import numpy as np, xgboost as xgb
rows, features, rounds, threads = map(int, sys.argv[1:5])
rng = np.random.default_rng(0)
x = rng.normal(size=(rows, features))
y = (x[:, 0] + rng.normal(size=rows) > 0).astype(float)
params = {"tree_method": "hist", "max_depth": 5, "eta": 0.05, "max_bin": 128, "subsample": 0.8,
          "colsample_bytree": 0.8, "objective": "binary:logistic", "nthread": threads}
matrix = xgb.DMatrix(x, label=y, nthread=threads)
started = time.perf_counter()
xgb.train(params, matrix, rounds)
print(f"{time.perf_counter() - started:.2f}")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=30_000)
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=150)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f}; {args.rows:,} rows x {args.features} features, {args.rounds} rounds")
    for policy in ("ACTIVE", "PASSIVE"):
        for threads in (1, 2):
            env = {**os.environ, "OMP_WAIT_POLICY": policy}
            sizes = [str(v) for v in (args.rows, args.features, args.rounds, threads)]
            seconds = [
                subprocess.run(
                    [sys.executable, "-c", PROBE, *sizes], env=env, capture_output=True, text=True, check=True
                ).stdout.strip()
                for _ in range(args.repeat)
            ]
            print(f"OMP_WAIT_POLICY={policy:<8} nthread {threads}: {' / '.join(seconds)} s")
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
