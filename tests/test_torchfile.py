"""Tests for vrt_engine.torchfile: torch-free reading/writing of .pth checkpoints.

Only files written here are used: ones from write_state_dict, and hand-built zips whose
pickle is assembled opcode by opcode (so strided views, shared storages, big-endian data
and malicious globals can be covered without torch).
"""

from __future__ import annotations

import os
import pickle
import pickletools
import struct
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from vrt_engine import torchfile
from vrt_engine.torchfile import TorchFileError, read_state_dict, write_state_dict

# --------------------------------------------------------------------------- hand-built pickles


class G:
    """A global reference (module.name), emitted as GLOBAL or STACK_GLOBAL."""

    def __init__(self, module: str, name: str) -> None:
        self.module, self.name = module, name


class Call:
    """``func(*args)`` via REDUCE."""

    def __init__(self, func: Any, *args: Any) -> None:
        self.func, self.args = func, args


class PID:
    """A persistent id (BINPERSID)."""

    def __init__(self, value: Any) -> None:
        self.value = value


class OD:
    """``collections.OrderedDict`` built the way torch pickles it."""

    def __init__(self, items: dict[str, Any]) -> None:
        self.items = items


def _emit(obj: Any, out: list[bytes], proto: int) -> None:
    if obj is None:
        out.append(pickle.NONE)
    elif isinstance(obj, bool):
        out.append(pickle.NEWTRUE if obj else pickle.NEWFALSE)
    elif isinstance(obj, int):
        if -(2**31) <= obj < 2**31:
            out.append(pickle.BININT + struct.pack("<i", obj))
        else:
            raw = obj.to_bytes((obj.bit_length() + 8) // 8, "little", signed=True)
            out.append(pickle.LONG1 + bytes([len(raw)]) + raw)
    elif isinstance(obj, float):
        out.append(pickle.BINFLOAT + struct.pack(">d", obj))
    elif isinstance(obj, str):
        raw = obj.encode()
        out.append(pickle.BINUNICODE + struct.pack("<I", len(raw)) + raw)
    elif isinstance(obj, tuple):
        out.append(pickle.MARK)
        for v in obj:
            _emit(v, out, proto)
        out.append(pickle.TUPLE)
    elif isinstance(obj, list):
        out.append(pickle.EMPTY_LIST + pickle.MARK)
        for v in obj:
            _emit(v, out, proto)
        out.append(pickle.APPENDS)
    elif isinstance(obj, dict):
        out.append(pickle.EMPTY_DICT)
        _emit_items(obj, out, proto)
    elif isinstance(obj, OD):
        _emit(Call(G("collections", "OrderedDict")), out, proto)
        _emit_items(obj.items, out, proto)
    elif isinstance(obj, G):
        if proto >= 4:
            _emit(obj.module, out, proto)
            _emit(obj.name, out, proto)
            out.append(pickle.STACK_GLOBAL)
        else:
            out.append(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode())
    elif isinstance(obj, Call):
        _emit(obj.func, out, proto)
        _emit(tuple(obj.args), out, proto)
        out.append(pickle.REDUCE)
    elif isinstance(obj, PID):
        _emit(obj.value, out, proto)
        out.append(pickle.BINPERSID)
    else:
        raise TypeError(obj)


def _emit_items(items: dict[Any, Any], out: list[bytes], proto: int) -> None:
    if items:
        out.append(pickle.MARK)
        for k, v in items.items():
            _emit(k, out, proto)
            _emit(v, out, proto)
        out.append(pickle.SETITEMS)


def dumps(obj: Any, proto: int = 2) -> bytes:
    out = [pickle.PROTO + bytes([proto])]
    _emit(obj, out, proto)
    return b"".join(out) + pickle.STOP


def tensor(
    key: str,
    numel: int,
    offset: int,
    size: tuple[int, ...],
    stride: tuple[int, ...],
    storage: str = "FloatStorage",
) -> Call:
    """A ``_rebuild_tensor_v2`` call exactly as torch.save writes it."""
    pid = PID(("storage", G("torch", storage), key, "cpu", numel))
    hooks = Call(G("collections", "OrderedDict"))
    return Call(G("torch._utils", "_rebuild_tensor_v2"), pid, offset, size, stride, False, hooks)


def make_zip(
    path: Path,
    pkl: bytes,
    storages: dict[str, bytes] | None = None,
    root: str = "my_model",
    byteorder: bytes | None = b"little",
) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"{root}/data.pkl", pkl)
        if byteorder is not None:
            zf.writestr(f"{root}/byteorder", byteorder)
        for key, data in (storages or {}).items():
            zf.writestr(f"{root}/data/{key}", data)
        zf.writestr(f"{root}/version", b"3\n")
    return path


