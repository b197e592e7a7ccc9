"""Model management against a local HTTP server (127.0.0.1) serving archives built here: pull with progress,
resume after a cut connection (HTTP Range), checksum mismatch rejected, unknown checksum refused unless trusted,
verify, and the missing-model error naming the command that fixes it."""

from __future__ import annotations

import hashlib
import io
import os
import re
import subprocess
import sys
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from voice.config import VoiceSettings
from voice.models import ModelError, asr_model_dir, load_catalogue, model_path, pull, verify

VOICEBOT = str(Path(sys.executable).parent / "voicebot")


def vosk_zip() -> bytes:
    """A Vosk-layout archive with one top folder, like the official ones (the content is random)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("vosk-model-test-0.1/am/final.mdl", os.urandom(300_000))
        zf.writestr("vosk-model-test-0.1/conf/model.conf", "--sample-frequency=8000\n")
        zf.writestr("vosk-model-test-0.1/README", "test model\n")
    return buffer.getvalue()


class Files(BaseHTTPRequestHandler):
    files: ClassVar[dict[str, bytes]] = {}
    cut_after: int | None = None  # drop the connection after this many bytes of the next response
    requests: ClassVar[list[tuple[str, str | None]]] = []

    def do_GET(self):
        body = self.files.get(self.path)
        range_header = self.headers.get("Range")
        self.requests.append((self.path, range_header))
        if body is None:
            self.send_error(404)
            return
        start = int(range_header.removeprefix("bytes=").rstrip("-")) if range_header else 0
        self.send_response(206 if range_header else 200)
        if range_header:
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        payload = body[start:]
        if Files.cut_after is not None:
            payload, Files.cut_after = payload[: Files.cut_after], None
            self.wfile.write(payload)
            self.wfile.flush()
            self.connection.shutdown(2)
            return
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Files)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    Files.files, Files.requests, Files.cut_after = {}, [], None
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def catalogue(
    tmp_path: Path,
    base: str,
    archive: bytes,
    sha256: str | None,
    *,
    md5: str | None = None,
    size: int | None = None,
) -> VoiceSettings:
    Files.files["/models/vosk-model-test-0.1.zip"] = archive
    Files.files["/voices/test.onnx"] = b"onnx" * 1000
    Files.files["/voices/test.onnx.json"] = b'{"audio": {"sample_rate": 22050}}'
    digest = f'"{sha256}"' if sha256 else "null"
    extra = (f'\n        md5: "{md5}"' if md5 else "") + (
        f"\n        size: {size}" if size is not None else ""
    )
    path = tmp_path / "catalogue.yml"
    path.write_text(
        f"""models:
  vosk-test:
    kind: asr
    lang: ru
    description: test
    unpack: zip
    files:
      - url: {base}/models/vosk-model-test-0.1.zip
        sha256: {digest}{extra}
  voice-test:
    kind: tts
    lang: ru
    description: test voice
    files:
      - url: {base}/voices/test.onnx
        sha256: {hashlib.sha256(Files.files["/voices/test.onnx"]).hexdigest()}
      - url: {base}/voices/test.onnx.json
        sha256: {hashlib.sha256(Files.files["/voices/test.onnx.json"]).hexdigest()}
