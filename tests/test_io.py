"""Tests of sparsela.io: Matrix Market validation, round trips, .npz."""
from __future__ import annotations

import gzip
import io
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sparsela as sl
from sparsela import io as slio
from sparsela.io import MatrixFileError, MatrixMarketError

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
REAL = DATA / "real"
MALFORMED = DATA / "malformed"


def _need(folder: Path) -> Path:
    if not folder.is_dir():
        pytest.skip(reason=f"shared test data not found at {folder}")
    return folder


def _canon(m) -> sp.csr_array:
    """SciPy CSR with sorted indices and duplicates summed, for exact comparisons."""
    if hasattr(m, "to_scipy"):
        m = m.to_scipy()
    c = sp.csr_array(m, copy=True)
    c.sum_duplicates()
    return c


def assert_same_matrix(a, b, *, check_dtype: bool = True):
    if isinstance(b, np.ndarray) or isinstance(a, np.ndarray):
        assert isinstance(a, np.ndarray) and isinstance(b, np.ndarray)
        np.testing.assert_array_equal(a, b)
        if check_dtype:
            assert a.dtype == b.dtype
        return
    x, y = _canon(a), _canon(b)
    assert x.shape == y.shape
    np.testing.assert_array_equal(x.indptr, y.indptr)
    np.testing.assert_array_equal(x.indices, y.indices)
    np.testing.assert_array_equal(x.data, y.data)
    if check_dtype:
        assert x.dtype == y.dtype


def _write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode() if isinstance(text, str) else text)
    return p


# ----------------------------------------------------------------------------
# the shared malformed files
# ----------------------------------------------------------------------------
MALFORMED_EXPECTED = {
    # file: (what the message must say, rejected by mminfo too?)
    "mangled1.mtx": ("invalid object 'mangled'", True),
    "mangled2.mtx": ("invalid format 'mangled'", True),
    "mangled3.mtx": ("invalid field 'mangled'", True),
    "mangled4.mtx": ("invalid symmetry 'mangled'", True),
    "mangled5.mtx": ("'pattern' field with 'hermitian' symmetry", True),  # scipy accepts it
    "mangled6.mtx": ("'hermitian' symmetry needs the 'complex' field", True),  # scipy accepts it
    "mangled7.mtx": ("line 5: expected 3 number(s) per line", False),  # header is valid
    "mangled8.mtx": ("line 4: invalid size line '3'", True),
    "mangled9.mtx": ("must be square", True),
    "mangled_format.mtx": ("'array' format with 'pattern' field", True),
}


@pytest.mark.parametrize("name", sorted(MALFORMED_EXPECTED))
def test_malformed_file_rejected_with_reason(name):
    path = _need(MALFORMED) / name
    expected, header_level = MALFORMED_EXPECTED[name]
    with pytest.raises(MatrixMarketError) as exc:
        slio.mmread(path)
    msg = str(exc.value)
    assert name in msg
    assert expected in msg
    assert isinstance(exc.value, ValueError)
    if header_level:
        with pytest.raises(MatrixMarketError, match=name):
            slio.mminfo(path)
    else:
        assert slio.mminfo(path)[:3] == (3, 3, 3)


def test_every_malformed_file_rejected():
    files = sorted(_need(MALFORMED).glob("*.mtx"))
    assert files
    for path in files:
        with pytest.raises(MatrixMarketError, match=path.name):
            slio.mmread(str(path))  # str paths work as well as Path


# ----------------------------------------------------------------------------
# the shared valid files
# ----------------------------------------------------------------------------
REAL_NNZ = {
    "bcsstk13.mtx": 83883, "pushpull.mtx": 196305, "cryg2500.mtx": 12349,
    "zenios.mtx": 27191, "jagmesh7.mtx": 7450, "west0067.mtx": 294, "karate.mtx": 156,
    "dnn-n1024-l1.mtx": 32768, "dnn-n1024-l2.mtx": 32768, "dnn-n1024-l3.mtx": 32768,
    "dnn-sparse-images-1024_subset.mtx": 122713, "skew_int8.mtx": 20, "empty.mtx": 0,
}


