#!/usr/bin/env python3
"""Reads a run's CSV files with pandas and polars, as a user would (default options), and
checks that they keep what the files say: zones.csv `policy` stays text (leading zeros
kept), firm columns of a run without firms are missing values, and every file parses.

Usage: check_outputs.py [ESH_BINARY]   (default: target/debug/esh)
"""

import csv
import pathlib
import subprocess
import sys
import tempfile

import pandas as pd
import polars as pl

SCENARIO = """
[run]
ticks = 4
replications = 2
ticks_per_year = 12
[landscape]
n = 8
k = 2
[output]
zones_every = 2
diffusion_every = 1
centre_log = true
[[regions]]
name = "a"
zones = 30
"""


def main() -> int:
    esh = sys.argv[1] if len(sys.argv) > 1 else "target/debug/esh"
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        (tmp / "s.toml").write_text(SCENARIO)
        out = tmp / "out"
        subprocess.run([esh, "run", str(tmp / "s.toml"), "--out", str(out), "-q"], check=True)
        with open(out / "zones.csv", newline="") as f:
            raw = [row["policy"] for row in csv.DictReader(f)]
        if not any(p[1:].startswith("0") for p in raw):
            failures.append("no policy of the test run starts with 0 (the case to check): change the scenario")
        got_pd = pd.read_csv(out / "zones.csv")["policy"].tolist()
        got_pl = pl.read_csv(out / "zones.csv")["policy"].to_list()
        for name, got in [("pandas", got_pd), ("polars", got_pl)]:
            if got != raw:
                failures.append(f"{name} reads zones.csv policy as {got[:3]}..., the file holds {raw[:3]}...")
        for name in ["ticks.csv", "regions.csv", "zones.csv"]:
            frame = pd.read_csv(out / name)
            if not frame["firms"].isna().all():
                failures.append(f"pandas: {name} firms should be missing with firms off")
            if pl.read_csv(out / name)["firms"].null_count() != len(frame):
                failures.append(f"polars: {name} firms should be null with firms off")
            if "month" not in frame.columns:
                failures.append(f"{name} of a monthly run has no month column")
        for name in ["events.csv", "innovations.csv", "diffusion.csv"]:
            pd.read_csv(out / name)
            pl.read_csv(out / name, infer_schema_length=None)
    for f in failures:
        print("FAIL:", f)
    print(f"check_outputs: {0 if failures else 1} passed, {1 if failures else 0} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
