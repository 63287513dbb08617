"""ANEMLL's combine step, with mldedup's sharing.

``python3 -m mldedup.combine_models --lut 6 --chunk 2 --prefix qwen25 --input DIR --output DIR``
takes exactly the flags of ANEMLL's ``anemll/utils/combine_models.py`` (``--lut``,
``--chunk``, ``--monolithic``, ``--gemma3``, ``--rotate``, ``--split-rotate``,
``--input``, ``--output``, ``--prefix``, ``--anemll-dedup``, ``--skip-anemll-dedup``)
and writes the same file names. It runs ``mldedup anemll`` (see
``mldedup anemll --help``): a missing chunk, FFN or prefill is named and fails
with exit status 1 before anything is written.
"""

import sys

from . import MldedupError, find_binary, run


def main(argv=None):
    """Run ``mldedup anemll ARGV`` with stdout and stderr passed through; returns its exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        find_binary()
        p = run(["anemll"] + argv, capture=False, check=False)
    except MldedupError as e:
        print("mldedup.combine_models: %s" % e, file=sys.stderr)
        return 1
    return p.returncode


if __name__ == "__main__":
    sys.exit(main())