def _real_files():
    if not REAL.is_dir():
        return ["<missing>"]
    return sorted(p.name for p in REAL.glob("*.mtx"))


@pytest.mark.parametrize("name", _real_files())
def test_real_file_matches_scipy(name):
    path = _need(REAL) / name
    got = slio.mmread(path)
    ref = scipy.io.mmread(path)
    assert slio.mminfo(path) == scipy.io.mminfo(path)
    if isinstance(ref, np.ndarray):
        assert isinstance(got, np.ndarray)
    else:
        assert isinstance(got, sl.coo_array)
        assert got.format == "coo"
        if name in REAL_NNZ:
            assert got.nnz == REAL_NNZ[name]
    assert_same_matrix(got, ref)


@pytest.mark.parametrize("name", _real_files())
def test_real_file_round_trip(name, tmp_path):
    path = _need(REAL) / name
    a = slio.mmread(path)
    out = tmp_path / "out.mtx"
    slio.mmwrite(out, a)
    assert_same_matrix(slio.mmread(out), a)
    # the banner keeps the symmetry of the original (detected from the values)
    assert slio.mminfo(out)[5] == slio.mminfo(path)[5]
    if slio.mminfo(path)[4] == "pattern":
        slio.mmwrite(out, a, field="pattern")
        assert slio.mminfo(out)[4] == "pattern"
        assert_same_matrix(slio.mmread(out), a)


def test_known_values():
    skew = slio.mmread(_need(REAL) / "skew_int8.mtx").toarray()
    assert skew.dtype == np.int64
    np.testing.assert_array_equal(skew, -skew.T)
    assert skew[3, 0] == -12 and skew[0, 3] == 12
    empty = slio.mmread(REAL / "empty.mtx")
    assert empty.shape == (3, 4) and empty.nnz == 0
    c = slio.mmread(REAL / "complex.mtx")
    assert c.shape == (3, 3) and c.dtype == np.complex128
    assert c[0, 0] == 0.646 + 0.959j and c[1, 0] == 0.709 + 0.340j  # column-major storage


