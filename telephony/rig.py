"""A local rig of real SIP peers for tests and benchmarks (127.0.0.1 only): Kamailio, baresip and SIPp starters,
RTP pcaps for SIPp, captures and audio comparison. Config and scenario files live in `telephony/rig/`."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import struct
import subprocess
import time
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from telephony.rtp.codec import G711

RIG = Path(__file__).parent / "rig"
LOCALHOST = "127.0.0.1"


def have_peers() -> bool:
    return all(shutil.which(tool) for tool in ("kamailio", "baresip", "sipp"))


def wait_udp_port_bound(port: int, timeout: float = 5.0) -> None:
    """Until something listens on udp 127.0.0.1:port (binding it ourselves fails)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind((LOCALHOST, port))
        except OSError:
            return
        finally:
            sock.close()
        time.sleep(0.05)
    raise TimeoutError(f"nothing bound udp {port}")


def wait_tcp_port_listening(port: int, timeout: float = 5.0) -> None:
    """Until something accepts tcp connections on 127.0.0.1:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((LOCALHOST, port), timeout=0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on tcp {port}")


@dataclass
class Peer:
    name: str
    proc: subprocess.Popen
    log: Path

    def stop(self, timeout: float = 5.0) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout)

    def wait(self, timeout: float) -> int:
        return self.proc.wait(timeout)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


RUNNING: list[Peer] = []


def stop_all() -> None:
    """Stop every peer started since the last call (test teardown)."""
    while RUNNING:
        RUNNING.pop().stop()


def _spawn(name: str, cmd: list[str], workdir: Path, stdin=None) -> Peer:
    log = workdir / f"{name}.log"
    out = log.open("wb")
    proc = subprocess.Popen(
        cmd, stdout=out, stderr=subprocess.STDOUT, stdin=stdin, cwd=workdir, start_new_session=True
    )
    out.close()
    peer = Peer(name, proc, log)
    RUNNING.append(peer)
    return peer


# ---- Kamailio ---------------------------------------------------------------
def _run_kamailio(workdir: Path, name: str, port: int, cfg: str, options: tuple[str, ...] = ()) -> Peer:
    """Write `cfg` to NAME.cfg and run Kamailio on it in the foreground until `port` is bound; the caller stops it
    (not in RUNNING: session-scoped fixtures own it)."""
    path = workdir / f"{name}.cfg"
    path.write_text(cfg)
    pid = workdir / f"kam-{port}.pid"
    cmd = ["kamailio", "-f", str(path), "-P", str(pid), "-E", "-DD", "-Y", str(workdir), *options]
    peer = _spawn(name, cmd, workdir)
    RUNNING.remove(peer)
    wait_udp_port_bound(port)
    time.sleep(0.2)
    return peer


def start_kamailio(
    workdir: Path,
    port: int,
    trunk_port: int,
    auth: bool = False,
    tls: TestPki | None = None,
    tls_port: int = 0,
) -> Peer:
    """The registrar/proxy on udp and tcp `port`; with `tls` (certificates from `make_pki`) also SIP over TLS on
    `tls_port`, presenting the server certificate `tls.server_cert`."""
    cfg = (
        (RIG / "kamailio.cfg.in").read_text().replace("@PORT@", str(port)).replace("@TRUNK@", str(trunk_port))
    )
    options = ("-A", "WITH_AUTH") if auth else ()
    if tls is not None:
        cfg = cfg.replace("@TLS_PORT@", str(tls_port))
        cfg = cfg.replace("@TLS_CERT@", str(tls.server_cert)).replace("@TLS_KEY@", str(tls.server_key))
        options += ("-A", "WITH_TLS")
    return _run_kamailio(workdir, f"kamailio-{port}", port, cfg, options)


# ---- certificates -----------------------------------------------------------
@dataclass(frozen=True)
class TestPki:
    """A throwaway CA and a server certificate for 127.0.0.1/localhost signed by it (PEM files)."""

    ca_cert: Path
    server_cert: Path
    server_key: Path
    server_pem: Path  # certificate + key in one file (baresip's sip_certificate)


def make_pki(workdir: Path, name: str = "ca") -> TestPki:
    """A new CA (its own key, 1 day) and a server certificate it signs, with the openssl command line."""
    folder = workdir / f"pki-{name}"
    folder.mkdir(parents=True, exist_ok=True)

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", f"/CN=voicebot test {name}",
            "-keyout", "ca.key", "-out", "ca.pem")  # fmt: skip
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", "server.key",
            "-out", "server.csr")  # fmt: skip
    (folder / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-days", "1", "-extfile", "san.ext", "-out", "server.pem")  # fmt: skip
    both = folder / "server-with-key.pem"
    both.write_text((folder / "server.pem").read_text() + (folder / "server.key").read_text())
    return TestPki(folder / "ca.pem", folder / "server.pem", folder / "server.key", both)


def start_kamailio_dispatcher(
    workdir: Path,
    port: int,
    destinations: list[str],
    ping_interval: int = 1,
    fr_timer_ms: int = 2000,
) -> Peer:
    """Kamailio as the inbound load balancer: round-robin over `destinations` (SIP URIs of the workers, dispatcher
    set 1, written to a list file), OPTIONS probing every `ping_interval` s, failover of an INVITE a worker leaves
    unanswered for `fr_timer_ms`. The caller stops it (not in RUNNING)."""
    if not destinations:
        raise ValueError("the dispatcher needs at least one destination")
    listing = workdir / f"dispatcher-{port}.list"
    listing.write_text("".join(f"1 {uri}\n" for uri in destinations))
    cfg = (RIG / "kamailio-dispatcher.cfg.in").read_text()
    for key, value in {
        "@PORT@": port,
        "@LIST@": listing,
        "@PING_INTERVAL@": ping_interval,
        "@FR_TIMER@": fr_timer_ms,
    }.items():
        cfg = cfg.replace(key, str(value))
    return _run_kamailio(workdir, f"kamailio-dispatcher-{port}", port, cfg)


# ---- baresip ----------------------------------------------------------------
def make_baresip(
    workdir: Path,
    name: str,
    sip_port: int,
    wav: Path,
    codec: str,
    proxy_port: int,
    auto_answer: bool = False,
    regint: int = 600,
    stdio: bool = False,
    tls: TestPki | None = None,
    mediaenc: str | None = None,
) -> Path:
    """A baresip config dir: account NAME@127.0.0.1 via Kamailio, plays `wav`, records dump-*-{enc,dec}.wav.

    With `tls` the account registers over TLS to `proxy_port` (baresip presents `tls.server_pem` where it listens);
    `mediaenc` ("srtp-mand", "srtp") loads the srtp module and sets the account's media encryption."""
    home = workdir / "baresip" / name
    shutil.rmtree(home, ignore_errors=True)
    (home / "rec").mkdir(parents=True)
    modules = ["g711.so", "aufile.so", "aubridge.so", "sndfile.so"] + (["stdio.so"] if stdio else [])
    modules += ["srtp.so"] if mediaenc else []
    config = f"""poll_method epoll
net_interface 127.0.0.1
sip_listen 127.0.0.1:{sip_port}
call_local_timeout 120
call_max_calls 4
audio_player aubridge,nil
audio_source aufile,{wav}
audio_alert aubridge,nil
ausrc_srate 8000
auplay_srate 8000
ausrc_channels 1
auplay_channels 1
audio_buffer 40
jitter_buffer_delay 2-10
rtp_ports {sip_port * 2}-{sip_port * 2 + 99}
module_path /usr/lib/baresip/modules
{chr(10).join("module " + m for m in modules)}
module_tmp uuid.so
module_tmp account.so
module_app menu.so
snd_path {home / "rec"}
"""
    if tls is not None:
        config += f"sip_certificate {tls.server_pem}\nsip_cafile {tls.ca_cert}\n"
    (home / "config").write_text(config)
    transport = ";transport=tls" if tls is not None else ""
    account = (
        f'<sip:{name}@127.0.0.1{transport}>;auth_pass=secret;outbound="sip:127.0.0.1:{proxy_port}{transport}"'
        f";regint={regint};audio_codecs={codec}"
    )
    if mediaenc:
        account += f";mediaenc={mediaenc}"
    if auto_answer:
        account += ";answermode=auto"
    (home / "accounts").write_text(account + "\n")
    return home


