#!/usr/bin/env python3
"""A minimal seccomp agent (what a SCMP_ACT_NOTIFY consumer does): listen on a unix socket, take
one container process state with the seccomp listener fd (SCM_RIGHTS), write the state to a
file, then answer notifications from that fd with SECCOMP_IOCTL_NOTIF_RECV / _SEND: each
answer is taken from ANSWERS in order ("errno:NAME" fails the call with that errno, "ok" makes
it return 0 without the kernel running it). Exits after the last answer.
Usage: seccomp_agent.py SOCKET STATE_OUT ANSWER... (prints "ready" once listening)."""
import errno, fcntl, json, os, socket, struct, sys

# include/uapi/linux/seccomp.h: _IOWR('!', 0, struct seccomp_notif) (80 bytes) and
# _IOWR('!', 1, struct seccomp_notif_resp) (24 bytes).
NOTIF_RECV = 0xC0502100
NOTIF_SEND = 0xC0182101
NOTIF_SIZE, RESP_FORMAT = 80, "=QqiI"

path, state_out, answers = sys.argv[1], sys.argv[2], sys.argv[3:]
server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind(path)
server.listen(1)
server.settimeout(30)
print("ready", flush=True)
conn, _ = server.accept()
msg, fds, _, _ = socket.recv_fds(conn, 65536, 1)
with open(state_out, "w") as out:
    json.dump({"state": json.loads(msg), "fds_received": len(fds)}, out)
listener = fds[0]
log = []
for answer in answers:
    buf = bytearray(NOTIF_SIZE)  # the kernel wants it zeroed
    fcntl.ioctl(listener, NOTIF_RECV, buf, True)
    notif_id, pid, _flags, nr = struct.unpack_from("=QIIi", buf)
    err = 0 if answer == "ok" else -getattr(errno, answer.split(":", 1)[1])
    fcntl.ioctl(listener, NOTIF_SEND, bytearray(struct.pack(RESP_FORMAT, notif_id, 0, err, 0)), True)
    log.append({"pid": pid, "nr": nr, "answer": answer})
with open(state_out + ".answers", "w") as out:
    json.dump(log, out)
