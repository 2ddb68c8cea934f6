"""Helpers shared by the Python-driven ctest suites (tests/sweep, tests/mpi)."""
import argparse
import os
import re
import shlex
import sys

SKIP = 77  # ctest SKIP_RETURN_CODE


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


def need_h5py():
    try:
        import h5py  # noqa: F401
        import numpy  # noqa: F401
    except ImportError as e:
        print(f"SKIP: {sys.executable} cannot import h5py/numpy ({e})")
        sys.exit(SKIP)
    import h5py
    return h5py


def text(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def logical_lines(path):
    """The lines of a shell script with backslash continuations joined."""
    with open(path) as f:
        logical, current = [], ""
        for line in f:
            line = line.rstrip("\n")
            if line.endswith("\\"):
                current += line[:-1] + " "
                continue
            logical.append(current + line)
            current = ""
    return logical


def expanded_argv(line, env):
    """A shell line as argv, with $NAME, ${NAME} and ${NAME:-default} expanded from
    os.environ plus `env` (unquoted expansions split at blanks, as the shell does)."""
    values = {**os.environ, **env}

    def value(m):
        name, default = m.group(1) or m.group(3), m.group(2)
        got = values.get(name, "")
        return default if default is not None and not got else got
    return shlex.split(re.sub(r"\$\{(\w+)(?::-([^}]*))?\}|\$(\w+)", value, line))


def binary_for(ctx, env):
    """The binary a run with `env` needs: pagequery_testhooks (ctx.hooks) where `env` sets
    a PAGEQUERY_TEST_* variable, which the pagequery binary (ctx.bin) never reads."""
    return ctx.hooks if any(k.startswith("PAGEQUERY_TEST_") for k in env or {}) else ctx.bin


def run_case(cases, ctx, name):
    """Runs one named case of a driver: PASS/FAIL line, exit status 0/1."""
    try:
        cases[name](ctx)
    except Failure as e:
        print(f"FAIL {name}: {e}")
        return 1
    print(f"PASS {name}")
    return 0


def sweep_driver_main(cases, make_ctx):
    """main() of the drivers run as
    `DRIVER CASE --pagequery BIN --pagequery-hooks BIN --sbatch FILE --workdir DIR`."""
    ap = argparse.ArgumentParser()
    ap.add_argument("case", choices=sorted(cases))
    ap.add_argument("--pagequery", required=True)
    ap.add_argument("--pagequery-hooks", required=True, help="pagequery_testhooks (tests/test_hooks.cpp)")
    ap.add_argument("--sbatch", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    return run_case(cases, make_ctx(args), args.case)
