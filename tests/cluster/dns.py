"""A minimal DNS A-record lookup over UDP, to prove cluster DNS answers."""

from __future__ import annotations

import random
import socket
import struct


def _query(name: str, query_id: int) -> bytes:
    header = struct.pack(">HHHHHH", query_id, 0x0100, 1, 0, 0, 0)  # recursion desired, one question
    labels = b"".join(bytes([len(part)]) + part.encode() for part in name.rstrip(".").split("."))
    return header + labels + b"\0" + struct.pack(">HH", 1, 1)  # type A, class IN


def _skip_name(packet: bytes, offset: int) -> int:
    while True:
        length = packet[offset]
        if length & 0xC0 == 0xC0:  # compression pointer ends the name
            return offset + 2
        offset += 1 + length
        if length == 0:
            return offset


def resolve_a(name: str, server: str, timeout: float = 2.0) -> list[str]:
    """The IPv4 addresses `server` returns for `name`; [] for NXDOMAIN or no answer."""
    query_id = random.randrange(1 << 16)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.sendto(_query(name, query_id), (server, 53))
        packet = sock.recv(4096)
    answer_id, flags, questions, answers = struct.unpack(">HHHH", packet[:8])
    if answer_id != query_id or flags & 0x000F:  # wrong reply or an error rcode
        return []
    offset = 12
    for _ in range(questions):
        offset = _skip_name(packet, offset) + 4
    addresses = []
    for _ in range(answers):
        offset = _skip_name(packet, offset)
        record_type, _class, _ttl, length = struct.unpack(">HHIH", packet[offset:offset + 10])
        offset += 10
        if record_type == 1 and length == 4:
            addresses.append(socket.inet_ntoa(packet[offset:offset + 4]))
        offset += length
    return addresses
