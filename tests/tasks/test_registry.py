"""Data sets by name: each entry's shape and pinned checksums against the real files, where the
data root is, and the download path against a small HTTP server on loopback (no internet)."""
import dataclasses
import hashlib
import http.server
import threading

import numpy as np
import pytest

from rfemu import cli
from rfemu.tasks import DATASETS, DataError, RemoteFile, registry


# ------------------------------------------------------------------------------ the entries

@pytest.mark.parametrize("name", [n for n, d in DATASETS.items() if not d.needs_files])
def test_built_in_entries_load_with_their_declared_shape_and_keys(name):
    d = DATASETS[name]
    task = registry.load(name, seed=0)
    assert task.n_features == d.n_features and task.n_classes == d.n_classes
    assert set(np.unique(task.y_train)) == set(range(d.n_classes))
    assert task.x_train.min() >= 0 and task.x_train.max() <= 1
    assert d.keys == frozenset(d.defaults) and "path" not in d.keys
    if d.image_shape:
        assert np.prod(d.image_shape) == d.n_features


@pytest.mark.parametrize("name", [n for n, d in DATASETS.items() if d.needs_files])
def test_real_files_have_the_pinned_checksums_and_the_declared_shape(name, require_data):
    d = DATASETS[name]
    path = require_data(name)
    folder = path.parent if path.is_file() else path
    for f in d.files:
        assert registry.sha256_of(folder / f.name) == f.sha256
        assert (folder / f.name).stat().st_size == f.size
        assert f.url.startswith("https://") and f.name in f.url
    task = registry.load(name, {"n_train": 50, "n_test": 20} if name == "mnist" else {})
    assert task.n_features == d.n_features and task.n_classes == d.n_classes
    assert d.licence and d.source and "path" in d.keys


def test_settings_keep_the_defaults_the_caller_leaves_out():
    a = registry.load("xor", {"n_train": 40, "n_test": None}, seed=3)
    assert len(a.y_train) == 40 and len(a.y_test) == DATASETS["xor"].defaults["n_test"]
    b = registry.load("xor", {"n_train": 40}, seed=3)
    assert np.array_equal(a.x_test, b.x_test)


# ------------------------------------------------------------------------------ the data root

def test_rfemu_data_wins_over_the_per_user_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("RFEMU_DATA", raising=False)
    assert registry.data_root() == tmp_path / "cache" / "rfemu"
    monkeypatch.setenv("RFEMU_DATA", str(tmp_path / "mine"))
    assert registry.data_root() == tmp_path / "mine"
    assert registry.default_path("drone") == tmp_path / "mine" / "drone_rf" / DATASETS["drone"].files[0].name
    assert registry.missing_files("mnist") == [tmp_path / "mine" / "mnist" / f.name
                                               for f in DATASETS["mnist"].files]


def test_a_missing_data_set_names_the_command_that_fetches_it(monkeypatch, tmp_path):
    monkeypatch.setenv("RFEMU_DATA", str(tmp_path))
    assert not registry.is_present("drone") and registry.is_present("digits")
    with pytest.raises(DataError, match="rfemu data fetch drone") as info:
        registry.load("drone")
    assert str(tmp_path) in str(info.value)
    # uncompressed IDX files count as present (the MNIST loader reads both)
    (tmp_path / "mnist").mkdir()
    for f in DATASETS["mnist"].files:
        (tmp_path / "mnist" / f.name.removesuffix(".gz")).write_bytes(b"")
    assert registry.is_present("mnist")


# ------------------------------------------------------------------------------ the download

PAYLOAD = bytes(range(256)) * 40


class _Handler(http.server.BaseHTTPRequestHandler):
    requests = []

    def do_GET(self):                       # noqa: N802 (http.server's name)
        _Handler.requests.append(self.path)
        body = PAYLOAD
        self.send_response(200)
        # /cut announces the whole file and sends half of it, then closes the connection
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2] if self.path == "/cut" else body)
        self.wfile.flush()
        if self.path == "/cut":
            self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture
def server(monkeypatch):
    """A small HTTP server on 127.0.0.1 serving PAYLOAD (whole at /file, cut short at /cut)."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    _Handler.requests = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _entry(url, sha256=hashlib.sha256(PAYLOAD).hexdigest()):
    return dataclasses.replace(DATASETS["drone"], name="tiny", folder="tiny",
                               files=(RemoteFile("tiny.bin", url, sha256, len(PAYLOAD)),))


def test_fetch_downloads_checks_and_keeps_the_file(server, tmp_path):
    d = _entry(server + "/file")
    [path] = registry.fetch(d, root=tmp_path)
    assert path == tmp_path / "tiny" / "tiny.bin" and path.read_bytes() == PAYLOAD
    assert registry.is_present(d, tmp_path)
    registry.fetch(d, root=tmp_path)                       # already there: not downloaded again
    assert _Handler.requests == ["/file"]
    assert sorted(p.name for p in (tmp_path / "tiny").iterdir()) == ["tiny.bin"]


@pytest.mark.parametrize("path, sha256, match", [
    ("/file", "0" * 64, "SHA256|hash"),                    # the server's file is not the pinned one
    ("/cut", hashlib.sha256(PAYLOAD).hexdigest(), "failed"),   # the connection drops halfway
    ("/cut", hashlib.sha256(PAYLOAD[:len(PAYLOAD) // 2]).hexdigest(), "failed"),
])
def test_a_wrong_or_cut_download_is_one_error_and_leaves_nothing(server, tmp_path, path, sha256, match):
    d = _entry(server + path, sha256)
    with pytest.raises(DataError, match=match) as info:
        registry.fetch(d, root=tmp_path)
    assert "nothing was written" in str(info.value) and server + path in str(info.value)
    folder = tmp_path / "tiny"
    assert not folder.exists() or list(folder.iterdir()) == []
    assert not registry.is_present(d, tmp_path)


def test_a_failing_source_falls_back_to_its_mirror(server, tmp_path):
    d = _entry(server + "/cut")
    d = dataclasses.replace(d, files=(dataclasses.replace(d.files[0], mirrors=(server + "/file",)),))
    [path] = registry.fetch(d, root=tmp_path)
    assert path.read_bytes() == PAYLOAD and _Handler.requests == ["/cut", "/file"]
    assert all(f.mirrors and f.name in f.mirrors[0] for f in DATASETS["mnist"].files)


def test_fetch_never_replaces_a_file_it_did_not_write(server, tmp_path):
    d = _entry(server + "/file")
    (tmp_path / "tiny").mkdir()
    mine = tmp_path / "tiny" / "tiny.bin"
    mine.write_bytes(b"the user's own version")
    with pytest.raises(DataError, match="does not replace"):
        registry.fetch(d, root=tmp_path)
    assert mine.read_bytes() == b"the user's own version" and _Handler.requests == []


def test_the_command_fetches_into_the_data_root_and_info_lists_it(server, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RFEMU_DATA", str(tmp_path))
    monkeypatch.setitem(DATASETS, "drone", dataclasses.replace(_entry(server + "/file"), name="drone"))
    assert "drone    MISSING (run `rfemu data fetch drone`)" in cli.info_text()
    assert cli.main(["data", "fetch", "drone", "-q"]) == 0
    assert (tmp_path / "tiny" / "tiny.bin").read_bytes() == PAYLOAD
    assert f"drone    found: {tmp_path / 'tiny' / 'tiny.bin'}" in cli.info_text()
    assert cli.main(["data", "fetch", "nosuch"]) == 2
    monkeypatch.setitem(DATASETS, "drone", _entry(server + "/cut"))
    (tmp_path / "tiny" / "tiny.bin").unlink()
    assert cli.main(["data", "fetch", "drone", "-q"]) == 1
    assert "nothing was written" in capsys.readouterr().err