def strided(storage: np.ndarray, offset: int, size: tuple[int, ...], stride: tuple[int, ...]) -> np.ndarray:
    """Reference gather by explicit index arithmetic (independent of as_strided)."""
    out = np.empty(size, dtype=storage.dtype)
    for idx in np.ndindex(*size):
        out[idx] = storage[offset + sum(i * s for i, s in zip(idx, stride, strict=True))]
    return out


def assert_one_line_error(exc: pytest.ExceptionInfo[TorchFileError], path: Path, *words: str) -> None:
    msg = str(exc.value)
    assert "\n" not in msg
    assert str(path) in msg
    for word in words:
        assert word in msg, msg


# --------------------------------------------------------------------------- round trips


SAMPLE = {
    "conv.weight": np.random.default_rng(0).standard_normal((8, 3, 3, 3)).astype(np.float32),
    "conv.bias": np.linspace(-1, 1, 8, dtype=np.float32),
    "half": np.arange(10, dtype=np.float16) / 3,
    "double": np.array([1e-300, np.pi, -np.inf]),
    "long": np.array([-(2**62), 0, 2**62 - 1], dtype=np.int64),
    "int": np.arange(-3, 3, dtype=np.int32).reshape(2, 3),
    "short": np.array([-7, 7], dtype=np.int16),
    "char": np.array([-128, 127], dtype=np.int8),
    "byte": np.arange(256, dtype=np.uint8),
    "mask": np.array([[True, False], [False, True]]),
    "cplx": np.array([1 + 2j, -3j], dtype=np.complex64),
    "scalar": np.array(2.5, dtype=np.float32),
    "num_batches_tracked": np.array(123, dtype=np.int64),
    "empty": np.zeros((0, 4), dtype=np.float32),
}


@pytest.mark.parametrize("wrapper", ["params", "params_ema", "state_dict", None])
def test_round_trip_all_dtypes(tmp_path: Path, wrapper: str | None) -> None:
    path = tmp_path / "model.pth"
    write_state_dict(path, SAMPLE, wrapper=wrapper)
    got = read_state_dict(path)
    assert list(got) == list(SAMPLE)
    for name, want in SAMPLE.items():
        assert got[name].dtype == want.dtype, name
        assert got[name].shape == want.shape, name
        np.testing.assert_array_equal(got[name], want, err_msg=name)
        assert got[name].flags.c_contiguous and got[name].flags.writeable, name


def test_round_trip_str_path_and_noncontiguous_and_big_endian_input(tmp_path: Path) -> None:
    base = np.arange(24, dtype=np.float32).reshape(4, 6)
    tensors = {"t": base.T, "s": base[1:, ::2], "be": np.arange(5, dtype=">i4"), "f": np.asfortranarray(base)}
    path = str(tmp_path / "x.pth")
    write_state_dict(path, tensors)
    got = read_state_dict(path)
    for name, want in tensors.items():
        np.testing.assert_array_equal(got[name], want)
    assert got["be"].dtype == np.dtype(np.int32)  # stored little-endian, returned native


def test_written_file_layout_matches_torch(tmp_path: Path) -> None:
    path = tmp_path / "layout.pth"
    write_state_dict(path, {"a": np.ones((2, 3), np.float32), "b": np.zeros(4, np.int64)})
    with zipfile.ZipFile(path) as zf, open(path, "rb") as fh:
        names = zf.namelist()
        assert {"archive/data.pkl", "archive/byteorder", "archive/data/0", "archive/data/1"} <= set(names)
        assert zf.read("archive/byteorder") == b"little"
        for info in zf.infolist():
            assert info.compress_type == zipfile.ZIP_STORED
            fh.seek(info.header_offset + 26)
            name_len, extra_len = struct.unpack("<HH", fh.read(4))
            assert (info.header_offset + 30 + name_len + extra_len) % 64 == 0, info.filename
        pkl = zf.read("archive/data.pkl")
    assert pkl[:2] == b"\x80\x02"  # protocol 2, like torch.save
    globals_used = {arg for op, arg, _ in pickletools.genops(pkl) if op.name == "GLOBAL"}
    assert globals_used == {
        "collections OrderedDict",
        "torch._utils _rebuild_tensor_v2",
        "torch FloatStorage",
        "torch LongStorage",
    }