# ----------------------------------------------------------------------------
# synthetic files: what is rejected, what is accepted
# ----------------------------------------------------------------------------
H = "%%MatrixMarket matrix coordinate real general\n"
REJECTED = {
    "empty file": ("", "empty file"),
    "no banner": ("2 2 1\n1 1 1\n", "not a Matrix Market file"),
    "lower-case banner": ("%%matrixmarket matrix coordinate real general\n2 2 0\n",
                          "not a Matrix Market file"),
    "short banner": ("%%MatrixMarket matrix coordinate real\n2 2 0\n", "expected 4"),
    "long banner": ("%%MatrixMarket matrix coordinate real general extra\n2 2 0\n",
                    "expected 4"),
    "vector": ("%%MatrixMarket vector coordinate real general\n3 1\n1 2.0\n",
               "'vector' objects are not supported"),
    "pattern skew": ("%%MatrixMarket matrix coordinate pattern skew-symmetric\n2 2 1\n2 1\n",
                     "'pattern' field with 'skew-symmetric'"),
    "unsigned skew": ("%%MatrixMarket matrix coordinate unsigned-integer skew-symmetric\n"
                      "2 2 1\n2 1 3\n", "cannot be 'skew-symmetric'"),
    "real hermitian array": ("%%MatrixMarket matrix array real hermitian\n2 2\n1\n2\n3\n",
                             "needs the 'complex' field"),
    "only banner": (H, "missing size line"),
    "negative size": (H + "-2 2 0\n", "invalid size line"),
    "float size": (H + "2.0 2 1\n1 1 5\n", "invalid size line"),
    "size line too long": (H + "2 2 1 5\n1 1 5\n", "invalid size line"),
    "array size with nnz": ("%%MatrixMarket matrix array real general\n2 2 4\n1\n2\n3\n4\n",
                            "an array file needs 'rows cols'"),
    "non-square symmetric": ("%%MatrixMarket matrix coordinate real symmetric\n2 3 1\n1 1 1\n",
                             "must be square"),
    "too few entries": (H + "2 2 3\n1 1 1\n2 2 3\n", "declares 3 entries"),
    "too many entries": (H + "2 2 1\n1 1 1\n2 2 3\n", "declares 1 entry"),
    "huge declared nnz": (H + "2 2 100000000000\n1 1 1\n", "declares 100000000000 entries"),
    "huge array": ("%%MatrixMarket matrix array real general\n100000 100000\n1\n",
                   "declares 10000000000 entries"),
    "short array": ("%%MatrixMarket matrix array real general\n2 2\n1\n2\n3\n",
                    "declares 4 entries"),
    "long array": ("%%MatrixMarket matrix array real general\n2 2\n1\n2\n3\n4\n5\n",
                   "declares 4 entries"),
    "missing value": (H + "2 2 1\n1 1\n", "line 3: expected 3 number(s)"),
    "extra value": (H + "2 2 2\n1 1 1 7\n2 2 3\n", "line 3: expected 3 number(s) per line"),
    "pattern with values": ("%%MatrixMarket matrix coordinate pattern general\n2 2 1\n1 1 5\n",
                            "expected 2 number(s)"),
    "complex with one number": ("%%MatrixMarket matrix coordinate complex general\n2 2 1\n1 1 5\n",
                                "expected 4 number(s)"),
    "row index 0": (H + "2 2 2\n0 1 1\n2 2 3\n", "line 3: row index out of bounds"),
    "negative index": (H + "2 2 1\n-1 1 1\n", "out of bounds"),
    "row index too large": (H + "2 2 2\n1 1 1\n3 2 3\n", "line 4: row index out of bounds"),
    "column index too large": (H + "2 2 1\n1 3 1\n", "column index out of bounds"),
    "float index": (H + "2 2 1\n1.5 1 1\n", "line 3"),
    "hex integer": ("%%MatrixMarket matrix coordinate integer general\n2 2 1\n1 1 0x5\n",
                    "'0x5' is not an integer"),
    "float in integer field": ("%%MatrixMarket matrix coordinate integer general\n2 2 1\n1 1 5.5\n",
                               "'5.5' is not an integer"),
    "exponent in integer field": ("%%MatrixMarket matrix coordinate integer general\n2 2 1\n"
                                  "1 1 1e3\n", "'1e3' is not an integer"),
    "fortran exponent": (H + "2 2 1\n1 1 1d5\n", "'1d5' is not a number"),
    "two dots": (H + "2 2 1\n1 1 1.2.3\n", "'1.2.3' is not a number"),
    "word": (H + "2 2 1\n1 1 one\n", "'one' is not a number"),
    "integer overflow": ("%%MatrixMarket matrix coordinate integer general\n2 2 1\n"
                         "1 1 99999999999999999999999\n", "64 bits"),
    "negative unsigned": ("%%MatrixMarket matrix coordinate unsigned-integer general\n2 2 1\n"
                          "1 1 -5\n", "line 3: '-5' is not a non-negative integer"),
    "negative pattern index": ("%%MatrixMarket matrix coordinate pattern general\n2 2 1\n"
                               "-1 1\n", "'-1' is not a non-negative integer index"),
    "plus sign": (H + "2 2 1\n1 1 +5\n", "leading '+' is not accepted"),
    "plus sign integer": ("%%MatrixMarket matrix coordinate integer general\n2 2 1\n+1 1 5\n",
                          "'+1' is not an integer"),
    "comment in data": (H + "2 2 2\n1 1 5\n% note\n2 2 1\n", "line 4: comment line"),
    "trailing comment": (H + "2 2 1\n1 1 5\n% end\n", "line 4: comment line"),
    "duplicate": (H + "2 2 3\n1 1 1\n1 1 2\n2 2 3\n", "duplicate entry at (row 1, column 1)"),
    "symmetric both triangles": ("%%MatrixMarket matrix coordinate real symmetric\n2 2 2\n"
                                 "2 1 1\n1 2 1\n", "duplicate entry"),
    "skew diagonal": ("%%MatrixMarket matrix coordinate real skew-symmetric\n2 2 2\n1 1 1\n"
                      "2 1 3\n", "non-zero diagonal entry at (1, 1)"),
    "hermitian diagonal": ("%%MatrixMarket matrix coordinate complex hermitian\n2 2 2\n"
                           "1 1 1 1\n2 1 2 3\n", "diagonal entry at (1, 1) with a non-zero imag"),
    "hermitian array diagonal": ("%%MatrixMarket matrix array complex hermitian\n2 2\n"
                                 "1 1\n2 3\n4 0\n", "diagonal entry at (1, 1)"),
    "binary junk": (b"\x00\x01\x02garbage\xff\n", "not a Matrix Market file"),
}


