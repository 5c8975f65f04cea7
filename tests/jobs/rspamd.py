"""A real spam filter for the tests: Debian's rspamd with its built-in rules, run offline.

`Rspamd.start(folder)` writes a configuration of its own under `folder` (nothing under
/etc changes), starts `rspamd -f` on free loopback ports and waits until its scanner
answers; `scan(raw)` gives {symbol: (weight, options)}; `stop()` ends it.

Offline on purpose: the modules that ask outside services (RBL/SURBL lists, ASN, fuzzy
hashes, DCC) are off, and the resolver is `dns_port` on the loopback (the test's own
DNS server, tests/jobs/fake_dns.py, with the records of a real deployment: SPF, DKIM and
DMARC are checked as on the Internet); the modules that need Redis (Bayes, reputation,
replies, neural…) stay off as they do with no Redis configured.

One speed-up: rspamd compiles its list of public suffixes (~9,600 TLDs) with hyperscan at
start, half a minute on a loaded machine. The list given to it keeps only the suffixes of
the TLDs the scanned mails use (TLDS); `scan` reports the hosts of the URLs rspamd found,
and the test checks that each of them is under one of those TLDs, so nothing a shorter
list could hide goes unseen.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import httpx

TLD_FILE = Path("/usr/share/rspamd/effective_tld_names.dat")
TLDS = ("org", "net", "fr", "com")
OUTSIDE_SERVICES = ("rbl", "surbl", "asn", "fuzzy_check", "dcc", "rspamd_update")


def available() -> bool:
    return shutil.which("rspamd") is not None and TLD_FILE.is_file()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Rspamd:
    def __init__(self, folder: Path, proc: subprocess.Popen, port: int, log: Path) -> None:
        self.folder = folder
        self.proc = proc
        self.port = port
        self.log = log
        self.url = f"http://127.0.0.1:{port}"
        self.client = httpx.Client(timeout=30)

    @classmethod
    def start(cls, folder: Path, dns_port: int, timeout: float = 180) -> Rspamd:
        local = folder / "local.d"
        for sub in ("db", "run", "log", "local.d"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        normal, controller, proxy = (_free_port() for _ in range(3))
        suffixes = [
            line
            for line in TLD_FILE.read_text().splitlines()
            if line and not line.startswith("//") and line.rsplit(".", 1)[-1] in TLDS
        ]
        (folder / "tld.dat").write_text("\n".join(suffixes) + "\n")
        files = {
            "worker-normal.inc": f'bind_socket = "127.0.0.1:{normal}";\ncount = 1;\n',
            "worker-controller.inc": f'bind_socket = "127.0.0.1:{controller}";\ncount = 1;\n',
            "worker-proxy.inc": f'bind_socket = "127.0.0.1:{proxy}";\ncount = 1;\n',
            "worker-fuzzy.inc": "enabled = false;\n",
            "logging.inc": 'type = "console";\nlevel = "error";\n',
            "options.inc": (
                f'dns {{\n  nameserver = ["127.0.0.1:{dns_port}"];\n'
                "  timeout = 1s;\n  retransmits = 1;\n}\n"
                f'url_tld = "{folder / "tld.dat"}";\n'
            ),
        }
        files |= {f"{module}.conf": "enabled = false;\n" for module in OUTSIDE_SERVICES}
        for name, text in files.items():
            (local / name).write_text(text)
        log = folder / "rspamd.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [
                    "rspamd",
                    "-f",
                    "-u",
                    "root",
                    "-g",
                    "root",
                    f"--var=LOCAL_CONFDIR={folder}",
                    f"--var=DBDIR={folder / 'db'}",
                    f"--var=RUNDIR={folder / 'run'}",
                    f"--var=LOGDIR={folder / 'log'}",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        server = cls(folder, proc, normal, log)
        server._wait(timeout)
        return server

    def _wait(self, timeout: float) -> None:
        """Ready when the scanner answers a scan (the normal worker has no `ping`)."""
        probe = b"From: a@example.org\r\nTo: b@example.org\r\nSubject: test\r\n\r\nbonjour\r\n"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"rspamd s'est arrêté :\n{self.output()}")
            try:
                if self.client.post(f"{self.url}/checkv2", content=probe).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"rspamd ne répond pas après {timeout} s :\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def scan(self, raw: bytes, **envelope: str) -> dict:
        """{"score", "symbols": {name: (weight, options)}, "urls": [hosts]}; `envelope`:
        what the receiving server would tell rspamd (`From`, `Rcpt`, `IP`, `Helo`,
        `Hostname`), as HTTP headers of the request."""
        response = self.client.post(f"{self.url}/checkv2", content=raw, headers=envelope)
        response.raise_for_status()
        answer = response.json()
        return {
            "score": answer["score"],
            "symbols": {
                name: (symbol.get("score", 0.0), symbol.get("options", []))
                for name, symbol in answer["symbols"].items()
            },
            "urls": answer.get("urls", []),
        }

    def stop(self) -> None:
        self.client.close()
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