def test_write_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "w.pth"
    write_state_dict(path, {"a": np.ones(3, np.float32)})
    before = path.read_bytes()

    def boom(*_args: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torchfile.os, "replace", boom)
    with pytest.raises(TorchFileError) as exc:
        write_state_dict(path, {"b": np.zeros(5, np.float32)})
    assert_one_line_error(exc, path, "No space left")
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.pth"]  # temp file cleaned up


def test_write_rejects_unsupported_dtype(tmp_path: Path) -> None:
    path = tmp_path / "obj.pth"
    with pytest.raises(TorchFileError) as exc:
        write_state_dict(path, {"o": np.array(["a"], dtype=object)})
    assert_one_line_error(exc, path, "dtype")
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []


def test_overwrite_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "w.pth"
    write_state_dict(path, {"a": np.ones(3, np.float32)})
    write_state_dict(path, {"b": np.full(2, 7, np.int32)})
    got = read_state_dict(path)
    assert list(got) == ["b"]
    np.testing.assert_array_equal(got["b"], [7, 7])


# --------------------------------------------------------------------------- hand-crafted checkpoints


def test_strides_offsets_and_shared_storage(tmp_path: Path) -> None:
    store = np.arange(40, dtype=np.float32) * 1.5
    views = {
        "transposed": (0, (3, 4), (1, 3)),  # a.t() of a contiguous (4, 3)
        "offset_slice": (5, (6,), (3,)),  # a[5:23:3]
        "window": (12, (2, 3), (10, 2)),  # a.view(4,10)[1:3, 2:8:2]
        "expanded": (7, (3, 4), (0, 1)),  # stride 0 (expand)
        "scalar_at_offset": (39, (), ()),
        "zero_size": (40, (0, 5), (5, 1)),
        "whole": (0, (4, 10), (10, 1)),
    }
    pkl = dumps({"params": OD({k: tensor("0", 40, *v) for k, v in views.items()})})
    path = make_zip(tmp_path / "views.pth", pkl, {"0": store.tobytes()})
    got = read_state_dict(path)
    assert list(got) == list(views)
    for name, (offset, size, stride) in views.items():
        want = strided(store, offset, size, stride)
        assert got[name].shape == want.shape, name
        np.testing.assert_array_equal(got[name], want, err_msg=name)
        assert got[name].flags.c_contiguous and got[name].flags.writeable, name
    got["whole"][0, 0] = -1.0  # results never alias one another
    assert got["transposed"][0, 0] == 0.0


def test_bfloat16_half_bool_and_big_endian_storages(tmp_path: Path) -> None:
    floats = np.array([1.0, -2.5, 3.140625, 0.0, np.inf, -0.0078125], dtype=np.float32)
    bf16_bits = (floats.view(np.uint32) >> 16).astype(np.uint16)  # exactly representable values
    halves = np.array([0.5, -1.0, 65504.0], dtype=np.float16)
    bools = np.array([True, False, True, True])
    longs = np.array([1, -(2**40), 3], dtype=np.int64)
    pkl = dumps(
        OD(
            {
                "bf": tensor("b", 6, 0, (2, 3), (3, 1), "BFloat16Storage"),
                "bf_t": tensor("b", 6, 0, (3, 2), (1, 3), "BFloat16Storage"),
                "h": tensor("h", 3, 0, (3,), (1,), "HalfStorage"),
                "m": tensor("m", 4, 1, (3,), (1,), "BoolStorage"),
                "l": tensor("l", 3, 0, (3,), (1,), "LongStorage"),
            }
        )
    )
    for order, dt in ((b"little", "<"), (b"big", ">"), (None, "<")):  # no record: little (torch default)
        storages = {
            "b": bf16_bits.astype(dt + "u2").tobytes(),
            "h": halves.astype(dt + "f2").tobytes(),
            "m": bools.tobytes(),
            "l": longs.astype(dt + "i8").tobytes(),
        }
        path = make_zip(tmp_path / f"mixed_{order}.pth", pkl, storages, byteorder=order)
        got = read_state_dict(path)
        assert got["bf"].dtype == np.float32
        np.testing.assert_array_equal(got["bf"], floats.reshape(2, 3))
        np.testing.assert_array_equal(got["bf_t"], floats.reshape(2, 3).T)
        assert got["h"].dtype == np.float16 and got["h"].dtype.isnative
        np.testing.assert_array_equal(got["h"], halves)
        assert got["m"].dtype == np.bool_
        np.testing.assert_array_equal(got["m"], bools[1:])
        assert got["l"].dtype.isnative
        np.testing.assert_array_equal(got["l"], longs)


