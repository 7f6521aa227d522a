"""Reading and writing sparse matrices: Matrix Market (``.mtx``) and ``.npz``.

All parsing and formatting is done by :mod:`scipy.io` (``mmread``, ``mmwrite``,
``mminfo``, backed by the fast_matrix_market C++ reader) and by
:func:`scipy.sparse.load_npz` / :func:`scipy.sparse.save_npz`.  This module adds
what those functions leave out: it *validates* a Matrix Market file before and
after SciPy reads it, so that a malformed file is rejected with a
:class:`MatrixMarketError` (a :class:`ValueError`) whose message names the file
and what is wrong, instead of being silently read into a wrong matrix, and it
converts results to and from sparsela arrays.

What :func:`mmread` accepts and rejects
---------------------------------------
The reference is the NIST Matrix Market exchange format.  A file is rejected
(``MatrixMarketError``, message ``"<file>: line N: <what is wrong>"``) when

* the first line is not a banner ``%%MatrixMarket object format field symmetry``
  with exactly these four words (compared case-insensitively), each from
  ``object`` = ``matrix``; ``format`` = ``coordinate`` | ``array``;
  ``field`` = ``real`` | ``double`` | ``complex`` | ``integer`` |
  ``unsigned-integer`` | ``pattern``; ``symmetry`` = ``general`` |
  ``symmetric`` | ``skew-symmetric`` | ``hermitian``.  ``vector`` objects are
  rejected as unsupported (SciPy cannot read them either);
* the words form an invalid combination: ``array`` + ``pattern`` (an array has
  values), ``pattern`` + ``hermitian`` or ``skew-symmetric`` (no values to
  conjugate or negate), ``hermitian`` with a field other than ``complex``,
  ``unsigned-integer`` + ``skew-symmetric``.  *SciPy accepts several of these
  as is* (for example a ``pattern hermitian`` or ``real hermitian`` banner);
* the size line is missing or is not ``rows cols entries`` (coordinate) or
  ``rows cols`` (array) made of non-negative decimal integers, or a
  symmetric / skew-symmetric / hermitian matrix is not square;
* a data token is not a number of the field's kind: indices and ``integer``
  values are decimal integers, ``pattern`` and ``unsigned-integer`` files hold
  non-negative decimal integers only, ``real`` and ``complex`` values are
  decimal floating-point numbers, ``inf``/``infinity`` or ``nan`` (any case).
  SciPy reads ``0x5`` as ``0``, ``5.5`` in an integer file as ``5`` and ``1d5``
  or ``1.2.3`` as ``1``/``1.2``.  A leading ``+`` sign is rejected (SciPy's
  reader cannot parse it; the message says so);
* a data line carries too few or too many numbers (``row col`` for pattern,
  ``row col value`` for real/integer, ``row col re im`` for complex, one or two
  numbers per line for array files).  SciPy ignores extra numbers, so a real
  matrix labelled ``pattern`` would lose its values;
* the number of entries differs from the declared count, a comment line appears
  after the size line, an index is out of range (0, negative or beyond the
  declared size) or an integer value does not fit in 64 bits;
* the same position appears twice in a coordinate file (**duplicates are
  rejected by default**: the format has no rule saying whether to sum them or to
  keep the last one; in a symmetric file this includes storing both ``(i, j)``
  and ``(j, i)``, which SciPy would add up).  Pass ``duplicates="sum"`` to add
  them up as SciPy does;
* a skew-symmetric file stores a non-zero diagonal entry, or a hermitian file
  stores a diagonal entry with a non-zero imaginary part.

Accepted as valid: upper-case banner words, blank lines, ``\\r\\n`` line ends,
tabs, ``double`` as a synonym of ``real``, entries of a symmetric file stored in
the upper instead of the lower triangle (each is mirrored, as SciPy does), NaN
and infinite values, explicit zeros (kept as stored entries), ``.gz`` and
``.bz2`` compressed files.  Comment lines whose text names a type (such as
``%%GraphBLAS type int8_t``) are comments and are ignored.

The bundled malformed test files (``mangled*.mtx``) are all rejected:
``mangled1``-``mangled4`` for an invalid banner word, ``mangled5`` for
``pattern hermitian``, ``mangled6`` for ``real hermitian``, ``mangled7`` for
entries without values, ``mangled8`` for a size line with one number,
``mangled9`` for a non-square symmetric matrix and ``mangled_format`` for
``array pattern``.

:func:`mminfo` validates the banner and the size line only (it does not read
the data).  The checks of the data section are vectorised (NumPy) or one
linear regular-expression pass over the text: reading costs a few times
SciPy's own parse time, and never more than linear time in the file size.

Results
-------
A coordinate file gives a :class:`sparsela.coo_array` (as :func:`scipy.io.mmread`
gives a COO matrix) holding the full matrix: symmetric, skew-symmetric and
hermitian files are expanded to both triangles.  An array file gives a dense
:class:`numpy.ndarray`, as SciPy does.  Value dtypes follow SciPy: ``real`` ->
float64, ``complex`` -> complex128, ``integer`` -> int64, ``unsigned-integer``
-> uint64, ``pattern`` -> float64 ones.
"""
from __future__ import annotations

