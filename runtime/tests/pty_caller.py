#!/usr/bin/env python3
"""Runs a command as a user at a terminal would: on a new pty (its controlling terminal and
stdio) of ROWSxCOLS, types INPUT (backslash escapes allowed, e.g. 'exit\\n'), and prints what the
terminal showed, then "TERMINAL restored" (or "left raw") and "EXIT <code>". Usage: pty_caller.py ROWS COLS INPUT CMD [ARG...].
Bounded: the command is killed after 60 s (EXIT -9)."""
import fcntl, os, pty, select, signal, struct, sys, termios, time

rows, cols, text = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
argv = sys.argv[4:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(argv[0], argv)
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
os.write(fd, text.encode().decode("unicode_escape").encode())
out, deadline = b"", time.monotonic() + 60
while True:
    if time.monotonic() > deadline:
        os.kill(pid, signal.SIGKILL)
        break
    ready, _, _ = select.select([fd], [], [], 0.2)
    if not ready:
        continue
    try:
        data = os.read(fd, 4096)
    except OSError:  # EIO: the command and everything it started closed the terminal
        break
    if not data:
        break
    out += data
_, status = os.waitpid(pid, 0)
# Whether the command gave the terminal back as it found it (canonical mode with echo).
try:
    lflag = termios.tcgetattr(fd)[3]
    cooked = bool(lflag & termios.ICANON) and bool(lflag & termios.ECHO)
except termios.error:
    cooked = False
sys.stdout.write(out.decode(errors="replace").replace("\r", ""))
sys.stdout.write("\nTERMINAL %s" % ("restored" if cooked else "left raw"))
sys.stdout.write("\nEXIT %d\n" % os.waitstatus_to_exitcode(status))