def test_parameter_v3_uint16_and_metadata(tmp_path: Path) -> None:
    hooks = Call(G("collections", "OrderedDict"))
    param = Call(G("torch._utils", "_rebuild_parameter"), tensor("p", 2, 0, (2,), (1,)), True, hooks)
    u16 = Call(
        G("torch._utils", "_rebuild_tensor_v3"),
        PID(("storage", G("torch.storage", "UntypedStorage"), "u", "cuda:0", 8)),
        1,
        (3,),
        (1,),
        False,
        hooks,
        G("torch", "uint16"),
    )
    # state_dict() OrderedDicts carry a _metadata attribute, pickled via BUILD
    sd = [pickle.PROTO + b"\x02"]
    _emit(OD({"w": param, "u": u16}), sd, 2)
    _emit({"_metadata": OD({"": {"version": 1}})}, sd, 2)
    pkl = b"".join(sd) + pickle.BUILD + pickle.STOP
    storages = {"p": np.array([4.0, 5.0], np.float32).tobytes(), "u": np.arange(4, dtype="<u2").tobytes()}
    got = read_state_dict(make_zip(tmp_path / "p.pth", pkl, storages, root="whatever-name"))
    np.testing.assert_array_equal(got["w"], [4.0, 5.0])
    assert got["u"].dtype == np.uint16
    np.testing.assert_array_equal(got["u"], [1, 2, 3])


def test_wrapper_preference_and_non_tensor_entries(tmp_path: Path) -> None:
    store = np.arange(3, dtype=np.float32)
    a, b, c = (tensor(k, 3, 0, (3,), (1,)) for k in "abc")
    storages = {k: store.tobytes() * (i + 1) for i, k in enumerate("abc")}
    cases = {
        "both": ({"params_ema": OD({"ema": b}), "params": OD({"p": a})}, ["p"]),
        "ema_only": ({"params_ema": OD({"ema": b}), "meta": {"iter": 5}}, ["ema"]),
        "lightning": ({"state_dict": OD({"s": c}), "epoch": 3, "optimizer": {"lr": 0.1}}, ["s"]),
        "bare_with_extras": ({"x": a, "step": 7, "name": "vrt"}, ["x"]),
        "params_not_a_dict": ({"params": 5, "state_dict": OD({"s": c})}, ["s"]),
    }
    for label, (obj, keys) in cases.items():
        got = read_state_dict(make_zip(tmp_path / f"{label}.pth", dumps(obj), storages))
        assert list(got) == keys, label
        for arr in got.values():
            np.testing.assert_array_equal(arr, store)


def test_only_needed_storages_are_read(tmp_path: Path) -> None:
    # params_ema's storage record is truncated garbage; loading 'params' must not touch it
    pkl = dumps(
        {
            "params": OD({"p": tensor("0", 2, 0, (2,), (1,))}),
            "params_ema": OD({"e": tensor("1", 99, 0, (99,), (1,))}),
        }
    )
    path = make_zip(tmp_path / "lazy.pth", pkl, {"0": np.ones(2, np.float32).tobytes(), "1": b"xx"})
    np.testing.assert_array_equal(read_state_dict(path)["p"], [1.0, 1.0])


# --------------------------------------------------------------------------- bad files


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.pth"
    with pytest.raises(TorchFileError) as exc:
        read_state_dict(path)
    assert_one_line_error(exc, path, "no such file")


def test_directory_and_empty_file(tmp_path: Path) -> None:
    with pytest.raises(TorchFileError) as exc:
        read_state_dict(tmp_path)
    assert_one_line_error(exc, tmp_path, "directory")
    empty = tmp_path / "empty.pth"
    empty.write_bytes(b"")
    with pytest.raises(TorchFileError) as exc:
        read_state_dict(empty)
    assert_one_line_error(exc, empty, "empty")


