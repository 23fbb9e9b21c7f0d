"""Builders of hostile and unlucky files, made the way an attacker (or a broken disk) would.

Shared by tests/test_hostile.py, which checks each one end to end, and tests/test_fuzz.py,
which runs them among its damaged files.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from pathlib import Path

import h5py
import numpy as np

SECRET = b"root:x:0:0:root:/root:/bin/bash\nreportgen-secret-marker\n"


def bn_model(path: Path) -> Path:
    """A small Dense + BatchNormalization model saved as legacy HDF5."""
    import keras

    keras.utils.set_random_seed(5)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(16, name="dense"),
                              keras.layers.BatchNormalization(name="bn"),
                              keras.layers.Dense(3, activation="softmax", name="probs")])
    model.save(path)
    return path


def _gamma_path(handle) -> str:
    found = []
    handle.visit(lambda name: found.append(name) if name.endswith("gamma") or
                 name.endswith("gamma:0") else None)
    return found[0]


def with_external_gamma(source: Path, target: Path, secret: Path) -> Path:
    """The BN gamma replaced by a dataset whose bytes live in `secret` (external storage)."""
    target.write_bytes(source.read_bytes())
    secret.write_bytes(SECRET.ljust(64, b"\n"))
    with h5py.File(target, "r+") as handle:
        name = _gamma_path(handle)
        del handle[name]
        handle.create_dataset(name, shape=(16,), dtype="<f4", external=[(str(secret), 0, 64)])
    return target


def with_external_link(source: Path, target: Path, other: Path) -> Path:
    """The BN gamma replaced by an external link to a dataset in another HDF5 file."""
    target.write_bytes(source.read_bytes())
    with h5py.File(other, "w") as outside:
        outside.create_dataset("stolen", data=np.frombuffer(SECRET.ljust(64, b"\n"), "<f4"))
    with h5py.File(target, "r+") as handle:
        name = _gamma_path(handle)
        del handle[name]
        handle[name] = h5py.ExternalLink(str(other), "/stolen")
    return target


def with_virtual_gamma(source: Path, target: Path, other: Path) -> Path:
    """The BN gamma replaced by a virtual dataset mapping another file's data."""
    target.write_bytes(source.read_bytes())
    with h5py.File(other, "w") as outside:
        outside.create_dataset("stolen", data=np.frombuffer(SECRET.ljust(64, b"\n"), "<f4"))
    with h5py.File(target, "r+") as handle:
        name = _gamma_path(handle)
        del handle[name]
        layout = h5py.VirtualLayout(shape=(16,), dtype="<f4")
        layout[:] = h5py.VirtualSource(str(other), "stolen", shape=(16,))
        handle.create_virtual_dataset(name, layout)
    return target


def with_nan_gamma(source: Path, target: Path) -> Path:
    """The BN gamma with one NaN and one Inf, as after a diverged training."""
    target.write_bytes(source.read_bytes())
    with h5py.File(target, "r+") as handle:
        gamma = handle[_gamma_path(handle)]
        values = gamma[()]
        values[3], values[5] = np.nan, np.inf
        gamma[...] = values
    return target


def keras_zip_with_member(source: Path, target: Path, member: bytes,
                          compress: int = zipfile.ZIP_DEFLATED) -> Path:
    """A copy of a .keras archive whose model.weights.h5 is replaced by `member`."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            data = member if info.filename == "model.weights.h5" else old.read(info.filename)
            new.writestr(info.filename, data, compress_type=compress)
    return target


def deflate_bomb(source: Path, target: Path, size: int = 300 << 20,
                 valid_head: bool = False, member: str = "model.weights.h5") -> Path:
    """A .keras whose `member` is `size` bytes of deflated padding (zeros; spaces after the
    real JSON for config.json, which stays valid JSON), optionally after the real member's
    bytes so that it starts as valid HDF5. Written in a stream: it never exists in memory or
    on disk uncompressed."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            if info.filename == member:
                continue
            new.writestr(info.filename, old.read(info.filename))
        head = old.read(member) if valid_head or member.endswith(".json") else b""
        info = zipfile.ZipInfo(member)
        info.compress_type = zipfile.ZIP_DEFLATED
        with new.open(info, "w", force_zip64=True) as out:
            out.write(head)
            padding = (b" " if member.endswith(".json") else b"\0") * (1 << 20)
            for _ in range((size - len(head)) >> 20):
                out.write(padding)
    return target


def with_corrupt_chunk(source: Path, target: Path) -> Path:
    """A copy whose Dense kernel is gzip-compressed in chunks, one chunk's bytes damaged."""
    target.write_bytes(source.read_bytes())
    with h5py.File(target, "r+") as handle:
        found = []
        handle.visit(lambda n: found.append(n) if n.endswith("kernel") or
                     n.endswith("kernel:0") else None)
        name = found[0]
        values = handle[name][()]
        del handle[name]
        handle.create_dataset(name, data=values, chunks=values.shape, compression="gzip")
        offset = handle[name].id.get_chunk_info(0).byte_offset
    data = bytearray(target.read_bytes())
    for k in range(8):
        data[offset + 10 + k] ^= 0xFF
    target.write_bytes(bytes(data))
    return target


def png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG whose header declares width x height (a decompression bomb's calling card)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
                     + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))
    return path


def npy_header_only(path: Path, shape: tuple, dtype: str = "<f4") -> Path:
    """An .npy file whose header declares `shape` but holds almost no data."""
    header = {"descr": dtype, "fortran_order": False, "shape": shape}
    text = repr(header).encode("latin1")
    pad = 64 - (10 + len(text) + 1) % 64
    path.write_bytes(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text) + pad + 1)
                     + text + b" " * pad + b"\n" + bytes(1024))
    return path