import bz2
import errno
import gzip
import importlib
import io as _io
import os
import re
import zipfile
from dataclasses import dataclass
from typing import IO, Any, Union

import numpy as np
import scipy.io
import scipy.sparse

__all__ = [
    "MatrixFileError",
    "MatrixMarketError",
    "mmread",
    "mmwrite",
    "mminfo",
    "load_npz",
    "save_npz",
]

PathOrFile = Union[str, "os.PathLike[str]", IO[bytes]]


class MatrixFileError(ValueError):
    """A matrix file exists but cannot be read: its content is invalid."""


class MatrixMarketError(MatrixFileError):
    """A Matrix Market file is malformed; the message names the file and the problem."""


# ----------------------------------------------------------------------------
# banner and size line
# ----------------------------------------------------------------------------
_OBJECTS = ("matrix", "vector")
_FORMATS = ("coordinate", "array")
_FIELDS = ("real", "double", "complex", "integer", "unsigned-integer", "pattern")
_SYMMETRIES = ("general", "symmetric", "skew-symmetric", "hermitian")
_BANNER = b"%%MatrixMarket"
_MAX_HEADER_LINES = 100_000  # comment lines before the size line, to never loop on junk
_WS_BYTES = b" \t\n\r\x0b\x0c"  # what the bytes regex \s and str.split() treat as space


@dataclass(frozen=True)
class _Header:
    rows: int
    cols: int
    entries: int  # declared entries (coordinate) or stored values (array)
    format: str
    field: str
    symmetry: str
    body_offset: int  # byte offset of the first data line
    body_line: int  # 1-based line number of the first data line

    @property
    def values_per_entry(self) -> int:
        return {"pattern": 0, "complex": 2}.get(self.field, 1)

    @property
    def tokens_per_entry(self) -> int:
        return (2 if self.format == "coordinate" else 0) + self.values_per_entry


def _entry_layout(hdr: _Header) -> str:
    """What one data line must hold, in words, for error messages."""
    if hdr.format == "coordinate":
        vals = {0: "", 1: " value", 2: " real imag"}[hdr.values_per_entry]
        return f"'row col{vals}'"
    return "'real imag'" if hdr.field == "complex" else "'value'"


def _decode(b: bytes, limit: int = 60) -> str:
    s = b.decode("utf-8", errors="replace").strip()
    return s if len(s) <= limit else s[: limit - 3] + "..."