def test_text_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.pth"
    path.write_text("these are not the weights you are looking for\n" * 5)
    with pytest.raises(TorchFileError) as exc:
        read_state_dict(path)
    assert_one_line_error(exc, path, "not a torch checkpoint")


def test_truncated_zip(tmp_path: Path) -> None:
    path = tmp_path / "cut.pth"
    write_state_dict(path, {"w": np.arange(5000, dtype=np.float32)})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(TorchFileError) as exc:
        read_state_dict(path)
    assert_one_line_error(exc, path, "truncated")


def test_corrupt_storage_bytes(tmp_path: Path) -> None:
    path = tmp_path / "flip.pth"
    write_state_dict(path, {"w": np.zeros(4096, dtype=np.float32)})
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # inside the storage: CRC mismatch
    path.write_bytes(bytes(data))
    with pytest.raises(TorchFileError) as exc:
        read_state_dict(path)
    assert_one_line_error(exc, path, "corrupt")


def test_legacy_format(tmp_path: Path) -> None:
    path = tmp_path / "old.pth"
    magic = 0x1950A86A20F9469CFC6C
    path.write_bytes(b"\x80\x02\x8a\x0a" + magic.to_bytes(10, "little") + b".\x80\x02M\xe9\x03.")
    with pytest.raises(TorchFileError) as exc:
        read_state_dict(path)
    assert_one_line_error(exc, path, "legacy", "re-save it with torch>=1.6")


def test_legacy_load_from_bytes_storage(tmp_path: Path) -> None:
    obj = OD({"w": Call(G("torch.storage", "_load_from_bytes"), "data")})
    path = make_zip(tmp_path / "lfb.pth", dumps(obj))
    with pytest.raises(TorchFileError) as exc:
        read_state_dict(path)
    assert_one_line_error(exc, path, "_load_from_bytes", "re-save it with torch>=1.6")


def test_plain_pickle_and_zip_without_data_pkl(tmp_path: Path) -> None:
    plain = tmp_path / "plain.pkl"
    plain.write_bytes(pickle.dumps({"a": 1}, protocol=2))
    with pytest.raises(TorchFileError) as exc:
        read_state_dict(plain)
    assert_one_line_error(exc, plain, "not a zip-format torch checkpoint")
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as zf:
        zf.writestr("readme.txt", "hello")
    with pytest.raises(TorchFileError) as exc:
        read_state_dict(other)
    assert_one_line_error(exc, other, "not a torch checkpoint")


def test_torchscript_archive(tmp_path: Path) -> None:
    path = tmp_path / "ts.pt"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("ts/data.pkl", dumps(Call(G("__torch__.Model", "Model"))))
        zf.writestr("ts/constants.pkl", dumps(()))
        zf.writestr("ts/code/__torch__/model.py", "def forward(self): ...")
    with pytest.raises(TorchFileError) as exc:
        read_state_dict(path)
    assert_one_line_error(exc, path, "TorchScript")


@pytest.mark.parametrize("proto", [2, 4])
@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("os", "system"),
        ("posix", "system"),
        ("builtins", "eval"),
        ("subprocess", "call"),
        ("torch.nn", "Conv2d"),
    ],
)
def test_forbidden_global_is_never_executed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, proto: int, module: str, name: str
) -> None:
    marker = tmp_path / "pwned"
    calls: list[Any] = []
    monkeypatch.setattr(os, "system", lambda *a: calls.append(a) or 0)
    payload = Call(G(module, name), f"open({str(marker)!r}, 'w')" if name == "eval" else f"touch {marker}")
    pkl = dumps({"params": OD({"w": tensor("0", 1, 0, (), ()), "evil": payload})}, proto=proto)
    path = make_zip(tmp_path / "evil.pth", pkl, {"0": b"\0\0\0\0"})
    with pytest.raises(TorchFileError) as exc:
        read_state_dict(path)
    assert_one_line_error(exc, path, "forbidden global", f"{module}.{name}")
    assert not marker.exists()
    assert calls == []


