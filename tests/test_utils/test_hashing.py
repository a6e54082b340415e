"""msfam_mm.utils.hashing: one file digest for run records and caches."""
import hashlib

from msfam_mm.utils.hashing import file_sha256


def test_file_sha256_reads_in_blocks(tmp_path):
    data = bytes(range(256)) * 10 + b'tail'
    path = tmp_path / 'w.pth'
    path.write_bytes(data)
    expect = hashlib.sha256(data).hexdigest()
    # blocks smaller than the file, one byte, and larger than the file
    for chunk in (7, 1, 1 << 20):
        assert file_sha256(path, chunk=chunk) == expect
    assert file_sha256(str(path)) == expect


def test_apis_reexports_the_same_function():
    from msfam_mm.apis import model_loading
    assert model_loading.file_sha256 is file_sha256
