"""Read and write PyTorch ``.pth`` checkpoints without importing torch.

The VRT authors publish their weights as ``torch.save`` files (torch >= 1.6 zip
layout).  This project runs on MindSpore and must not depend on torch, so this
module understands just enough of that layout to turn a state_dict into numpy
arrays, and to write one back in a form ``torch.load(weights_only=True)`` accepts.

Layout of a zip checkpoint (``<root>`` is any single top-level folder name)::

    <root>/data.pkl        pickle (protocol 2) of the saved object; tensors are
                           ``torch._utils._rebuild_tensor_v2(storage, offset,
                           size, stride, ...)`` calls whose storage is a
                           persistent id ``('storage', torch.FloatStorage,
                           key, location, numel)``
    <root>/data/<key>      raw bytes of one storage
    <root>/byteorder       ``little`` or ``big`` (absent in old files: little)
    <root>/version         serialization version

Security: pickles can run arbitrary code, so the unpickler here resolves only a
fixed allow-list of globals to local, inert stand-ins; anything else is refused
before it is called.  Nothing from torch (or any other module) is imported.
"""

from __future__ import annotations

import collections
import io
import math
import os
import pickle
import pickletools
import secrets
import struct
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["TorchFileError", "read_state_dict", "write_state_dict"]


class TorchFileError(Exception):
    """A checkpoint could not be read or written; the message is one line naming the file."""


# Wrapper keys tried in order, mirroring the reference loader which prefers 'params'.
_WRAPPER_KEYS = ("params", "params_ema", "state_dict")

# Legacy (pre-1.6) torch.save files start with a protocol-2 pickle of this magic number.
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_LEGACY_PREFIX = b"\x80\x02\x8a\x0a" + _LEGACY_MAGIC.to_bytes(10, "little")

# torch storage class name -> element type name ("bfloat16" is read as uint16 bit patterns
# and returned as float32, since numpy has no bfloat16).
_STORAGE_DTYPES: dict[str, str] = {
    "FloatStorage": "float32",
    "DoubleStorage": "float64",
    "HalfStorage": "float16",
    "BFloat16Storage": "bfloat16",
    "LongStorage": "int64",
    "IntStorage": "int32",
    "ShortStorage": "int16",
    "CharStorage": "int8",
    "ByteStorage": "uint8",
    "BoolStorage": "bool",
    "ComplexFloatStorage": "complex64",
    "ComplexDoubleStorage": "complex128",
}

# torch dtypes that torch >= 2.3 saves via _rebuild_tensor_v3 + UntypedStorage and numpy can hold.
_V3_DTYPES = ("uint16", "uint32", "uint64")

# numpy dtype -> torch storage class name, for writing.
_WRITE_STORAGE: dict[np.dtype[Any], str] = {
    np.dtype(dt): name for name, dt in _STORAGE_DTYPES.items() if dt != "bfloat16"
}


def _np_dtype(name: str) -> np.dtype[Any]:
    """numpy dtype holding the raw elements of a storage/tensor element type name."""
    return np.dtype(np.uint16) if name == "bfloat16" else np.dtype(name)


_CHUNK = 16 << 20

# What zipfile raises on damaged archives (bad names decode as UnicodeDecodeError, a ValueError).
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, ValueError, NotImplementedError, struct.error)


# --------------------------------------------------------------------------- stand-ins for globals
#
# Every object the unpickler can hand out refuses __setstate__: otherwise a BUILD opcode could
# rewrite a tensor's size/stride after validation, or mutate the shared allow-list entries.


class _Refused(Exception):
    """Raised inside the unpickler; turned into a TorchFileError with the file name."""


def _refuse_setstate(self: object, state: Any) -> None:
    raise _Refused(f"pickle tries to modify a {type(self).__name__.lstrip('_')} object (BUILD)")


@dataclass(frozen=True, slots=True)
class _StorageType:
    """Inert stand-in for ``torch.FloatStorage`` & co.: only carries the element type."""

    name: str
    dtype: str  # element type name, see _STORAGE_DTYPES

    __setstate__ = _refuse_setstate


@dataclass(frozen=True, slots=True)
class _TorchDtype:
    """Inert stand-in for a ``torch.<dtype>`` object (argument of ``_rebuild_tensor_v3``)."""

    name: str

    __setstate__ = _refuse_setstate