def test_view_outside_storage_is_refused(tmp_path: Path) -> None:
    cases = {
        "too_far": tensor("0", 4, 2, (3,), (1,)),
        "stride_overflow": tensor("0", 4, 0, (2, 2), (4, 1)),
        "numel_lies": tensor("0", 1000, 0, (1000,), (1,)),
        "negative": tensor("0", 4, 0, (2,), (-1,)),
        "rank_mismatch": tensor("0", 4, 0, (2, 2), (1,)),
    }
    for label, t in cases.items():
        storages = {"0": np.zeros(4, np.float32).tobytes()}
        path = make_zip(tmp_path / f"{label}.pth", dumps(OD({"w": t})), storages)
        with pytest.raises(TorchFileError) as exc:
            read_state_dict(path)
        assert_one_line_error(exc, path)


def test_missing_storage_record(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "nostore.pth", dumps(OD({"w": tensor("7", 2, 0, (2,), (1,))})))
    with pytest.raises(TorchFileError) as exc:
        read_state_dict(path)
    assert_one_line_error(exc, path, "data/7")


@pytest.mark.parametrize(
    ("label", "obj", "words"),
    [
        ("no_tensors", {"params": OD({"a": 1}), "epoch": 2}, ["no tensors"]),
        ("list", [1, 2, 3], ["no tensors"]),
        ("single_tensor", tensor("0", 1, 0, (), ()), ["single tensor"]),
    ],
)
def test_no_state_dict(tmp_path: Path, label: str, obj: Any, words: list[str]) -> None:
    path = make_zip(tmp_path / f"{label}.pth", dumps(obj), {"0": b"\0\0\0\0"})
    with pytest.raises(TorchFileError) as exc:
        read_state_dict(path)
    assert_one_line_error(exc, path, *words)


def test_garbage_pickle(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "garbage.pth", b"\x80\x02}q\x00(X\x05\x00")
    with pytest.raises(TorchFileError) as exc:
        read_state_dict(path)
    assert_one_line_error(exc, path, "corrupt data.pkl")


def _with_build(target: Any, state: Any) -> bytes:
    """OrderedDict({'w': <target, then BUILD(state)>}) as a protocol-2 pickle."""
    out = [pickle.PROTO + b"\x02"]
    _emit(Call(G("collections", "OrderedDict")), out, 2)
    out.append(pickle.MARK)
    _emit("w", out, 2)
    _emit(target, out, 2)
    _emit(state, out, 2)
    out.append(pickle.BUILD + pickle.SETITEMS + pickle.STOP)
    return b"".join(out)


@pytest.mark.parametrize(
    ("label", "target", "state"),
    [
        # grow a validated tensor view past its storage
        ("tensor", tensor("0", 4, 0, (4,), (1,)), (None, {"size": (100000,)})),
        ("tensor_dict", tensor("0", 4, 0, (4,), (1,)), {"size": (100000,)}),
        # mutate shared allow-list entries for later loads
        ("storage_type", G("torch", "FloatStorage"), (None, {"dtype": "float64"})),
        ("function", G("torch._utils", "_rebuild_tensor_v2"), (None, {"__defaults__": (1, 2)})),
    ],
)
def test_build_cannot_modify_unpickled_objects(tmp_path: Path, label: str, target: Any, state: Any) -> None:
    storages = {"0": np.arange(4, dtype=np.float32).tobytes()}
    path = make_zip(tmp_path / f"{label}.pth", _with_build(target, state), storages)
    with pytest.raises(TorchFileError) as exc:
        read_state_dict(path)
    assert_one_line_error(exc, path, "BUILD")
    # the allow-list is intact for the next load
    ok = make_zip(tmp_path / "ok.pth", dumps(OD({"w": tensor("0", 4, 0, (4,), (1,))})), storages)
    got = read_state_dict(ok)["w"]
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, [0, 1, 2, 3])


@pytest.mark.parametrize(
    ("size", "stride"), [((2**62,), (0,)), ((2**40, 2**40), (0, 0)), ((0, 2**70), (1, 0))]
)
def test_absurd_shapes_are_refused_not_crashing(
    tmp_path: Path, size: tuple[int, ...], stride: tuple[int, ...]
) -> None:
    path = make_zip(
        tmp_path / "huge.pth", dumps(OD({"w": tensor("0", 1, 0, size, stride)})), {"0": b"\0\0\0\0"}
    )
    with pytest.raises(TorchFileError) as exc:
        read_state_dict(path)
    assert_one_line_error(exc, path, "cannot build tensor")
