#!/usr/bin/env python3
"""Compares the per-point robust flags of two `adapt eval` output folders (report.json + flags.npy).

Usage: scripts/compare-flags.py OLD_DIR NEW_DIR
The suite columns (report.json's `attacks`, the first columns of flags.npy in both formats) are matched by
attack name and source; check runs by their robust counts; checklist statuses are printed. Exit status 1 when a flag or check count differs.
"""
import ast
import json
import os
import struct
import sys


def read_npy(path):
    with open(path, "rb") as f:
        if f.read(6) != b"\x93NUMPY":
            raise SystemExit(f"{path}: not a .npy file")
        major, _ = f.read(2)
        (length,) = struct.unpack("<H" if major == 1 else "<I", f.read(2 if major == 1 else 4))
        header = ast.literal_eval(f.read(length).decode("latin1"))
        if header["descr"] not in ("|i1", "i1") or header["fortran_order"]:
            raise SystemExit(f"{path}: expected C-order int8, got {header}")
        rows, cols = header["shape"]
        data = f.read(rows * cols)
    return [[struct.unpack_from("b", data, r * cols + c)[0] for c in range(cols)] for r in range(rows)]


def load(directory):
    with open(os.path.join(directory, "report.json")) as f:
        report = json.load(f)
    flags = read_npy(os.path.join(directory, "flags.npy"))
    columns = {(a["name"], a["source"]): i for i, a in enumerate(report["attacks"])}
    return report, flags, columns


def main(old_dir, new_dir):
    old, old_flags, old_cols = load(old_dir)
    new, new_flags, new_cols = load(new_dir)
    n = len(old_flags)
    ok = n == len(new_flags) and old["complete"] and new["complete"]
    print(f"points: old {n}, new {len(new_flags)}; complete: old {old['complete']}, new {new['complete']}")
    for key, i in old_cols.items():
        if key not in new_cols:
            print(f"  {key[0]}/{key[1]}: missing in new")
            ok = False
            continue
        j = new_cols[key]
        same = sum(1 for p in range(min(n, len(new_flags))) if old_flags[p][i] == new_flags[p][j])
        ok &= same == n
        print(f"  {key[0]}/{key[1]}: {same}/{n} identical")
    for key in new_cols.keys() - old_cols.keys():
        print(f"  {key[0]}/{key[1]}: only in new")
    old_checks = sorted((c["purpose"], c["attack"], c["source"], c["threat"]["eps"], c["points"], c["robust"]) for c in old.get("check_runs", []))
    new_checks = sorted((c["purpose"], c["attack"], c["source"], c["threat"]["eps"], c["points"], c["robust"]) for c in new.get("check_runs", []))
    print(f"  check runs (purpose, attack, source, eps, points, robust count): {'identical' if old_checks == new_checks else f'old {old_checks} new {new_checks}'}")
    old_list = [(c["number"], c["status"]) for c in old.get("checklist", [])]
    new_list = [(c["number"], c["status"]) for c in new.get("checklist", [])]
    # Informational: the engine computes item 3 from AutoAttack's Square stage where the old code said "not run".
    print(f"  checklist statuses: {'identical' if old_list == new_list else f'old {old_list} new {new_list}'}")
    ok &= old_checks == new_checks
    return 0 if ok else 1


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
