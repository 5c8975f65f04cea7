"""A tiny DNS server on a loopback port for the spam filter test: it answers from a fixed
zone (the records a real deployment publishes: A, MX, SPF, DKIM, DMARC, PTR) and says
NXDOMAIN to everything else at once, so rspamd checks SPF, DKIM and DMARC as it would
on the Internet, without the Internet and without waiting for timeouts."""

from __future__ import annotations

import socket
import threading

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset


def txt(value: str) -> str:
    """A TXT record's text as DNS wants it: quoted strings of at most 255 characters."""
    chunks = [value[i : i + 255] for i in range(0, len(value), 255)] or [""]
    return " ".join('"' + chunk.replace("\\", "\\\\").replace('"', '\\"') + '"' for chunk in chunks)


class FakeDns:
    """`records`: {(name, type): [rdata as in a zone file]}; names without the final dot."""

    def __init__(self, records: dict[tuple[str, str], list[str]]) -> None:
        self.records = {
            (name.lower().rstrip("."), kind.upper()): v for (name, kind), v in records.items()
        }
        self.names = {name for name, _ in self.records}
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.asked: list[tuple[str, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="fake-dns", daemon=True)
        self._thread.start()

    def _answer(self, wire: bytes) -> bytes | None:
        try:
            query = dns.message.from_wire(wire)
        except Exception:  # noqa: BLE001 - not a DNS query: no answer
            return None
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        found_name = False
        for question in query.question:
            name = question.name.to_text().lower().rstrip(".")
            kind = dns.rdatatype.to_text(question.rdtype)
            self.asked.append((name, kind))
            found_name |= name in self.names
            rdatas = self.records.get((name, kind))
            if rdatas:
                response.answer.append(dns.rrset.from_text(question.name, 300, "IN", kind, *rdatas))
        if not response.answer and not found_name:
            response.set_rcode(dns.rcode.NXDOMAIN)
        return response.to_wire()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                wire, peer = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            answer = self._answer(wire)
            if answer is not None:
                self.sock.sendto(answer, peer)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()
