"""Debian's nginx in front of app instances on this machine, with deploy/nginx.conf (the
configuration compose.yml mounts): only the upstream servers, the listening address and
the file locations are replaced. The test suite and `bench/flash_sale.py --via-nginx`
run it; production runs the same file in the nginx container."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "deploy" / "nginx.conf"
UPSTREAM = re.compile(r"(upstream eventapi \{)(.*?)(\n    \})", re.S)
UPSTREAM_SERVER = re.compile(r"^\s*server \S+(?P<options>[^;]*);\s*$", re.M)


class NginxError(RuntimeError):
    pass


def nginx_binary() -> str | None:
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/bin")


def render(upstreams: list[str], port: int, prefix: Path) -> str:
    """deploy/nginx.conf serving on 127.0.0.1:`port` and balancing over `upstreams`
    (host:port), each with the options the file gives its servers."""
    text = CONFIG.read_text()
    block = UPSTREAM.search(text)
    if block is None:
        raise NginxError("deploy/nginx.conf has no `upstream eventapi` block")
    first = UPSTREAM_SERVER.search(block.group(2))
    options = first.group("options") if first else ""
    body = UPSTREAM_SERVER.sub("", block.group(2)).strip("\n")
    servers = "".join(f"\n        server {address}{options};" for address in upstreams)
    text = text[: block.start(2)] + servers + "\n" + body + text[block.end(2) :]
    text = text.replace("listen 80;", f"listen 127.0.0.1:{port};")
    for temp in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        text = text.replace("http {", f"http {{\n    {temp}_temp_path {prefix / temp};", 1)
    return text


@dataclass
class Nginx:
    url: str
    process: subprocess.Popen[bytes]
    prefix: Path

    @property
    def error_log(self) -> Path:
        return self.prefix / "error.log"

    def log_text(self) -> str:
        return self.error_log.read_text(errors="replace") if self.error_log.exists() else ""


@contextmanager
def nginx_in_front_of(upstreams: list[str], prefix: Path, port: int) -> Iterator[Nginx]:
    """nginx (the master in the foreground, as a child of ours) until the block ends."""
    binary = nginx_binary()
    if binary is None:
        raise NginxError("nginx is not installed")
    prefix.mkdir(parents=True, exist_ok=True)
    prefix.chmod(0o755)  # workers run as nobody when we are root
    config = prefix / "nginx.conf"
    config.write_text(render(upstreams, port, prefix))
    command = [
        binary,
        *("-p", str(prefix), "-c", str(config), "-e", str(prefix / "error.log")),
        *("-g", f"daemon off; pid {prefix / 'nginx.pid'};"),
    ]
    checked = subprocess.run(  # noqa: S603 - Debian's binary, our configuration
        [*command, "-t"], capture_output=True, text=True, check=False
    )
    if checked.returncode != 0:
        raise NginxError(f"nginx refused the configuration: {checked.stderr.strip()}")
    process = subprocess.Popen(  # noqa: S603 - Debian's binary, our configuration
        command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    running = Nginx(f"http://127.0.0.1:{port}", process, prefix)
    try:
        _wait_listening(running, port)
        yield running
    finally:
        process.terminate()  # SIGTERM: a fast shutdown of the master and its workers
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()


def _wait_listening(running: Nginx, port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if running.process.poll() is not None:
            raise NginxError(f"nginx exited: {running.log_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise NginxError(f"nginx did not listen on {port}: {running.log_text()[-2000:]}")