def _parse_header(f: IO[bytes], name: str) -> _Header:
    """Read and validate the banner and the size line from binary stream ``f``."""

    def fail(line: int, msg: str):
        raise MatrixMarketError(f"{name}: line {line}: {msg}")

    first = f.readline()
    if not first:
        fail(1, "empty file, not a Matrix Market file (no '%%MatrixMarket' banner)")
    words = first.split()
    if not words or words[0] != _BANNER:
        fail(
            1,
            "not a Matrix Market file: the first line must be the banner "
            f"'%%MatrixMarket matrix <format> <field> <symmetry>', got '{_decode(first)}'",
        )
    quals = [w.decode("ascii", errors="replace").lower() for w in words[1:]]
    if len(quals) != 4:
        fail(
            1,
            f"banner has {len(quals)} word(s) after '%%MatrixMarket', expected 4: "
            "object format field symmetry (e.g. 'matrix coordinate real general')",
        )
    obj, fmt, field, sym = quals
    for what, word, allowed in (
        ("object", obj, _OBJECTS),
        ("format", fmt, _FORMATS),
        ("field", field, _FIELDS),
        ("symmetry", sym, _SYMMETRIES),
    ):
        if word not in allowed:
            fail(1, f"invalid {what} '{word}' in the banner; expected one of {', '.join(allowed)}")
    if obj == "vector":
        fail(1, "'vector' objects are not supported; only 'matrix' files can be read")
    if fmt == "array" and field == "pattern":
        fail(1, "invalid banner: 'array' format with 'pattern' field (an array stores values; "
                "a pattern matrix must use 'coordinate')")
    if field == "pattern" and sym in ("hermitian", "skew-symmetric"):
        fail(1, f"invalid banner: 'pattern' field with '{sym}' symmetry (a pattern has no "
                "values to conjugate or negate)")
    if sym == "hermitian" and field != "complex":
        fail(1, f"invalid banner: 'hermitian' symmetry needs the 'complex' field, got '{field}'")
    if field == "unsigned-integer" and sym == "skew-symmetric":
        fail(1, "invalid banner: 'unsigned-integer' values cannot be 'skew-symmetric'")

    lineno = 1
    while True:
        line = f.readline()
        lineno += 1
        if not line:
            fail(lineno, "missing size line: the file ends after the banner and comments")
        stripped = line.strip()
        if stripped and not stripped.startswith(b"%"):
            break
        if lineno > _MAX_HEADER_LINES:
            fail(lineno, f"no size line within the first {_MAX_HEADER_LINES} lines")
    nums = stripped.split()
    want = 3 if fmt == "coordinate" else 2
    layout = "'rows cols entries'" if want == 3 else "'rows cols'"
    if len(nums) != want or not all(n.isdigit() for n in nums):
        fail(
            lineno,
            f"invalid size line '{_decode(stripped)}': "
            f"{'an array' if fmt == 'array' else 'a coordinate'} file needs {layout} "
            "as non-negative integers",
        )
    rows, cols = int(nums[0]), int(nums[1])
    if sym != "general" and rows != cols:
        fail(lineno, f"a {sym} matrix must be square, but the size line declares {rows} x {cols}")
    if fmt == "coordinate":
        entries = int(nums[2])
    elif sym == "general":
        entries = rows * cols
    elif sym == "skew-symmetric":
        entries = rows * (rows - 1) // 2
    else:
        entries = rows * (rows + 1) // 2
    return _Header(rows, cols, entries, fmt, field, sym, f.tell(), lineno + 1)


# ----------------------------------------------------------------------------
# data section
# ----------------------------------------------------------------------------
# SciPy's reader takes no leading '+': accept '-' only, so the error is ours and clear
_UINT = rb"\d+"
_INT = rb"-?\d+"
_FLOAT = (
    rb"-?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?"
    rb"|[iI][nN][fF](?:[iI][nN][iI][tT][yY])?|[nN][aA][nN])"
)
# Longest prefix of valid tokens (each followed by space or the end); possessive
# and atomic so that the match runs in one pass without backtracking.
_VALID_UINT_PREFIX = re.compile(rb"\s*+(?:(?>" + _UINT + rb")(?:\s++|\Z))*+")
_VALID_INT_PREFIX = re.compile(rb"\s*+(?:(?>" + _INT + rb")(?:\s++|\Z))*+")
_VALID_FLOAT_PREFIX = re.compile(rb"\s*+(?:(?>" + _FLOAT + rb")(?:\s++|\Z))*+")
_IS_WS = np.zeros(256, dtype=bool)
_IS_WS[list(_WS_BYTES)] = True
_IS_DIGIT_OR_WS = _IS_WS.copy()
_IS_DIGIT_OR_WS[list(b"0123456789")] = True


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _count_tokens(body: bytes) -> int:
    if not body:
        return 0
    ws = _IS_WS[np.frombuffer(body, dtype=np.uint8)]
    return int(np.count_nonzero(ws[:-1] & ~ws[1:])) + int(not ws[0])


def _line_at(data: bytes, hdr: _Header, pos: int) -> int:
    return hdr.body_line + data.count(b"\n", hdr.body_offset, pos)