@pytest.mark.parametrize("case", sorted(REJECTED))
def test_malformed_synthetic(case, tmp_path):
    text, expected = REJECTED[case]
    path = _write(tmp_path, "bad.mtx", text)
    with pytest.raises(MatrixMarketError) as exc:
        slio.mmread(path)
    assert str(path) in str(exc.value)
    assert expected in str(exc.value)


ACCEPTED = {
    "upper-case words": "%%MatrixMarket MATRIX Coordinate REAL General\n2 2 1\n1 1 5\n",
    "crlf": "%%MatrixMarket matrix coordinate real general\r\n2 2 1\r\n1 1 5\r\n",
    "tabs": "%%MatrixMarket\tmatrix coordinate real general\n2\t2 1\n1\t1 5\n",
    "blank lines": H + "\n% comment\n\n2 2 2\n\n1 1 5\n2 1 -3e-2\n\n",
    "no final newline": H + "2 2 1\n1 1 5",
    "double field": "%%MatrixMarket matrix coordinate double general\n2 2 1\n1 2 5\n",
    "unsigned": "%%MatrixMarket matrix coordinate unsigned-integer general\n2 2 1\n1 1 5\n",
    "nan and inf": H + "2 2 3\n1 1 nan\n2 2 -inf\n1 2 Infinity\n",
    "number forms": H + "2 2 4\n1 1 .5\n1 2 5.\n2 1 -1.5E+3\n2 2 7e-2\n",
    "symmetric upper triangle": ("%%MatrixMarket matrix coordinate real symmetric\n3 3 2\n"
                                 "1 2 1\n3 3 3\n"),
    "skew explicit zero diagonal": ("%%MatrixMarket matrix coordinate integer skew-symmetric\n"
                                    "2 2 2\n1 1 0\n2 1 4\n"),
    "hermitian": ("%%MatrixMarket matrix coordinate complex hermitian\n2 2 2\n1 1 1 0\n"
                  "2 1 2 3\n"),
    "explicit zero": H + "2 2 1\n1 1 0\n",
    "empty 0x0": H + "0 0 0\n",
    "symmetric array": "%%MatrixMarket matrix array real symmetric\n2 2\n1\n2\n3\n",
    "skew array": "%%MatrixMarket matrix array real skew-symmetric\n3 3\n1\n2\n3\n",
}


@pytest.mark.parametrize("case", sorted(ACCEPTED))
def test_valid_synthetic_matches_scipy(case, tmp_path):
    path = _write(tmp_path, "ok.mtx", ACCEPTED[case])
    got = slio.mmread(path)
    ref = scipy.io.mmread(path)
    if isinstance(ref, np.ndarray):
        np.testing.assert_array_equal(got, ref)
        assert got.dtype == ref.dtype
    else:
        x, y = _canon(got), _canon(ref)
        assert x.shape == y.shape and x.dtype == y.dtype
        np.testing.assert_array_equal(x.indices, y.indices)
        np.testing.assert_array_equal(x.data, y.data)  # NaN == NaN here


