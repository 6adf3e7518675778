"""Tri-objective MUXNet search on scikit-learn digits (same as `keras-muxnet search`).

    PYTHONPATH=. python training/search_digits.py --out search_out --target 1.0,30000,1e6
"""

import sys

from keras_muxnet.cli import main

if __name__ == "__main__":
    sys.exit(main(["search", "run", *sys.argv[1:]]))