def _validate_body(data: bytes, hdr: _Header, name: str) -> None:
    """Check every token's syntax and the number of tokens, before SciPy parses."""
    start = hdr.body_offset
    body = memoryview(data)[start:]
    unsigned_only = hdr.field in ("pattern", "unsigned-integer")
    integer_only = unsigned_only or hdr.field == "integer"
    if integer_only and bool(np.all(_IS_DIGIT_OR_WS[np.frombuffer(body, dtype=np.uint8)])):
        pass  # only digits and spaces: every token is a valid unsigned integer
    else:
        prefix = (
            _VALID_UINT_PREFIX if unsigned_only
            else _VALID_INT_PREFIX if integer_only
            else _VALID_FLOAT_PREFIX
        )
        m = prefix.match(data, start)
        if m.end() != len(data):
            tok = re.match(rb"\S+", data[m.end():m.end() + 200]).group()
            line = _line_at(data, hdr, m.end())
            if tok.startswith(b"%"):
                raise MatrixMarketError(
                    f"{name}: line {line}: comment line inside the data section "
                    "(comments are only allowed before the size line)"
                )
            if hdr.field == "pattern":
                what = "a non-negative integer index (a pattern file holds 'row col' per line)"
            elif unsigned_only:
                what = "a non-negative integer (an 'unsigned-integer' file holds only those)"
            elif integer_only:
                what = "an integer (values of an 'integer' file and indices are integers)"
            else:
                what = "a number"
            hint = " (a leading '+' is not accepted)" if tok.startswith(b"+") else ""
            raise MatrixMarketError(f"{name}: line {line}: '{_decode(tok)}' is not {what}{hint}")
    k = hdr.tokens_per_entry
    found = _count_tokens(body)
    if found == hdr.entries * k:
        return
    # Error path only (the body is at most as long as the file, and a huge
    # declared size with a short file is caught here before SciPy allocates):
    # find the first line that does not hold k numbers.
    line = hdr.body_line
    n_lines = 0
    for raw in bytes(body).split(b"\n"):
        n = len(raw.split())
        if n:
            n_lines += 1
            if n != k:
                raise MatrixMarketError(
                    f"{name}: line {line}: expected {k} number(s) per line, "
                    f"{_entry_layout(hdr)} for a {hdr.format} {hdr.field} file, found {n}"
                )
        line += 1
    raise MatrixMarketError(
        f"{name}: the size line declares {_plural(hdr.entries, 'entry', 'entries')} "
        f"({hdr.rows} x {hdr.cols}) but the data section holds {n_lines}"
    )


def _explain_scipy_error(exc: BaseException, hdr: _Header) -> str:
    """SciPy's message, with the line number first and a hint where one helps."""
    msg = str(exc).strip() or type(exc).__name__
    m = re.match(r"Line (\d+):\s*(.*)", msg, re.S)
    prefix, text = (f"line {m.group(1)}: ", m.group(2)) if m else ("", msg)
    text = text.rstrip(". ")
    if "out of bounds" in text:
        text += (
            f" (indices are 1-based and the size line declares {hdr.rows} x {hdr.cols})"
        )
    elif "too big" in text or "maximum possible size" in text:
        text = f"the declared size {hdr.rows} x {hdr.cols} is too large to hold ({text})"
    elif isinstance(exc, OverflowError):
        text += " (integer values must fit in 64 bits)"
    return prefix + text[:1].lower() + text[1:]


def _find_duplicate(row: np.ndarray, col: np.ndarray, ncols: int):
    if row.size < 2:
        return None
    if ncols and int(row.max(initial=0)) < np.iinfo(np.int64).max // max(ncols, 1):
        key = row.astype(np.int64) * ncols + col.astype(np.int64)
        order = np.argsort(key, kind="stable")
        same = key[order][1:] == key[order][:-1]
    else:
        order = np.lexsort((col, row))
        same = (row[order][1:] == row[order][:-1]) & (col[order][1:] == col[order][:-1])
    hit = np.flatnonzero(same)
    if hit.size == 0:
        return None
    i = order[hit[0]]
    return int(row[i]) + 1, int(col[i]) + 1


def _check_entries(a, hdr: _Header, name: str, duplicates: str):
    """Structural checks on what SciPy read; returns the (possibly summed) result."""
    if isinstance(a, np.ndarray):
        if hdr.symmetry == "hermitian":
            bad = np.flatnonzero(np.diagonal(a).imag != 0)
            if bad.size:
                i = int(bad[0]) + 1
                raise MatrixMarketError(
                    f"{name}: hermitian matrix has a diagonal entry at ({i}, {i}) with a "
                    "non-zero imaginary part"
                )
        return a
    row, col = a.coords if hasattr(a, "coords") else (a.row, a.col)
    if duplicates == "error":
        dup = _find_duplicate(row, col, hdr.cols)
        if dup is not None:
            extra = (
                f" (a {hdr.symmetry} file stores one triangle; storing both (i, j) and "
                "(j, i) counts as a duplicate)"
                if hdr.symmetry != "general"
                else ""
            )
            raise MatrixMarketError(
                f"{name}: duplicate entry at (row {dup[0]}, column {dup[1]}){extra}; "
                "pass duplicates='sum' to add duplicates up as scipy.io.mmread does"
            )
    else:
        a.sum_duplicates()
        row, col = a.coords
    if hdr.symmetry in ("skew-symmetric", "hermitian"):
        diag = row == col
        vals = a.data[diag]
        bad = vals != 0 if hdr.symmetry == "skew-symmetric" else vals.imag != 0
        if np.any(bad):
            i = int(row[diag][np.argmax(bad)]) + 1
            what = (
                "a non-zero diagonal entry at ({i}, {i}) (its diagonal must be zero)"
                if hdr.symmetry == "skew-symmetric"
                else "a diagonal entry at ({i}, {i}) with a non-zero imaginary part"
            ).format(i=i)
            raise MatrixMarketError(f"{name}: {hdr.symmetry} matrix has {what}")
    return a