def test_symmetric_expanded():
    a = slio.mmread(io.BytesIO(ACCEPTED["symmetric upper triangle"].encode()))
    np.testing.assert_array_equal(a.toarray(), [[0, 1, 0], [1, 0, 0], [0, 0, 3]])
    h = slio.mmread(io.BytesIO(ACCEPTED["hermitian"].encode())).toarray()
    np.testing.assert_array_equal(h, [[1, 2 - 3j], [2 + 3j, 0]])


def test_duplicates_sum_option(tmp_path):
    path = _write(tmp_path, "dup.mtx", REJECTED["duplicate"][0])
    got = slio.mmread(path, duplicates="sum")
    assert got.nnz == 2
    np.testing.assert_array_equal(got.toarray(), scipy.io.mmread(path).toarray())
    np.testing.assert_array_equal(got.toarray(), [[3, 0], [0, 3]])
    with pytest.raises(ValueError, match="duplicates"):
        slio.mmread(path, duplicates="last")


def test_sources_and_missing_files(tmp_path):
    text = H + "2 3 1\n2 3 7.5\n"
    p = _write(tmp_path, "a.mtx", text)
    for source in (p, str(p), io.BytesIO(text.encode())):
        np.testing.assert_array_equal(slio.mmread(source).toarray(), [[0, 0, 0], [0, 0, 7.5]])
    assert slio.mminfo(io.BytesIO(text.encode())) == (2, 3, 1, "coordinate", "real", "general")
    gz = tmp_path / "a.mtx.gz"
    gz.write_bytes(gzip.compress(text.encode()))
    assert slio.mmread(gz).nnz == 1
    gz_bad = _write(tmp_path, "bad.mtx.gz", b"not gzip")
    with pytest.raises(MatrixMarketError, match="bad.mtx.gz"):
        slio.mmread(gz_bad)
    missing = tmp_path / "nope.mtx"
    for fn in (slio.mmread, slio.mminfo, slio.load_npz):
        with pytest.raises(FileNotFoundError, match="nope.mtx"):
            fn(missing)
    with pytest.raises(IsADirectoryError):
        slio.mmread(tmp_path)
    with pytest.raises(TypeError, match="source"):
        slio.mmread(42)


# ----------------------------------------------------------------------------
# mmwrite
# ----------------------------------------------------------------------------
def _random(shape, dtype, density=0.3, seed=0):
    rng = np.random.default_rng(seed)
    a = sp.random_array(shape, density=density, rng=rng, format="coo", dtype=np.float64)
    if np.dtype(dtype).kind in "iu":
        a.data = rng.integers(1, 100, a.nnz).astype(np.float64)
    elif np.dtype(dtype).kind == "c":
        a = a.astype(np.complex128)
        a.data = a.data + 1j * rng.standard_normal(a.nnz)
    elif np.dtype(dtype).kind == "b":
        a.data = np.ones(a.nnz)
    return sl.coo_array(a.astype(dtype))


@pytest.mark.parametrize(
    "dtype", [np.float64, np.float32, np.complex128, np.complex64, np.int64, np.int8, np.uint16]
)
def test_round_trip_dtypes(dtype, tmp_path):
    a = _random((7, 5), dtype)
    out = tmp_path / "a.mtx"
    slio.mmwrite(out, a)
    b = slio.mmread(out)
    kind = np.dtype(dtype).kind
    # SciPy writes every integer dtype with the 'integer' field, read back as int64
    assert b.dtype == {"f": np.float64, "c": np.complex128, "i": np.int64, "u": np.int64}[kind]
    assert b.shape == a.shape
    np.testing.assert_array_equal(b.toarray().astype(dtype), a.toarray())


@pytest.mark.parametrize("dtype", [np.float64, np.complex128, np.int64])
def test_round_trip_symmetric_kinds(dtype, tmp_path):
    base = _random((6, 6), dtype, seed=3).toarray()
    cases = {"symmetric": base + base.T, "skew-symmetric": base - base.T}
    if np.dtype(dtype).kind == "c":
        cases["hermitian"] = base + base.conj().T
    for symmetry, m in cases.items():
        out = tmp_path / f"{symmetry}.mtx"
        slio.mmwrite(out, sl.csr_array(m))  # detected from the values
        assert slio.mminfo(out)[5] == symmetry
        np.testing.assert_array_equal(slio.mmread(out).toarray(), m)
        slio.mmwrite(out, sl.csr_array(m), symmetry=symmetry)  # given explicitly
        np.testing.assert_array_equal(slio.mmread(out).toarray(), m)
        slio.mmwrite(out, m)  # dense: array format
        assert slio.mminfo(out)[3:] == ("array", slio.mminfo(out)[4], symmetry)
        np.testing.assert_array_equal(slio.mmread(out), m)


