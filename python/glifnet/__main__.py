"""``python -m glifnet run CONFIG [--functions FILE.py ...] [options]``: ``glifnet run`` with
the weight functions of Python files. Exit codes: 0 success, 1 error (one line on stderr),
2 usage error, 130 Ctrl-C (the outputs hold what was simulated)."""

from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m glifnet", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="Run a BMTK PointNet simulation config and write its outputs.")
    r.add_argument("config", help="BMTK simulation config (e.g. config.simulation.json)")
    r.add_argument(
        "--functions",
        action="append",
        default=[],
        metavar="FILE.py",
        help="Python file defining weight functions (@glifnet.synaptic_weight or bmtk's "
        "@synaptic_weight); its __main__ block does not run. Repeatable.",
    )
    r.add_argument("--threads", type=int)
    r.add_argument("--tstop", type=float)
    r.add_argument("--dt", type=float)
    r.add_argument("--output-dir")
    r.add_argument("--quiet", action="store_true")
    r.add_argument("--no-plot", action="store_true")
    a = p.parse_args(argv)  # exits 2 on usage errors

    import glifnet

    try:
        for f in a.functions:
            glifnet.load_file(f)
        glifnet.run(
            a.config,
            threads=a.threads,
            tstop=a.tstop,
            dt=a.dt,
            output_dir=a.output_dir,
            quiet=a.quiet,
            no_plot=a.no_plot,
        )
    except KeyboardInterrupt as e:
        print(e.args[0] if e.args else "glifnet: interrupted", file=sys.stderr)
        return 130
    except glifnet.GlifnetError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except Exception as e:  # a weight function's or a functions file's exception
        print(f"error: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