# ----------------------------------------------------------------------------
# sources and targets
# ----------------------------------------------------------------------------
def _source_name(source: Any) -> str:
    if isinstance(source, (str, bytes, os.PathLike)):
        return os.fsdecode(source)
    return str(getattr(source, "name", "<stream>"))


def _is_path(source: Any) -> bool:
    return isinstance(source, (str, bytes, os.PathLike))


def _open_binary(source: Any, name: str, what: str) -> IO[bytes]:
    """Open ``source`` for binary reading; ``.gz``/``.bz2`` paths are decompressed."""
    if _is_path(source):
        path = os.fspath(source)
        if not os.path.exists(path):
            raise FileNotFoundError(errno.ENOENT, f"{what} not found", name)
        if os.path.isdir(path):
            raise IsADirectoryError(errno.EISDIR, f"{what} is a directory", name)
        if name.endswith(".gz"):
            return gzip.open(path, "rb")
        if name.endswith(".bz2"):
            return bz2.open(path, "rb")
        return open(path, "rb")
    if hasattr(source, "read"):
        return source
    raise TypeError(
        f"source must be a file name (str or pathlib.Path) or a binary file object, "
        f"got {type(source).__name__}"
    )


def _read_all(source: Any, name: str) -> bytes:
    f = _open_binary(source, name, "Matrix Market file")
    try:
        data = f.read()
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise MatrixMarketError(f"{name}: cannot read the file: {exc}") from exc
    finally:
        if f is not source:
            f.close()
    if isinstance(data, str):
        data = data.encode("utf-8")
    return data


def _sl():
    # imported at call time: sparsela/__init__ may import this module
    return importlib.import_module("sparsela")


# ----------------------------------------------------------------------------
# public functions
# ----------------------------------------------------------------------------
def mminfo(source: PathOrFile) -> tuple[int, int, int, str, str, str]:
    """Return size and storage parameters from a Matrix Market file's header.

    Only the banner and the size line are read and validated (see the module
    documentation); the data section is checked by :func:`mmread`.

    Parameters
    ----------
    source : str, pathlib.Path or binary file object
        Matrix Market file name (``.gz`` and ``.bz2`` are decompressed) or an
        open file.

    Returns
    -------
    rows, cols : int
        Number of matrix rows and columns.
    entries : int
        Entries stored in a coordinate file, ``rows * cols`` for an array file.
    format : str
        ``'coordinate'`` or ``'array'``.
    field : str
        ``'real'``, ``'complex'``, ``'pattern'``, ``'integer'``,
        ``'unsigned-integer'`` or ``'double'``.
    symmetry : str
        ``'general'``, ``'symmetric'``, ``'skew-symmetric'`` or ``'hermitian'``.

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    MatrixMarketError
        The banner or the size line is invalid.
    """
    name = _source_name(source)
    f = _open_binary(source, name, "Matrix Market file")
    try:
        start = f.tell() if f is source else 0
        _parse_header(f, name)
        end = f.tell()
        f.seek(start)
        header = f.read(end - start)
    except (OSError, EOFError) as exc:
        raise MatrixMarketError(f"{name}: cannot read the file: {exc}") from exc
    finally:
        if f is not source:
            f.close()
    try:
        return scipy.io.mminfo(_io.BytesIO(header))
    except (ValueError, OverflowError, RuntimeError) as exc:  # pragma: no cover - validated above
        raise MatrixMarketError(f"{name}: {exc}") from exc