@dataclass(frozen=True, slots=True)
class _StorageRef:
    """A storage named in the pickle; its bytes are only read once we know it is needed."""

    key: str
    dtype: str
    numel: int  # elements of ``dtype`` (bytes for untyped storages, whose dtype is uint8)

    __setstate__ = _refuse_setstate


@dataclass(frozen=True, slots=True)
class _TensorRef:
    """A tensor described by the pickle: a strided view of one storage."""

    storage: _StorageRef
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]
    dtype: str

    __setstate__ = _refuse_setstate


def _as_index_tuple(value: Any, what: str) -> tuple[int, ...]:
    if not isinstance(value, tuple | list) or not all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value
    ):
        raise _Refused(f"bad tensor {what} {value!r}")
    return tuple(value)


def _make_tensor(storage: _StorageRef, offset: Any, size: Any, stride: Any, dtype: str) -> _TensorRef:
    """Validate a tensor view so that as_strided can never reach outside its storage."""
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise _Refused(f"bad tensor storage offset {offset!r}")
    size_t = _as_index_tuple(size, "size")
    stride_t = _as_index_tuple(stride, "stride")
    if len(size_t) != len(stride_t):
        raise _Refused(f"tensor size {size_t} and stride {stride_t} differ in length")
    # Untyped storages (v3) count bytes; express the size in elements of dtype.
    avail = storage.numel if dtype == storage.dtype else storage.numel // _np_dtype(dtype).itemsize
    ref = _TensorRef(storage, offset, size_t, stride_t, dtype)
    _check_view(ref, avail)
    return ref


def _check_view(ref: _TensorRef, avail: int) -> None:
    """Refuse a view that would read beyond ``avail`` storage elements (as_strided does not check)."""
    if 0 in ref.size:
        return
    last = ref.offset + sum((n - 1) * s for n, s in zip(ref.size, ref.stride, strict=True))
    if last >= avail:
        raise _Refused(
            f"tensor view (offset {ref.offset}, size {ref.size}, stride {ref.stride}) "
            f"runs past its storage of {avail} elements"
        )


def _rebuild_tensor_v2(
    storage: Any, offset: Any, size: Any, stride: Any, requires_grad: Any = False,
    backward_hooks: Any = None, metadata: Any = None,
) -> _TensorRef:
    if not isinstance(storage, _StorageRef):
        raise _Refused("tensor whose storage is not a checkpoint storage record")
    return _make_tensor(storage, offset, size, stride, storage.dtype)


def _rebuild_tensor_v3(
    storage: Any, offset: Any, size: Any, stride: Any, requires_grad: Any = False,
    backward_hooks: Any = None, dtype: Any = None, metadata: Any = None,
) -> _TensorRef:
    if not isinstance(storage, _StorageRef) or storage.dtype != "uint8":
        raise _Refused("_rebuild_tensor_v3 tensor whose storage is not an untyped storage record")
    if not isinstance(dtype, _TorchDtype) or dtype.name not in _V3_DTYPES:
        raise _Refused(f"tensor dtype {dtype!r} has no numpy equivalent")
    return _make_tensor(storage, offset, size, stride, dtype.name)


def _rebuild_parameter(data: Any, requires_grad: Any = False, backward_hooks: Any = None) -> Any:
    if not isinstance(data, _TensorRef):
        raise _Refused("nn.Parameter wrapping something that is not a tensor")
    return data


def _rebuild_parameter_with_state(data: Any, requires_grad: Any, backward_hooks: Any, state: Any) -> Any:
    return _rebuild_parameter(data, requires_grad, backward_hooks)


def _codecs_encode(text: Any, encoding: Any = "utf-8") -> bytes:
    # Protocol 2 pickles ``bytes`` as _codecs.encode(str, 'latin1'); allow only that.
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise _Refused("_codecs.encode used for something other than bytes")
    return text.encode("latin-1")


def _load_from_bytes(*_args: Any) -> Any:
    raise _Refused(
        "contains a storage pickled with torch.storage._load_from_bytes (legacy / plain-pickle "
        "format); re-save it with torch>=1.6: torch.save(torch.load(f), f)"
    )


