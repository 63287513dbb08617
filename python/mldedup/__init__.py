"""Python front end of mldedup (makes CoreML multifunction packages as small as they can be).

How it runs mldedup: every function here runs the ``mldedup`` command-line tool in
a subprocess. The binary is ``$MLDEDUP`` when that is set, else ``mldedup`` on
``PATH``; :func:`find_binary` tells which. Nothing but the standard library is
imported, so ``pip install ./python`` adds no dependency, and the package works
with any Python 3.8+ (Debian's python3 included).

Errors are raised as :class:`MldedupError`, whose message is mldedup's own
(naming the file and the problem) and whose ``returncode`` is its exit status
(1 a failure, 2 a usage error).

The API:

* :func:`combine` -- one multifunction package from several, each shareable weight
  stored once (``mldedup combine``); returns the statistics as a dict.
* :func:`prepare_dedup_sources` -- a context manager with the contract of ANEMLL's
  ``anemll.utils.dedup_weights.prepare_dedup_sources``: coremltools'
  ``save_multifunction`` then shares what mldedup would share (``mldedup align``).
* :func:`align` -- the call under it.
* :mod:`mldedup.combine_models` -- ANEMLL's ``combine_models.py`` command line
  (``python3 -m mldedup.combine_models --lut 6 --chunk 2 ...``), run by
  ``mldedup anemll``.
"""

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

__all__ = ["MldedupError", "find_binary", "run", "combine", "align", "prepare_dedup_sources"]
__version__ = "0.2.0"


class MldedupError(RuntimeError):
    """mldedup failed; ``str(err)`` is its message, ``err.returncode`` its exit status."""

    def __init__(self, message, returncode=1, command=None):
        super().__init__(message)
        self.returncode = returncode
        self.command = command


def find_binary():
    """Path of the mldedup binary: ``$MLDEDUP``, else ``mldedup`` on PATH."""
    env = os.environ.get("MLDEDUP")
    if env:
        if not (os.path.isfile(env) and os.access(env, os.X_OK)):
            raise MldedupError("MLDEDUP=%s is not an executable file" % env)
        return env
    found = shutil.which("mldedup")
    if not found:
        raise MldedupError("the mldedup binary was not found: put it on PATH or set MLDEDUP=/path/to/mldedup")
    return found


def _message(stderr, cmd):
    lines = [l for l in (stderr or "").splitlines() if l.strip()]
    # the error lines (the usage hint after them says where to look for help)
    errs = [l for l in lines if not l.startswith("Try '")]
    return "\n".join(errs) if errs else "%s exited with an error" % " ".join(cmd[:2])


def run(args, capture=True, check=True):
    """Run ``mldedup ARGS``; returns the CompletedProcess (text mode).

    With ``capture`` stdout and stderr are captured; a non-zero exit raises
    :class:`MldedupError` unless ``check`` is false."""
    cmd = [find_binary()] + [str(a) for a in args]
    p = subprocess.run(cmd, stdout=subprocess.PIPE if capture else None, stderr=subprocess.PIPE if capture else None,
                       universal_newlines=True)
    if check and p.returncode != 0:
        raise MldedupError(_message(p.stderr, cmd) if capture else "%s failed" % " ".join(cmd[:2]), p.returncode, cmd)
    return p


def _store_args(store):
    if store is None:
        return []  # mldedup's default store: $MLDEDUP_STORE, else the user's cache
    if store is False:
        return ["--no-store"]
    return ["--store", os.fspath(store)]


def _source(src, i):
    """NAME=PKG[:FUNC] from a (path, src_fn, target_fn) triple, a (target_fn, path)
    pair, or a string already in that form."""
    if isinstance(src, str):
        if "=" not in src:
            raise MldedupError("source %r is not NAME=PKG[:FUNC]" % src, 2)
        return src
    src = tuple(src)
    if len(src) == 3:
        path, src_fn, target = src
    elif len(src) == 2:
        target, path = src
        src_fn = None
    else:
        raise MldedupError("source %d: expected (path, src_fn, target_fn) or (target_fn, path), got %r" % (i, src), 2)
    path = os.fspath(path)
    return "%s=%s%s" % (target, path, ":" + src_fn if src_fn else "")


def combine(output, sources, default=None, strict=False, store=None, replace=False, report=None, verbose=False):
    """Combine ``sources`` into the multifunction package ``output``.

    ``sources``: a list of ``(path, src_fn, target_fn)`` triples (as ANEMLL and
    coremltools' MultiFunctionDescriptor take them), ``(target_fn, path)`` pairs, or
    ``"NAME=PKG[:FUNC]"`` strings; the first is the anchor. ``default``: the default
    function (else the first). ``strict``: near-copies must also be within max |d|
    0.01. ``store``: None for mldedup's default store, a path, or False for none.
    An existing ``output`` is replaced only with ``replace``. ``report``: a .json or
    .csv file receiving every decision.

    Returns the statistics (functions, weights, by_reason, bytes_before,
    bytes_after, bytes_optimum, ...) as a dict."""
    output = os.fspath(output)
    if not sources:
        raise MldedupError("no sources given", 2)
    if not replace and os.path.lexists(output):
        raise MldedupError("%s: already exists (pass replace=True to replace it)" % output, 1)
    args = ["combine", "--json", "-o", output] + _store_args(store)
    if default:
        args += ["--default", default]
    if strict:
        args.append("--strict")
    if report:
        args += ["--report", os.fspath(report)]
    if not verbose:
        args.append("-q")
    args += [_source(s, i) for i, s in enumerate(sources)]
    p = run(args)
    if verbose and p.stderr:
        sys.stderr.write(p.stderr)
    return json.loads(p.stdout) if p.stdout.strip() else {}