""",
        encoding="utf-8",
    )
    return VoiceSettings(models_dir=tmp_path / "models", catalogue=path, asr_ru="vosk-test")


def test_pull_unpacks_a_checked_archive_and_verify_detects_changes(tmp_path, server):
    archive = vosk_zip()
    settings = catalogue(tmp_path, server, archive, hashlib.sha256(archive).hexdigest())
    seen: list[tuple[int, int | None]] = []
    path = pull(settings, "vosk-test", progress=lambda name: lambda done, total: seen.append((done, total)))
    assert path == settings.models_dir / "vosk-test"
    assert (path / "am" / "final.mdl").stat().st_size == 300_000  # the archive's top folder is dropped
    assert asr_model_dir(settings, "ru") == path
    assert seen[-1] == (len(archive), len(archive))
    assert verify(settings.models_dir, "vosk-test") == []
    (path / "conf" / "model.conf").write_text("tampered")
    assert verify(settings.models_dir, "vosk-test") == ["conf/model.conf: changed since it was installed"]


def test_a_cut_download_resumes_with_a_range_request(tmp_path, server):
    archive = vosk_zip()
    settings = catalogue(tmp_path, server, archive, hashlib.sha256(archive).hexdigest())
    Files.cut_after = 100_000
    with pytest.raises(ModelError, match="run the command again to resume"):
        pull(settings, "vosk-test")
    partial = settings.models_dir / ".downloads" / "vosk-test" / "vosk-model-test-0.1.zip"
    have = partial.stat().st_size
    assert 0 < have <= 100_000
    pull(settings, "vosk-test")
    assert Files.requests[-1] == ("/models/vosk-model-test-0.1.zip", f"bytes={have}-")
    assert verify(settings.models_dir, "vosk-test") == []
    assert not partial.exists()


def test_a_checksum_mismatch_is_rejected_and_nothing_is_installed(tmp_path, server):
    settings = catalogue(tmp_path, server, vosk_zip(), "0" * 64)
    with pytest.raises(ModelError, match="does not match"):
        pull(settings, "vosk-test")
    assert not (settings.models_dir / "vosk-test").exists()
    assert not list((settings.models_dir / ".downloads" / "vosk-test").iterdir())


def test_an_unknown_checksum_is_refused_unless_given_or_trusted(tmp_path, server):
    archive = vosk_zip()
    settings = catalogue(tmp_path, server, archive, None)
    with pytest.raises(ModelError, match=r"--sha256 vosk-model-test-0\.1\.zip=HEX"):
        pull(settings, "vosk-test")
    with pytest.raises(ModelError, match="does not match"):
        pull(settings, "vosk-test", checksums={"vosk-model-test-0.1.zip": "f" * 64})
    pull(settings, "vosk-test", checksums={"vosk-model-test-0.1.zip": hashlib.sha256(archive).hexdigest()})
    path = pull(settings, "vosk-test", trust=True)
    assert '"check": "trusted on first use"' in (path / "manifest.json").read_text()


def test_an_md5_only_archive_is_checked_by_md5_and_exact_size(tmp_path, server):
    archive = vosk_zip()
    md5 = hashlib.md5(archive).hexdigest()
    wrong_size = catalogue(tmp_path, server, archive, None, md5=md5, size=len(archive) + 1)
    with pytest.raises(ModelError, match="the catalogue says"):
        pull(wrong_size, "vosk-test")
    with pytest.raises(ModelError, match=f"md5 {md5} does not match"):
        pull(catalogue(tmp_path, server, archive, None, md5="0" * 32, size=len(archive)), "vosk-test")
    path = pull(catalogue(tmp_path, server, archive, None, md5=md5, size=len(archive)), "vosk-test")
    assert '"check": "md5 matched"' in (path / "manifest.json").read_text()
    assert verify(tmp_path / "models", "vosk-test") == []


def test_the_shipped_catalogue_has_a_checksum_and_exact_size_for_every_file_but_the_big_vosk_model():
    entries = load_catalogue(Path(__file__).parents[2] / "voice" / "catalogue.yml")
    unchecked = [f.name for entry in entries.values() for f in entry.files if not (f.sha256 or f.md5)]
    assert unchecked == ["vosk-model-ru-0.42.zip"]
    for entry in entries.values():
        for f in entry.files:
            if f.sha256 or f.md5:
                assert f.size and f.size > 0, f.name
                assert (
                    re.fullmatch(r"[0-9a-f]{64}", f.sha256)
                    if f.sha256
                    else re.fullmatch(r"[0-9a-f]{32}", f.md5)
                )


def test_a_piper_voice_is_installed_as_its_files(tmp_path, server):
    settings = catalogue(tmp_path, server, vosk_zip(), None)
    path = pull(settings, "voice-test")
    assert sorted(p.name for p in path.iterdir()) == ["manifest.json", "test.onnx", "test.onnx.json"]


def test_a_missing_model_names_the_command_that_installs_it(tmp_path):
    with pytest.raises(ModelError, match=r"run `voicebot models pull vosk-small-ru`"):
        model_path(tmp_path, "vosk-small-ru")
    with pytest.raises(ModelError, match="unknown model"):
        pull(VoiceSettings(models_dir=tmp_path), "vosk-nope")


@pytest.mark.slow
def test_the_cli_pulls_verifies_and_prints_the_path(tmp_path, server):
    archive = vosk_zip()
    settings = catalogue(tmp_path, server, archive, hashlib.sha256(archive).hexdigest())
    env = {
        **os.environ,
        "VOICEBOT_VOICE__MODELS_DIR": str(settings.models_dir),
        "VOICEBOT_VOICE__CATALOGUE": str(settings.catalogue),
    }

    def voicebot(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([VOICEBOT, *args], env=env, capture_output=True, text=True, timeout=60)

    missing = voicebot("models", "path", "vosk-test")
    assert missing.returncode == 1 and "voicebot models pull vosk-test" in missing.stderr
    assert voicebot("models", "pull", "vosk-test").returncode == 0
    assert voicebot("models", "verify", "vosk-test").stdout.strip() == "vosk-test: ok"
    assert voicebot("models", "path", "vosk-test").stdout.strip() == str(settings.models_dir / "vosk-test")
    listing = voicebot("models", "list").stdout
    assert "vosk-test" in listing and "installed" in listing