class _Func:
    """Callable wrapper so a pickle cannot set attributes (e.g. __defaults__) on our functions."""

    __slots__ = ("_fn",)
    __setstate__ = _refuse_setstate

    def __init__(self, fn: Any) -> None:
        self._fn = fn

    def __call__(self, *args: Any) -> Any:
        return self._fn(*args)

    def __repr__(self) -> str:
        return f"<{self._fn.__name__}>"


_ALLOWED: dict[tuple[str, str], Any] = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _Func(_rebuild_tensor_v2),
    ("torch._utils", "_rebuild_tensor_v3"): _Func(_rebuild_tensor_v3),
    ("torch._utils", "_rebuild_parameter"): _Func(_rebuild_parameter),
    ("torch._utils", "_rebuild_parameter_with_state"): _Func(_rebuild_parameter_with_state),
    ("torch.storage", "_load_from_bytes"): _Func(_load_from_bytes),
    ("_codecs", "encode"): _Func(_codecs_encode),
    ("torch", "UntypedStorage"): _StorageType("UntypedStorage", "uint8"),
    ("torch.storage", "UntypedStorage"): _StorageType("UntypedStorage", "uint8"),
}
_ALLOWED.update({("torch", n): _StorageType(n, dt) for n, dt in _STORAGE_DTYPES.items()})
_ALLOWED.update({("torch", n): _TorchDtype(n) for n in _V3_DTYPES})


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that maps a fixed allow-list of globals to inert local stand-ins."""

    def __init__(self, data: bytes, storage_keys: set[str]) -> None:
        super().__init__(io.BytesIO(data))
        self._storage_keys = storage_keys
        self._storages: dict[str, _StorageRef] = {}

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise _Refused(f"forbidden global {module}.{name} in pickle (refusing to load)") from None

    def persistent_load(self, pid: Any) -> Any:
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise _Refused(f"unsupported persistent id {str(pid)[:60]!r}")
        _, stype, key, _location, numel = pid
        if not isinstance(stype, _StorageType):
            raise _Refused(f"persistent id with unknown storage type {stype!r}")
        if not isinstance(key, str) or not isinstance(numel, int) or isinstance(numel, bool) or numel < 0:
            raise _Refused(f"malformed storage id {str(pid)[:60]!r}")
        if key not in self._storage_keys:
            raise _Refused(f"storage record data/{key} is missing")
        known = self._storages.get(key)
        if known is None:
            known = self._storages[key] = _StorageRef(key, stype.dtype, numel)
        elif known.dtype != stype.dtype or known.numel != numel:
            raise _Refused(f"storage data/{key} is described inconsistently")
        return known


# --------------------------------------------------------------------------- reading


def _fail(path: Path, problem: str) -> TorchFileError:
    return TorchFileError(f"{path}: {' '.join(problem.split())}")


def _find_root(path: Path, names: list[str]) -> str:
    roots = sorted({n[: -len("/data.pkl")] for n in names if n.endswith("/data.pkl") and n.count("/") == 1})
    if not roots:
        raise _fail(path, "zip archive but not a torch checkpoint (no <folder>/data.pkl record)")
    if len(roots) > 1:
        raise _fail(path, f"ambiguous torch checkpoint: several data.pkl records ({', '.join(roots)})")
    root = roots[0]
    if f"{root}/constants.pkl" in names or any(n.startswith(f"{root}/code/") for n in names):
        raise _fail(
            path, "is a TorchScript archive (torch.jit.save), not a state_dict checkpoint; "
            "save model.state_dict() with torch.save instead"
        )
    return root


def _read_record(zf: zipfile.ZipFile, name: str, nbytes: int) -> bytearray:
    """Read the first ``nbytes`` of a record into a fresh writable buffer (no extra full copy)."""
    info = zf.getinfo(name)
    if info.file_size < nbytes:
        raise _Refused(f"storage record {name} holds {info.file_size} bytes, expected {nbytes}")
    buf = bytearray(nbytes)
    view = memoryview(buf)
    pos = 0
    with zf.open(info) as fh:
        while pos < nbytes:
            chunk = fh.read(min(_CHUNK, nbytes - pos))
            if not chunk:
                raise _Refused(f"storage record {name} ends early")
            view[pos : pos + len(chunk)] = chunk
            pos += len(chunk)
        if info.file_size == nbytes:
            fh.read()  # reach end of record so zipfile verifies the CRC
    return buf


def _unwrap(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        for key in _WRAPPER_KEYS:
            inner = obj.get(key)
            if isinstance(inner, Mapping):
                return inner
    return obj


def _view_to_array(storage: np.ndarray, ref: _TensorRef, sole_user: bool) -> np.ndarray:
    """Native-endian, C-contiguous, writable array for one (already bounds-checked) view."""
    if (
        sole_user
        and ref.offset == 0
        and math.prod(ref.size) == storage.size
        and ref.stride == _contiguous_strides(ref.size)
    ):
        arr = storage.reshape(ref.size)  # sole owner of a writable buffer: no copy needed
    elif 0 in ref.size:
        arr = np.empty(ref.size, dtype=storage.dtype)
    else:
        view = np.lib.stride_tricks.as_strided(
            storage[ref.offset :],
            shape=ref.size,
            strides=tuple(s * storage.dtype.itemsize for s in ref.stride),
            writeable=False,
        )
        arr = np.array(view, copy=True, order="C")
    if not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))
    if ref.dtype == "bfloat16":
        arr = (arr.astype(np.uint32) << 16).view(np.float32)
    return arr


def _materialize(
    zf: zipfile.ZipFile, root: str, big_endian: bool, refs: dict[str, _TensorRef]
) -> dict[str, np.ndarray]:
    """Turn tensor references into arrays, one storage at a time to keep peak memory low."""
    by_storage: dict[str, list[str]] = collections.defaultdict(list)
    for name, ref in refs.items():
        by_storage[ref.storage.key].append(name)
    out: dict[str, np.ndarray] = {}
    for key, names in by_storage.items():
        sref = refs[names[0]].storage
        buf = _read_record(zf, f"{root}/data/{key}", sref.numel * _np_dtype(sref.dtype).itemsize)
        for name in names:
            ref = refs[name]
            tdt = _np_dtype(ref.dtype)
            if big_endian:
                tdt = tdt.newbyteorder(">")
            count = len(buf) // tdt.itemsize
            _check_view(ref, count)  # again, against the bytes actually read
            storage = np.frombuffer(buf, dtype=tdt, count=count)
            try:
                arr = _view_to_array(storage, ref, sole_user=len(names) == 1)
            except (ValueError, OverflowError, MemoryError) as exc:
                raise _Refused(f"cannot build tensor {name!r} of size {ref.size}: {exc}") from None
            out[name] = arr
        del buf
    return {name: out[name] for name in refs}


def read_state_dict(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Load the tensors of a torch zip checkpoint as numpy arrays, without torch.

    Wrappers ``params`` (preferred, as in the VRT reference loader), ``params_ema`` and
    ``state_dict`` are unwrapped; non-tensor entries are ignored.  bfloat16 comes back as
    float32.  Only a fixed allow-list of pickle globals is honoured, so a malicious file
    cannot execute code; anything unexpected raises :class:`TorchFileError`.
    """
    p = Path(path)
    try:
        with open(p, "rb") as fh:
            head = fh.read(len(_LEGACY_PREFIX))
    except FileNotFoundError:
        raise _fail(p, "no such file") from None
    except IsADirectoryError:
        raise _fail(p, "is a directory, not a checkpoint file") from None
    except OSError as exc:
        raise _fail(p, f"cannot read file: {exc.strerror or exc}") from None
    if not head:
        raise _fail(p, "empty file, not a torch checkpoint")
    if head.startswith(_LEGACY_PREFIX):
        raise _fail(
            p, "legacy (pre-1.6, non-zip) torch checkpoint; re-save it with torch>=1.6: "
            "torch.save(torch.load(f), f)"
        )
    try:
        zf = zipfile.ZipFile(p)
    except _ZIP_ERRORS:
        if head.startswith(b"PK"):
            raise _fail(p, "truncated or corrupt zip archive (torch checkpoint incomplete?)") from None
        if head[:1] == b"\x80":
            raise _fail(
                p, "plain pickle, not a zip-format torch checkpoint; re-save it with torch>=1.6"
            ) from None
        raise _fail(p, "not a torch checkpoint (not a zip archive)") from None
    except OSError as exc:
        raise _fail(p, f"cannot read file: {exc.strerror or exc}") from None

    with zf:
        try:
            names = zf.namelist()
            root = _find_root(p, names)
            storage_keys = {
                n[len(root) + len("/data/") :] for n in names if n.startswith(f"{root}/data/")
            }
            big_endian = False
            if f"{root}/byteorder" in names:
                order = zf.read(f"{root}/byteorder").strip()
                if order not in (b"little", b"big"):
                    raise _Refused(f"unknown byteorder record {order[:20]!r}")
                big_endian = order == b"big"
            pkl = zf.read(f"{root}/data.pkl")
            try:
                # Parse every opcode first: a corrupt length field then fails here cleanly instead
                # of making the C unpickler attempt a huge allocation.
                for _ in pickletools.genops(pkl):
                    pass
                obj = _RestrictedUnpickler(pkl, storage_keys).load()
            except _Refused:
                raise
            except RecursionError:
                raise _Refused("pickle nested too deeply") from None
            except Exception as exc:  # malformed pickle: any unpickling error
                raise _Refused(f"corrupt data.pkl ({type(exc).__name__}: {exc})") from None
            obj = _unwrap(obj)
            if isinstance(obj, _TensorRef):
                raise _Refused("contains a single tensor, not a state_dict (dict of tensors)")
            refs: dict[str, _TensorRef] = {}
            if isinstance(obj, Mapping):
                refs = {str(k): v for k, v in obj.items() if isinstance(v, _TensorRef)}
            if not refs:
                raise _Refused(f"no tensors found (top-level object is {type(obj).__name__})")
            return _materialize(zf, root, big_endian, refs)
        except TorchFileError:
            raise
        except _Refused as exc:
            raise _fail(p, str(exc)) from None
        except (*_ZIP_ERRORS, KeyError) as exc:
            raise _fail(p, f"truncated or corrupt zip archive ({type(exc).__name__}: {exc})") from None
        except OSError as exc:
            raise _fail(p, f"cannot read file: {exc.strerror or exc}") from None


