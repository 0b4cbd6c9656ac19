#!/usr/bin/env python3
"""A sample agent for kdc's quick start.

It does what an agent might try on its first day, and reports what the box
let it do: read its work directory, write a file there, look for the
caller's secrets and credentials, and phone home. Run it in the box:

    kdc-run --profile python -- python3 contrib/examples/agent.py
"""
import os
import socket


def attempt(what, fn):
    try:
        result = fn()
        print(f"  {what}: allowed{(' (' + result + ')') if result else ''}")
    except OSError as e:
        print(f"  {what}: refused ({e.strerror})")


def read(path):
    with open(path, "rb") as f:
        return f"{len(f.read(64))} bytes"


def write(path):
    with open(path, "w") as f:
        f.write("written by the sample agent\n")
    return path


def connect(host, port):
    with socket.create_connection((host, port), timeout=2):
        return "connected"


print(f"agent running as uid {os.getuid()} in {os.getcwd()} on host '{socket.gethostname()}'")
secrets = [k for k in os.environ if any(s in k for s in ("KEY", "TOKEN", "SECRET", "SSH_AUTH"))]
print(f"  credentials in my environment: {', '.join(secrets) or 'none'}")
attempt("write /work/agent-output.txt", lambda: write("agent-output.txt"))
attempt("read ~/.ssh of the caller", lambda: read(os.path.expanduser("~root/.ssh/id_rsa")))
attempt("read /etc/shadow", lambda: read("/etc/shadow"))
attempt("write /usr/local/bin/backdoor", lambda: write("/usr/local/bin/backdoor"))
attempt("connect to 127.0.0.1:22 (the caller's sshd)", lambda: connect("127.0.0.1", 22))
print(f"  processes I can see: {sorted(int(p) for p in os.listdir('/proc') if p.isdigit())}")