def test_round_trip_pattern_and_fields(tmp_path):
    a = _random((5, 8), np.float64, seed=1)
    out = tmp_path / "p.mtx"
    slio.mmwrite(out, a, field="pattern")
    assert slio.mminfo(out)[4] == "pattern"
    b = slio.mmread(out)
    np.testing.assert_array_equal(b.toarray(), (a.toarray() != 0).astype(float))
    ints = sl.coo_array(np.array([[1.0, 0], [2, -3]]))
    slio.mmwrite(out, ints, field="integer")
    assert slio.mminfo(out)[4] == "integer"
    np.testing.assert_array_equal(slio.mmread(out).toarray(), [[1, 0], [2, -3]])
    slio.mmwrite(out, a, field="complex")
    assert slio.mmread(out).dtype == np.complex128


def test_round_trip_scipy_and_dense_inputs(tmp_path):
    a = _random((4, 6), np.float64, seed=2)
    out = tmp_path / "s.mtx"
    slio.mmwrite(out, a.to_scipy().tocsr())
    assert_same_matrix(slio.mmread(out), a)
    slio.mmwrite(out, sp.csr_matrix(a.to_scipy()))
    assert_same_matrix(slio.mmread(out), a)
    dense = a.toarray()
    slio.mmwrite(out, dense.tolist())
    np.testing.assert_array_equal(slio.mmread(out), dense)


def test_write_sums_duplicates_and_keeps_input(tmp_path):
    a = sl.coo_array((np.array([1.0, 2.0, 4.0]), (np.array([0, 0, 1]), np.array([1, 1, 0]))),
                     shape=(2, 2))
    before = a.data.copy()
    out = tmp_path / "d.mtx"
    slio.mmwrite(out, a, symmetry="general")
    assert slio.mminfo(out)[2] == 2
    np.testing.assert_array_equal(slio.mmread(out).toarray(), [[0, 3], [4, 0]])
    np.testing.assert_array_equal(a.data, before)


@given(
    m=st.integers(0, 12), n=st.integers(0, 12), density=st.floats(0, 1),
    dtype=st.sampled_from([np.float64, np.float32, np.int32, np.complex128]),
    seed=st.integers(0, 2**32 - 1),
)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_round_trip_property(m, n, density, dtype, seed):
    a = _random((m, n), dtype, density=density, seed=seed)
    buf = io.BytesIO()
    slio.mmwrite(buf, a)
    buf.seek(0)
    b = slio.mmread(buf)
    assert b.shape == (m, n)
    np.testing.assert_array_equal(b.toarray().astype(dtype), a.toarray())


def test_write_path_handling(tmp_path):
    a = sl.csr_array(np.eye(3))
    plain = tmp_path / "noext"
    slio.mmwrite(str(plain), a, comment="first line\nsecond line")
    assert plain.exists() and not (tmp_path / "noext.mtx").exists()  # no '.mtx' appended
    text = plain.read_text()
    assert "%first line\n%second line\n" in text
    gz = tmp_path / "c.mtx.gz"
    slio.mmwrite(gz, a)
    assert gzip.decompress(gz.read_bytes()).startswith(b"%%MatrixMarket")
    np.testing.assert_array_equal(slio.mmread(gz).toarray(), np.eye(3))
    with pytest.raises(FileNotFoundError, match="no_such_dir"):
        slio.mmwrite(tmp_path / "no_such_dir" / "x.mtx", a)


