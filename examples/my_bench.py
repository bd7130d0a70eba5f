"""``bench`` with the example protocol and judge registered in this process (docs/ADDING_A_PROTOCOL.md and
docs/ADDING_A_JUDGE.md): ``python my_bench.py <bench arguments>``."""

import sys

from benchmark.cli import main
from benchmark.judges import JUDGES
from protocols import PROTOCOLS

PROTOCOLS["stratified-3"] = "my_protocol:STRATIFIED_3"  # name -> "module:attribute", as protocols/__init__.py
JUDGES["thumbnail"] = "my_judge:ThumbnailJudge"  # name -> "module:Class", as benchmark/judges/__init__.py

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