def _threshold_args(cos_threshold, mean_abs_threshold, max_abs_threshold):
    args = []
    if cos_threshold is not None:
        args += ["--cos-min", repr(float(cos_threshold))]
    if mean_abs_threshold is not None:
        args += ["--mean-abs-max", repr(float(mean_abs_threshold))]
    if max_abs_threshold is not None:
        args += ["--max-abs-max", repr(float(max_abs_threshold))]
    return args


def align(anchor, packages, out_dir, cos_threshold=None, mean_abs_threshold=None, max_abs_threshold=None,
          store=None, verbose=False):
    """``mldedup align``: write into ``out_dir`` a copy of each of ``packages`` whose
    shareable weights carry the bytes of the weight they share with (the anchor's, or
    an earlier package's), with the same decisions as :func:`combine` over
    ``[anchor] + packages``.

    ``anchor`` and each package: a path or a ``(path, function)`` pair. Returns the
    JSON document of ``mldedup align --json``: ``outputs`` lists, per package,
    ``source``, ``function``, ``output`` and ``rewritten`` (weights given other bytes)."""

    def spec(p):
        if isinstance(p, (tuple, list)):
            path, fn = p
            return os.fspath(path) + (":" + fn if fn else "")
        return os.fspath(p)

    args = ["align", "--json", "--anchor", spec(anchor), "-o", os.fspath(out_dir)]
    args += _store_args(store) + _threshold_args(cos_threshold, mean_abs_threshold, max_abs_threshold)
    if not verbose:
        args.append("-q")
    args += [spec(p) for p in packages]
    p = run(args)
    if verbose and p.stderr:
        sys.stderr.write(p.stderr)
    return json.loads(p.stdout)


def _same_file(a, b):
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


@contextlib.contextmanager
def prepare_dedup_sources(sources, cos_threshold=0.9999, mean_abs_threshold=0.001, max_abs_threshold=None,
                          verbose=False, store=None, tmp_dir=None, keep_unchanged=True):
    """ANEMLL's ``prepare_dedup_sources``, done by mldedup.

    ``sources``: ``[(pkg_path, src_fn, target_fn), ...]``, the anchor first. Yields the
    same list in which each non-anchor entry may point at a temporary
    single-function package (function ``src_fn``) whose shareable weights carry the
    exact bytes of the weight they share with, so that coremltools'
    ``save_multifunction`` then stores them once::

        with mldedup.prepare_dedup_sources(sources) as deduped:
            desc = ct.utils.MultiFunctionDescriptor()
            for path, src_fn, tgt_fn in deduped:
                desc.add_function(path, src_fn, tgt_fn)
            desc.default_function_name = sources[0][2]
            ct.utils.save_multifunction(desc, output_path)

    A pair is shared when mldedup's combine would share it: the same dense values
    (a permuted palette) or, verified, cosine >= ``cos_threshold`` and mean |d| <=
    ``mean_abs_threshold`` (and max |d| <= ``max_abs_threshold`` when given). Every
    weight is checked against the anchor and the packages before it. An entry with
    nothing to rewrite keeps its own path (unless ``keep_unchanged`` is false).
    Packages in the iOS16 form (which coremltools cannot load) come back in the iOS18
    form with bit-identical values, the anchor included. The
    temporaries are removed on exit, whatever happens inside. ``store``: as in
    :func:`combine`; ``tmp_dir``: where the temporaries go (default: the system's)."""
    sources = [tuple(s) for s in sources]
    if len(sources) < 2:
        yield list(sources)
        return
    anchor_path, anchor_fn = os.fspath(sources[0][0]), sources[0][1]
    todo = []  # unique (path, fn) of the non-anchor entries
    for path, src_fn, _ in sources[1:]:
        path = os.fspath(path)
        if _same_file(path, anchor_path) and src_fn == anchor_fn:
            continue
        if not any(_same_file(path, p) and src_fn == f for p, f in todo):
            todo.append((path, src_fn))
    tmp = tempfile.mkdtemp(prefix="mldedup-dedup-", dir=tmp_dir)
    try:
        result = list(sources)
        if todo:
            doc = align((anchor_path, anchor_fn), todo, tmp, cos_threshold=cos_threshold,
                        mean_abs_threshold=mean_abs_threshold, max_abs_threshold=max_abs_threshold, store=store,
                        verbose=verbose)
            new = {}
            for (path, fn), o in zip(todo, doc.get("outputs", [])):
                if o.get("rewritten", 0) or not keep_unchanged:
                    new[(path, fn)] = o["output"]
                if verbose:
                    print("mldedup: %s: %d weights take the shared bytes" % (path, o.get("rewritten", 0)),
                          file=sys.stderr)
            if doc.get("anchor_output"):  # an iOS16-form anchor, rewritten into the iOS18 form of the others
                new[(anchor_path, anchor_fn)] = doc["anchor_output"]
            for i, (path, src_fn, target) in enumerate(sources):
                for (p, f), out in new.items():
                    if f == src_fn and _same_file(os.fspath(path), p):
                        result[i] = (out, src_fn, target)
                        break
        yield result
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
