#!/usr/bin/env python3
"""A minimal --console-socket receiver (what containerd shims and conmon do): listen on a unix
socket, take one pty master over SCM_RIGHTS, copy what the container writes on its terminal to
a file until EOF. Usage: console_receiver.py SOCKET OUTPUT (prints "ready" once listening)."""
import os, socket, sys

path, output = sys.argv[1], sys.argv[2]
server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind(path)
server.listen(1)
server.settimeout(30)
print("ready", flush=True)
conn, _ = server.accept()
msg, fds, _, _ = socket.recv_fds(conn, 64, 1)
with open(output, "wb") as out:
    out.write(b"tag=" + msg + b" isatty=" + str(os.isatty(fds[0])).encode() + b"\n")
    while True:
        try:
            data = os.read(fds[0], 4096)
        except OSError:  # EIO: the slave side closed (the process exited)
            break
        if not data:
            break
        out.write(data)
        out.flush()
