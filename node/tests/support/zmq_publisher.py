#!/usr/bin/env python3
"""A bitcoind-style ZMQ `hashblock` publisher on real libzmq (pyzmq), for Otedama's tests.

Usage: zmq_publisher.py PORT [pub|xpub]

Binds tcp://127.0.0.1:PORT and prints `ready`. With `xpub` (the default) it also prints
`subscribed TOPIC` when a subscriber's subscription arrives, so a test knows when publishing
reaches it; `pub` is a plain PUB socket, exactly what bitcoind and litecoind use.

Reads commands from standard input, one per line:
  hashblock HEX SEQ   publish [b"hashblock", 32 bytes of HEX, SEQ as little-endian u32]
  raw HEX...          publish a multipart message, one frame per HEX argument
Exits at end of input.
"""

import os
import struct
import sys

import zmq


def main():
    port = int(sys.argv[1])
    kind = sys.argv[2] if len(sys.argv) > 2 else "xpub"
    ctx = zmq.Context()
    sock = ctx.socket(zmq.XPUB if kind == "xpub" else zmq.PUB)
    sock.setsockopt(zmq.LINGER, 0)
    if kind == "xpub":
        sock.setsockopt(zmq.XPUB_VERBOSE, 1)
    sock.bind(f"tcp://127.0.0.1:{port}")
    print("ready", flush=True)

    # Standard input is read from its descriptor, not through Python's buffered reader, so that
    # every line waiting is handled when poll() says the descriptor is readable.
    stdin = sys.stdin.fileno()
    poller = zmq.Poller()
    poller.register(stdin, zmq.POLLIN)
    if kind == "xpub":
        poller.register(sock, zmq.POLLIN)
    pending = b""
    while True:
        for what, _ in poller.poll():
            if what is sock:
                msg = sock.recv()
                verb = "subscribed" if msg[:1] == b"\x01" else "unsubscribed"
                print(verb, msg[1:].decode(errors="replace"), flush=True)
                continue
            data = os.read(stdin, 65536)
            if not data:
                return
            pending += data
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                publish(sock, line.decode().split())


def publish(sock, words):
    if not words:
        return
    if words[0] == "hashblock":
        frames = [b"hashblock", bytes.fromhex(words[1]), struct.pack("<I", int(words[2]))]
    elif words[0] == "raw":
        frames = [bytes.fromhex(w) for w in words[1:]]
    else:
        print(f"unknown command {words[0]}", file=sys.stderr, flush=True)
        return
    sock.send_multipart(frames)
    print("sent", flush=True)


if __name__ == "__main__":
    main()