def mmread(source: PathOrFile, *, duplicates: str = "error"):
    """Read a Matrix Market file into a sparsela COO array (or a dense array).

    The file is validated before and after :func:`scipy.io.mmread` parses it;
    see the module documentation for what is rejected.

    Parameters
    ----------
    source : str, pathlib.Path or binary file object
        Matrix Market file name (``.gz`` and ``.bz2`` are decompressed) or an
        open binary file.
    duplicates : {'error', 'sum'}, default 'error'
        What to do when a coordinate file lists the same position twice:
        reject the file, or add the values up (SciPy's behaviour).

    Returns
    -------
    sparsela.coo_array or numpy.ndarray
        A COO array for ``coordinate`` files (symmetric storage expanded to the
        full matrix, no duplicate entries); a dense ndarray for ``array`` files.

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    MatrixMarketError
        The file is malformed; the message names the file and the problem.

    Examples
    --------
    >>> import io, sparsela as sl
    >>> f = io.BytesIO(b"%%MatrixMarket matrix coordinate real general\\n2 2 1\\n1 2 5.0\\n")
    >>> sl.io.mmread(f).toarray()
    array([[0., 5.],
           [0., 0.]])
    """
    if duplicates not in ("error", "sum"):
        raise ValueError(f"duplicates must be 'error' or 'sum', got {duplicates!r}")
    name = _source_name(source)
    data = _read_all(source, name)
    hdr = _parse_header(_io.BytesIO(data), name)
    _validate_body(data, hdr, name)
    try:
        result = scipy.io.mmread(_io.BytesIO(data), spmatrix=False)
    except (ValueError, OverflowError, RuntimeError, IndexError) as exc:
        raise MatrixMarketError(f"{name}: {_explain_scipy_error(exc, hdr)}") from exc
    except MemoryError as exc:
        raise MatrixMarketError(
            f"{name}: the declared size {hdr.rows} x {hdr.cols} with {hdr.entries} entries "
            "does not fit in memory"
        ) from exc
    result = _check_entries(result, hdr, name, duplicates)
    if isinstance(result, np.ndarray):
        return result
    return _sl().coo_array(result)


_WRITE_FIELDS = ("real", "complex", "integer", "pattern")
_WRITE_SYMMETRIES = ("AUTO", "general", "symmetric", "skew-symmetric", "hermitian")


def _check_on_host(x, name: str, func: str) -> None:
    """Files are written from the host: a GPU array must be moved by the caller."""
    from ._device import device_of

    if device_of(x) == "gpu":
        raise TypeError(
            f"{func}: {name} lives on the GPU, but files are written from the host; "
            f"move it explicitly with {name}.get()"
        )


def _as_writable(a):
    """Return ``a`` as a SciPy sparse array or a 2-D ndarray, without modifying it."""
    _check_on_host(a, "a", "mmwrite")
    if hasattr(a, "to_scipy"):
        a = a.to_scipy()
    if scipy.sparse.issparse(a):
        if a.ndim != 2:
            raise ValueError(f"a must be 2-D, got a sparse array of shape {a.shape}")
        a = scipy.sparse.coo_array(a, copy=True)
        a.sum_duplicates()
        return a
    arr = np.asarray(a)
    if arr.ndim != 2:
        raise ValueError(f"a must be a 2-D array or sparse matrix, got shape {arr.shape}")
    if arr.dtype.kind not in "biufc":
        raise TypeError(f"a must hold numbers, got dtype {arr.dtype}")
    return arr


def _canonical_csr(m) -> scipy.sparse.csr_array:
    c = scipy.sparse.csr_array(m, copy=True)
    c.sum_duplicates()  # also sorts the indices
    c.eliminate_zeros()
    return c


def _has_symmetry(m, symmetry: str) -> bool:
    """Whether ``m`` (SciPy sparse or ndarray) equals its transpose / -transpose / adjoint."""
    if m.shape[0] != m.shape[1]:
        return False
    kind = m.dtype.kind
    if symmetry == "skew-symmetric" and kind not in "ifc":
        # bool and unsigned values cannot be negated: only the zero matrix is skew
        vals = m if isinstance(m, np.ndarray) else m.data
        return not np.any(vals)
    if symmetry == "hermitian" and kind != "c":
        symmetry = "symmetric"
    if isinstance(m, np.ndarray):
        t = m.T
        if symmetry == "skew-symmetric":
            t = -t
        elif symmetry == "hermitian":
            t = t.conj()
        return bool(np.array_equal(m, t))
    c = _canonical_csr(m)
    t = _canonical_csr(c.T)
    if symmetry == "skew-symmetric":
        t.data = -t.data
    elif symmetry == "hermitian":
        t.data = t.data.conj()
    return (
        np.array_equal(c.indptr, t.indptr)
        and np.array_equal(c.indices, t.indices)
        and np.array_equal(c.data, t.data)
    )


