"""A PEP 503 package index on 127.0.0.1, in a thread, that logs every path asked of it.

It serves hand-made wheels: a stand-in ``numpy`` (so that no test needs the network or a 20 MB
download) and whatever a test plants, such as a higher-versioned ``tinytorch-tensor``.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import threading
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def make_wheel(
    dest: Path,
    name: str,
    version: str,
    files: Mapping[str, str],
    requires: Sequence[str] = (),
) -> Path:
    """Write a pure-Python wheel of ``name==version`` holding ``files`` into ``dest``."""
    stem = f"{name.replace('-', '_')}-{version}"
    info = f"{stem}.dist-info"
    contents = dict(files)
    contents[f"{info}/METADATA"] = (
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        + "".join(f"Requires-Dist: {r}\n" for r in requires)
    )
    contents[f"{info}/WHEEL"] = (
        "Wheel-Version: 1.0\nGenerator: tools-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    record = []
    for path, text in contents.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{path},sha256={digest.decode()},{len(text.encode())}")
    record.append(f"{info}/RECORD,,")
    contents[f"{info}/RECORD"] = "\n".join(record) + "\n"
    dest.mkdir(parents=True, exist_ok=True)
    wheel = dest / f"{stem}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in contents.items():
            archive.writestr(path, text)
    return wheel


@dataclass
class LocalIndex:
    """The index's folder, its ``--index-url`` and the paths requested so far."""

    root: Path
    url: str = ""
    requested: list[str] = field(default_factory=list)

    def add(self, project: str, wheel: Path) -> None:
        """Offer ``wheel`` on the project page of ``project`` (a PEP 503 normalized name)."""
        files = self.root / "files"
        files.mkdir(parents=True, exist_ok=True)
        target = files / wheel.name
        target.write_bytes(wheel.read_bytes())
        page = self.root / "simple" / project / "index.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        links = page.read_text() if page.exists() else ""
        sha = hashlib.sha256(target.read_bytes()).hexdigest()
        links += f'<a href="../../files/{wheel.name}#sha256={sha}">{wheel.name}</a><br>\n'
        page.write_text(links)

    def asked_about(self, text: str) -> list[str]:
        """The requested paths that contain ``text``."""
        return [p for p in self.requested if text in p]


@contextmanager
def serve(root: Path) -> Iterator[LocalIndex]:
    """Serve ``root`` (``simple/<project>/index.html`` pages and ``files/``) while in the block."""
    index = LocalIndex(root)
    (root / "simple").mkdir(parents=True, exist_ok=True)

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(root), **kwargs)

        def send_head(self) -> Any:
            index.requested.append(self.path)
            return super().send_head()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    index.url = f"http://127.0.0.1:{server.server_address[1]}/simple/"
    try:
        yield index
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


STAND_IN_NUMPY = "999.0.0"


def stand_in_numpy(index: LocalIndex, scratch: Path, requires: Sequence[str] = ()) -> None:
    """Offer a tiny ``numpy`` (``numpy.STAND_IN = True``) on ``index``, requiring ``requires``.

    Its version is higher than any real numpy's, so that it is the one installed even where
    pip's configuration adds other indexes or find-links (pip takes the best candidate of all).
    """
    files = {"numpy/__init__.py": "STAND_IN = True\n"}
    index.add("numpy", make_wheel(scratch, "numpy", STAND_IN_NUMPY, files, requires))