def start_baresip(home: Path, timeout: int, commands: list[str] = (), stdin=None) -> Peer:
    cmd = ["baresip", "-f", str(home), "-t", str(timeout)]
    for command in commands:
        cmd += ["-e", command]
    return _spawn(f"baresip-{home.name}", cmd, home, stdin=stdin or subprocess.DEVNULL)


def recording(home: Path, kind: str) -> Path:
    """The newest recording of `kind` 'enc' (what baresip sent) or 'dec' (what it heard)."""
    files = sorted((home / "rec").glob(f"dump-*-{kind}.wav"), key=lambda p: p.stat().st_mtime)
    if not files:
        raise FileNotFoundError(f"no {kind} recording in {home / 'rec'}")
    return files[-1]


# ---- SIPp -------------------------------------------------------------------
def start_sipp(workdir: Path, args: list[str], name: str = "sipp") -> Peer:
    return _spawn(name, ["sipp", *args, "-nostdin"], workdir)


def sipp_caller_args(
    proxy_port: int,
    scenario: Path,
    service: str,
    sip_port: int,
    media_port: int,
    *,
    calls: int = 1,
    timeout: float,
    pcap: Path | None = None,
) -> list[str]:
    """SIPp's arguments to call `service` through the proxy on `proxy_port` with a UAC `scenario`, `calls` times,
    from `sip_port` (RTP from `media_port`); with `pcap`, the PCMU audio its scenario plays."""
    args = [f"{LOCALHOST}:{proxy_port}", "-sf", str(scenario), "-s", service, "-i", LOCALHOST]
    args += ["-p", str(sip_port), "-mp", str(media_port), "-m", str(calls), "-timeout", str(int(timeout))]
    if pcap is not None:
        args += ["-key", "codec", "0", "-key", "codecname", "PCMU", "-key", "pcap", str(pcap)]
    return args