def _detect_symmetry(m, field: str | None) -> str:
    """The symmetry to store ``m`` with, found from its values (SciPy's order)."""
    if m.shape[0] != m.shape[1] or m.shape[0] == 0:
        return "general"
    if field == "pattern":
        s = scipy.sparse.coo_array(m)
        ones = scipy.sparse.coo_array((np.ones(s.nnz, dtype=np.int8), s.coords), shape=s.shape)
        return "symmetric" if _has_symmetry(ones, "symmetric") else "general"
    for sym in ("symmetric", "skew-symmetric", "hermitian"):
        if sym == "hermitian" and m.dtype.kind != "c":
            continue
        if _has_symmetry(m, sym):
            return sym
    return "general"


def mmwrite(
    target: PathOrFile,
    a: Any,
    comment: str = "",
    field: str | None = None,
    precision: int | None = None,
    symmetry: str | None = None,
) -> None:
    """Write a sparse or dense matrix to a Matrix Market file.

    Sparse input (sparsela or SciPy) is written in ``coordinate`` format with
    duplicate entries summed; a dense 2-D array is written in ``array`` format.
    The formatting is done by :func:`scipy.io.mmwrite`.  Unlike SciPy, the file
    name is used exactly as given (SciPy appends ``.mtx`` to any name that does
    not end with it, including ``name.mtx.gz``); names ending in ``.gz`` or
    ``.bz2`` are compressed, so that :func:`mmread` reads them back.  On an
    error while writing, the partial file is removed.

    Parameters
    ----------
    target : str, pathlib.Path or binary file object
        Where to write.
    a : sparsela array, scipy.sparse array/matrix or array_like
        The matrix (2-D).  It is not modified.
    comment : str, optional
        Comment lines to put after the banner (``%`` is prepended to each).
    field : {'real', 'complex', 'integer', 'pattern'}, optional
        Value type to write; by default taken from ``a.dtype``.  ``'integer'``
        refuses non-integral values and ``'real'``/``'integer'`` refuse complex
        values with a non-zero imaginary part instead of silently truncating.
        ``'pattern'`` writes positions only.
    precision : int, optional
        Significant digits for floating-point values (default: enough to round
        trip).
    symmetry : {None, 'AUTO', 'general', 'symmetric', 'skew-symmetric', 'hermitian'}
        Storage symmetry.  ``None`` detects it from the values (as SciPy, but
        vectorised; with ``field='pattern'`` from the positions only);
        ``'AUTO'`` detects it for matrices smaller than 100 x 100 and writes
        ``'general'`` otherwise (SciPy's rule).  An explicit symmetry other than
        ``'general'`` is checked against ``a`` (``ValueError`` if ``a`` does
        not have it), because only one triangle is written.

    Raises
    ------
    ValueError, TypeError
        Invalid arguments.
    """
    if comment is None:
        comment = ""
    if not isinstance(comment, str):
        raise TypeError(f"comment must be a str, got {type(comment).__name__}")
    if field is not None and field not in _WRITE_FIELDS:
        raise ValueError(f"field must be None or one of {', '.join(_WRITE_FIELDS)}; got {field!r}")
    if symmetry is not None and symmetry not in _WRITE_SYMMETRIES:
        raise ValueError(
            f"symmetry must be None or one of {', '.join(_WRITE_SYMMETRIES)}; got {symmetry!r}"
        )
    if precision is not None:
        if isinstance(precision, bool) or not isinstance(precision, (int, np.integer)):
            raise TypeError(f"precision must be a positive int or None, got {precision!r}")
        if precision < 1:
            raise ValueError(f"precision must be >= 1, got {precision}")
        precision = int(precision)
    if not (_is_path(target) or hasattr(target, "write")):
        raise TypeError(
            f"target must be a file name (str or pathlib.Path) or a binary file object, "
            f"got {type(target).__name__}"
        )
    if field == "pattern" and symmetry in ("skew-symmetric", "hermitian"):
        raise ValueError(f"field='pattern' cannot be combined with symmetry={symmetry!r}")
    m = _as_writable(a)
    vals = m if isinstance(m, np.ndarray) else m.data
    if field in ("real", "integer") and vals.dtype.kind == "c" and np.any(vals.imag != 0):
        raise ValueError(f"field={field!r} would drop the non-zero imaginary parts of a")
    if field == "integer" and vals.dtype.kind in "fc":
        re_ = vals.real
        if not np.all(np.isfinite(re_)) or np.any(re_ != np.round(re_)):
            raise ValueError(
                "field='integer' would truncate non-integer (or non-finite) values of a"
            )
    if symmetry in ("symmetric", "skew-symmetric", "hermitian"):
        if m.shape[0] != m.shape[1]:
            raise ValueError(f"symmetry={symmetry!r} needs a square matrix, got shape {m.shape}")
        if symmetry == "hermitian" and field in ("real", "integer", "pattern"):
            raise ValueError(f"symmetry='hermitian' needs complex values, but field={field!r}")
        if not _has_symmetry(m, symmetry):
            raise ValueError(
                f"symmetry={symmetry!r} but a is not {symmetry}; only one triangle "
                "would be written (use symmetry='general' or None)"
            )
    if isinstance(m, np.ndarray) and field == "pattern":
        raise ValueError("field='pattern' needs a sparse matrix; dense arrays are written "
                         "in 'array' format, which has no pattern field")
    if symmetry == "AUTO":  # SciPy's rule: look for symmetry in small matrices only
        symmetry = None if max(m.shape) < 100 else "general"
    if symmetry is None:
        symmetry = _detect_symmetry(m, field)
    kwargs = dict(comment=comment, field=field, precision=precision, symmetry=symmetry)
    if not _is_path(target):
        scipy.io.mmwrite(target, m, **kwargs)
        return
    path = os.fspath(target)
    name = os.fsdecode(path)
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise FileNotFoundError(errno.ENOENT, "directory does not exist", os.fsdecode(parent))
    if name.endswith(".gz"):
        f = gzip.open(path, "wb")
    elif name.endswith(".bz2"):
        f = bz2.open(path, "wb")
    else:
        f = open(path, "wb")
    try:
        with f:
            scipy.io.mmwrite(f, m, **kwargs)
    except BaseException:
        # never leave a partial file behind
        try:
            os.remove(path)
        except OSError:
            pass
        raise