# --------------------------------------------------------------------------- writing


def _contiguous_strides(size: tuple[int, ...]) -> tuple[int, ...]:
    # Same rule as torch: a zero-sized dim counts as 1 when computing the strides.
    strides: list[int] = []
    acc = 1
    for n in reversed(size):
        strides.append(acc)
        acc *= max(n, 1)
    return tuple(reversed(strides))


class _PickleWriter:
    """Emits a protocol-2 pickle with exactly the globals torch.save uses for a state_dict.

    Written by hand because the stdlib pickler insists on importing the real globals.
    """

    def __init__(self) -> None:
        self.parts: list[bytes] = [pickle.PROTO + b"\x02"]

    def _w(self, b: bytes) -> None:
        self.parts.append(b)

    def glob(self, module: str, name: str) -> None:
        self._w(pickle.GLOBAL + f"{module}\n{name}\n".encode("ascii"))

    def int_(self, v: int) -> None:
        if 0 <= v < 256:
            self._w(pickle.BININT1 + struct.pack("<B", v))
        elif 0 <= v < 65536:
            self._w(pickle.BININT2 + struct.pack("<H", v))
        elif -(2**31) <= v < 2**31:
            self._w(pickle.BININT + struct.pack("<i", v))
        else:
            raw = v.to_bytes((v.bit_length() + 8) // 8, "little", signed=True)
            self._w(pickle.LONG1 + struct.pack("<B", len(raw)) + raw)

    def str_(self, s: str) -> None:
        raw = s.encode("utf-8")
        self._w(pickle.BINUNICODE + struct.pack("<I", len(raw)) + raw)

    def int_tuple(self, values: tuple[int, ...]) -> None:
        if not values:
            self._w(pickle.EMPTY_TUPLE)
            return
        self._w(pickle.MARK)
        for v in values:
            self.int_(v)
        self._w(pickle.TUPLE)

    def ordered_dict_start(self) -> None:
        self.glob("collections", "OrderedDict")
        self._w(pickle.EMPTY_TUPLE + pickle.REDUCE)

    def tensor(self, storage_name: str, key: str, size: tuple[int, ...]) -> None:
        numel = int(np.prod(size)) if size else 1
        self.glob("torch._utils", "_rebuild_tensor_v2")
        self._w(pickle.MARK)
        self._w(pickle.MARK)  # persistent id tuple
        self.str_("storage")
        self.glob("torch", storage_name)
        self.str_(key)
        self.str_("cpu")
        self.int_(numel)
        self._w(pickle.TUPLE + pickle.BINPERSID)
        self.int_(0)
        self.int_tuple(size)
        self.int_tuple(_contiguous_strides(size))
        self._w(pickle.NEWFALSE)
        self.ordered_dict_start()  # backward_hooks
        self._w(pickle.TUPLE + pickle.REDUCE)

    def data(self) -> bytes:
        return b"".join(self.parts) + pickle.STOP


def _aligned_zipinfo(zf: zipfile.ZipFile, name: str, size: int, align: int = 64) -> zipfile.ZipInfo:
    """Stored (uncompressed) entry padded so its data starts on an ``align`` boundary, like torch."""
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    info.file_size = size
    header_end = zf.fp.tell() + 30 + len(name.encode("utf-8"))  # type: ignore[union-attr]
    pad = (-(header_end + 4)) % align  # 4 = extra-field id + length
    info.extra = struct.pack("<HH", 0x4246, pad) + b"Z" * pad  # 'FB' padding field, as torch writes
    return info


def write_state_dict(
    path: str | os.PathLike[str], tensors: Mapping[str, np.ndarray], wrapper: str | None = "params"
) -> None:
    """Write ``tensors`` as a torch zip checkpoint that ``torch.load(weights_only=True)`` reads.

    Used by tests and for exporting weights back to PyTorch users.  Each tensor gets its own
    little-endian storage; the state_dict is an OrderedDict, wrapped as ``{wrapper: ...}``
    unless ``wrapper`` is None.  The file is written to a temp file and renamed into place,
    so a crash never leaves a half-written checkpoint behind.
    """
    p = Path(path)
    pw = _PickleWriter()
    if wrapper is not None:
        pw._w(pickle.EMPTY_DICT)
        pw.str_(wrapper)
    pw.ordered_dict_start()
    arrays: list[np.ndarray] = []
    if tensors:
        pw._w(pickle.MARK)
    for i, (name, value) in enumerate(tensors.items()):
        if not isinstance(name, str):
            raise _fail(p, f"state_dict key {name!r} is not a string")
        arr = np.asarray(value)
        native = arr.dtype.newbyteorder("=") if arr.dtype.byteorder in "<>" else arr.dtype
        storage_name = _WRITE_STORAGE.get(native)
        if storage_name is None:
            raise _fail(p, f"tensor {name!r} has dtype {arr.dtype} which torch checkpoints cannot hold")
        arr = np.asarray(arr, dtype=native.newbyteorder("<"), order="C")  # keeps 0-d shape
        arrays.append(arr)
        pw.str_(name)
        pw.tensor(storage_name, str(i), tuple(int(n) for n in arr.shape))
    if tensors:
        pw._w(pickle.SETITEMS)
    if wrapper is not None:
        pw._w(pickle.SETITEM)
    root = "archive"
    records: list[tuple[str, Any]] = [
        (f"{root}/data.pkl", pw.data()),
        (f"{root}/byteorder", b"little"),
        *((f"{root}/data/{i}", a) for i, a in enumerate(arrays)),
        (f"{root}/version", b"3\n"),
    ]

    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.name}.{secrets.token_hex(4)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # honours the umask
        with os.fdopen(fd, "wb") as fh:
            with zipfile.ZipFile(fh, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
                for rec_name, payload in records:
                    if isinstance(payload, np.ndarray):
                        payload = memoryview(payload.reshape(-1).view(np.uint8))
                    info = _aligned_zipinfo(zf, rec_name, len(payload))
                    with zf.open(info, "w", force_zip64=len(payload) > (1 << 31)) as out:
                        out.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, p)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise _fail(p, f"cannot write checkpoint: {exc.strerror or exc}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