def pcap_from_pcm(pcm: np.ndarray, path: Path, codec: str) -> Path:
    """An RTP pcap (Ethernet/IPv4/UDP, 20 ms G.711) from int16 samples, for SIPp play_pcap_audio."""
    g711 = G711(codec)
    enc = g711.encode(pcm.astype("<i2").tobytes())
    out = bytearray(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    seq, ts, ssrc, t0 = 1000, 160000, 0x1234ABCD, 1_700_000_000.0
    for n, i in enumerate(range(0, len(enc) - 159, 160)):
        rtp = (
            struct.pack("!BBHII", 0x80, g711.payload_type | (0x80 if i == 0 else 0), seq, ts, ssrc)
            + enc[i : i + 160]
        )
        udp = struct.pack("!HHHH", 40000, 40000, 8 + len(rtp), 0) + rtp
        iph = struct.pack(
            "!BBHHHBBH4s4s",
            0x45,
            0,
            20 + len(udp),
            0,
            0,
            64,
            17,
            0,
            bytes([127, 0, 0, 1]),
            bytes([127, 0, 0, 1]),
        )
        total = sum(struct.unpack("!10H", iph))
        total = (total >> 16) + (total & 0xFFFF)
        total += total >> 16
        iph = iph[:10] + struct.pack("!H", ~total & 0xFFFF) + iph[12:]
        frame = b"\0" * 12 + b"\x08\x00" + iph + udp
        t = t0 + n * 0.02
        out += struct.pack("<IIII", int(t), round((t % 1) * 1e6), len(frame), len(frame)) + frame
        seq, ts = seq + 1, ts + 160
    path.write_bytes(bytes(out))
    return path


# ---- audio ------------------------------------------------------------------
def speechlike(seconds: float, seed: int = 1, level: float = 0.3) -> np.ndarray:
    """Deterministic non-periodic test audio: band-limited noise shaped into 'syllables' (int16, 8 kHz)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * 8000)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / 8000)
    spectrum *= np.exp(-(((freqs - 700) / 600) ** 2)) + 0.4 * np.exp(-(((freqs - 1800) / 500) ** 2))
    x = np.fft.irfft(spectrum, n)
    t = np.arange(n) / 8000
    envelope = 0.55 + 0.45 * np.sin(2 * np.pi * 3.1 * t + rng.uniform(0, 6)) * np.sin(2 * np.pi * 0.7 * t + 1)
    x = x * np.abs(envelope)
    x = x / np.max(np.abs(x)) * level
    return (x * 32767).astype(np.int16)


def write_wav(path: Path, pcm: np.ndarray | bytes, pad_seconds: float = 0.0) -> Path:
    data = pcm.astype("<i2").tobytes() if isinstance(pcm, np.ndarray) else pcm
    data += bytes(int(pad_seconds * 8000) * 2)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(data)
    return path


def read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path)) as w:
        assert w.getframerate() == 8000, f"{path}: {w.getframerate()} Hz"
        raw = w.readframes(w.getnframes())
        if w.getsampwidth() == 1:
            return ((np.frombuffer(raw, np.uint8).astype(np.int16) - 128) * 256).astype(np.int16)
        samples = np.frombuffer(raw, np.int16)
        return samples[:: w.getnchannels()] if w.getnchannels() > 1 else samples


@dataclass(frozen=True)
class AudioMatch:
    lag: int
    snr_db: float
    seg_snr_median_db: float
    corr: float
    active_frames: int
    dead_frames: int


def compare_audio(ref: np.ndarray, got: np.ndarray) -> AudioMatch:
    """cmp_audio.py's measure: align by cross-correlation, gain-matched SNR, correlation, dead frames."""
    r0, g0 = ref.astype(np.float64) / 32768, got.astype(np.float64) / 32768
    if len(g0) == 0 or not np.any(g0):
        return AudioMatch(0, -99.0, -99.0, 0.0, 0, 0)
    size = 1 << int(np.ceil(np.log2(len(r0) + len(g0))))
    corr = np.fft.irfft(np.fft.rfft(g0, size) * np.conj(np.fft.rfft(r0, size)), size)
    idx = int(np.argmax(corr))
    lag = idx if idx < size - len(r0) + 1 else idx - size
    if lag >= 0:
        g = g0[lag : lag + len(r0)]
        r = r0[: len(g)]
    else:
        r = r0[-lag:]
        g = g0[: len(r)]
    n = min(len(r), len(g))
    r, g = r[:n], g[:n]
    gain = float(np.dot(r, g) / max(1e-12, np.dot(r, r)))
    err = g - gain * r
    snr = 10 * np.log10(np.sum((gain * r) ** 2) / max(1e-12, np.sum(err**2)))
    cc = float(np.corrcoef(r, g)[0, 1]) if n > 1 else 0.0
    frames = n // 160
    active = [i for i in range(frames) if np.sqrt(np.mean(r[i * 160 : (i + 1) * 160] ** 2)) > 0.01]
    dead = [i for i in active if np.sqrt(np.mean(g[i * 160 : (i + 1) * 160] ** 2)) < 0.002]
    seg = []
    for i in active:
        rr, gg = gain * r[i * 160 : (i + 1) * 160], g[i * 160 : (i + 1) * 160]
        seg.append(10 * np.log10(max(np.sum(rr**2), 1e-12) / max(np.sum((gg - rr) ** 2), 1e-12)))
    return AudioMatch(lag, float(snr), float(np.median(seg)) if seg else -99.0, cc, len(active), len(dead))


def start_shell(workdir: Path, script: str, name: str = "shell") -> Peer:
    """A shell pipeline (e.g. timed keypresses piped into baresip's stdio)."""
    return _spawn(name, ["bash", "-c", script], workdir)


class Capture:
    """tcpdump on loopback: kernel timestamps of UDP packets to one port, i.e. when they were sent."""

    def __init__(self, workdir: Path, port: int, bpf: str | None = None) -> None:
        """Capture `udp and dst port PORT`, or the tcpdump filter `bpf` when given."""
        self.path = workdir / f"cap-{port}-{time.monotonic_ns()}.pcap"
        self.proc = subprocess.Popen(
            # --immediate-mode: without it the last ~0.5 s (a partly filled kernel block) is lost at SIGINT
            [
                "tcpdump",
                "-i",
                "lo",
                "-n",
                "-U",
                "--immediate-mode",
                "-B",
                "32768",  # KiB of kernel buffer: a starved tcpdump drops less
                "-w",
                str(self.path),
                bpf or f"udp and dst port {port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        deadline = time.monotonic() + 5
        while not self.path.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)

    def stop(self) -> list[tuple[float, bytes]]:
        """(timestamp, UDP payload) of every captured packet."""
        return [(packet.time, packet.payload) for packet in self.stop_packets()]

    def stop_packets(self) -> list[UdpPacket]:
        """Every captured packet with its ports."""
        time.sleep(0.2)
        os.killpg(self.proc.pid, signal.SIGINT)
        self.proc.wait(10)
        return read_pcap_packets(self.path)


@dataclass(frozen=True)
class UdpPacket:
    time: float
    src_port: int
    dst_port: int
    payload: bytes


def read_pcap_udp(path: Path) -> list[tuple[float, bytes]]:
    return [(packet.time, packet.payload) for packet in read_pcap_packets(path)]


def read_pcap_packets(path: Path) -> list[UdpPacket]:
    """The UDP packets of a pcap (Ethernet, Linux cooked or loopback link types; IPv4)."""
    data = path.read_bytes()
    if len(data) < 24:
        return []
    magic = struct.unpack("<I", data[:4])[0]
    nano = magic == 0xA1B23C4D
    linktype = struct.unpack("<I", data[20:24])[0]
    out, off = [], 24
    while off + 16 <= len(data):
        sec, frac, incl, _ = struct.unpack("<IIII", data[off : off + 16])
        frame = data[off + 16 : off + 16 + incl]
        off += 16 + incl
        ip = frame[14:] if linktype == 1 else frame[16:] if linktype == 113 else frame[4:]
        if len(ip) < 28 or ip[9] != 17:
            continue
        ihl = (ip[0] & 15) * 4
        src, dst = struct.unpack("!HH", ip[ihl : ihl + 4])
        out.append(UdpPacket(sec + frac / (1e9 if nano else 1e6), src, dst, ip[ihl + 8 :]))
    return out