def load_npz(file: PathOrFile):
    """Load a sparse matrix saved with :func:`save_npz` (or SciPy's).

    Parameters
    ----------
    file : str, pathlib.Path or file object
        The ``.npz`` file.

    Returns
    -------
    sparsela array
        In the stored format where sparsela has it (``csr``, ``csc``, ``coo``
        ...), otherwise converted to CSR.

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    MatrixFileError
        The file is not a sparse-matrix ``.npz`` file.
    """
    name = _source_name(file)
    if _is_path(file):
        path = os.fspath(file)
        if not os.path.exists(path):
            raise FileNotFoundError(errno.ENOENT, "npz file not found", name)
        if os.path.isdir(path):
            raise IsADirectoryError(errno.EISDIR, "npz file is a directory", name)
    try:
        m = scipy.sparse.load_npz(file)
    except (ValueError, KeyError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise MatrixFileError(f"{name}: not a sparse matrix .npz file ({exc})") from exc
    if m.ndim != 2:
        raise MatrixFileError(f"{name}: holds a {m.ndim}-D sparse array; sparsela arrays are 2-D")
    sl = _sl()
    cls = getattr(sl, f"{m.format}_array", None)
    if cls is None:
        return sl.csr_array(m.tocsr())
    return cls(m)


def save_npz(file: PathOrFile, matrix: Any, compressed: bool = True) -> None:
    """Save a sparse matrix to a ``.npz`` file with :func:`scipy.sparse.save_npz`.

    Parameters
    ----------
    file : str, pathlib.Path or file object
        Destination; ``.npz`` is appended to a file name without it (NumPy's rule).
    matrix : sparsela array or scipy.sparse array/matrix
        The matrix to save, in its own format.
    compressed : bool, default True
        Compress the archive.

    Raises
    ------
    TypeError
        ``matrix`` is not sparse, or lives on the GPU (move it with ``.get()``).
    """
    _check_on_host(matrix, "matrix", "save_npz")
    if hasattr(matrix, "to_scipy"):
        matrix = matrix.to_scipy()
    if not scipy.sparse.issparse(matrix):
        raise TypeError(
            f"matrix must be a sparsela or scipy.sparse array, got {type(matrix).__name__} "
            "(use numpy.save for dense arrays)"
        )
    if not isinstance(compressed, (bool, np.bool_)):
        raise TypeError(f"compressed must be a bool, got {compressed!r}")
    if _is_path(file):
        parent = os.path.dirname(os.path.abspath(os.fspath(file)))
        if not os.path.isdir(parent):
            raise FileNotFoundError(errno.ENOENT, "directory does not exist", parent)
    scipy.sparse.save_npz(file, matrix, compressed=bool(compressed))