def test_precision(tmp_path):
    out = tmp_path / "p.mtx"
    slio.mmwrite(out, sl.csr_array(np.array([[np.pi]])), precision=3)
    assert slio.mmread(out).toarray()[0, 0] == pytest.approx(3.14, abs=1e-12)
    slio.mmwrite(out, sl.csr_array(np.array([[np.pi]])))  # default: round trips exactly
    assert slio.mmread(out).toarray()[0, 0] == np.pi


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(field="bogus"), ValueError, "field"),
        (dict(symmetry="bogus"), ValueError, "symmetry"),
        (dict(precision=0), ValueError, "precision"),
        (dict(precision=2.5), TypeError, "precision"),
        (dict(comment=3), TypeError, "comment"),
        (dict(symmetry="symmetric"), ValueError, "not symmetric"),
        (dict(symmetry="hermitian", field="real"), ValueError, "hermitian"),
        (dict(field="pattern", symmetry="skew-symmetric"), ValueError, "pattern"),
    ],
)
def test_mmwrite_bad_arguments(kwargs, error, match, tmp_path):
    out = tmp_path / "x.mtx"
    a = sl.csr_array(np.array([[1.0, 2.0], [3.0, 4.0]]))
    with pytest.raises(error, match=match):
        slio.mmwrite(out, a, **kwargs)
    assert not out.exists()


def test_mmwrite_refuses_lossy_fields(tmp_path):
    out = tmp_path / "x.mtx"
    with pytest.raises(ValueError, match="truncate"):
        slio.mmwrite(out, sl.csr_array(np.array([[1.5]])), field="integer")
    with pytest.raises(ValueError, match="imaginary"):
        slio.mmwrite(out, sl.csr_array(np.array([[1 + 2j]])), field="real")
    with pytest.raises(ValueError, match="square"):
        slio.mmwrite(out, sl.csr_array(np.ones((2, 3))), symmetry="symmetric")
    with pytest.raises(ValueError, match="2-D"):
        slio.mmwrite(out, np.ones(3))
    with pytest.raises(ValueError, match="pattern"):
        slio.mmwrite(out, np.ones((2, 2)), field="pattern")
    with pytest.raises(TypeError, match="target"):
        slio.mmwrite(3.5, np.ones((2, 2)))
    assert not out.exists()


# ----------------------------------------------------------------------------
# .npz
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
@pytest.mark.parametrize("compressed", [True, False])
def test_npz_round_trip(fmt, compressed, tmp_path):
    a = _random((6, 4), np.float64, seed=5).asformat(fmt)
    out = tmp_path / "a.npz"
    slio.save_npz(out, a, compressed=compressed)
    b = slio.load_npz(out)
    assert b.format == fmt
    assert isinstance(b, getattr(sl, f"{fmt}_array"))
    assert_same_matrix(b, a)
    b2 = slio.load_npz(str(out))
    assert_same_matrix(b2, a)


def test_npz_from_scipy_and_other_formats(tmp_path):
    m = sp.random_array((5, 5), density=0.4, rng=0, format="dia")
    out = tmp_path / "s.npz"
    sp.save_npz(out, m)
    b = slio.load_npz(out)
    assert b.format in ("csr", "dia")
    np.testing.assert_array_equal(b.toarray(), m.toarray())
    slio.save_npz(out, sp.csr_matrix(m))
    np.testing.assert_array_equal(slio.load_npz(out).toarray(), m.toarray())


def test_npz_errors(tmp_path):
    dense = tmp_path / "dense.npz"
    np.savez(dense, x=np.ones(3))
    with pytest.raises(MatrixFileError, match="dense.npz"):
        slio.load_npz(dense)
    junk = _write(tmp_path, "junk.npz", b"this is not a zip file")
    with pytest.raises(MatrixFileError, match="junk.npz"):
        slio.load_npz(junk)
    with pytest.raises(TypeError, match="matrix"):
        slio.save_npz(tmp_path / "x.npz", np.ones((2, 2)))
    with pytest.raises(FileNotFoundError, match="no_dir"):
        slio.save_npz(tmp_path / "no_dir" / "x.npz", sl.csr_array(np.eye(2)))
