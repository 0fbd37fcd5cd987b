"""Run a dataset card's ```python blocks the way a reader does: each one on its own, in a fresh
interpreter, with only the Hub variables set, and no way to reach any host but the test Hub.

The guard is real for native code too: a tiny shared library, preloaded into the snippet's
interpreter (LD_PRELOAD), wraps libc's `connect`, `sendto` and `sendmsg`. Every socket a snippet
opens, from Python, polars (Rust), DuckDB (C++) or hf_xet alike, may reach only the address
named by HF_ENDPOINT (or a Unix socket); any other address is refused (ENETUNREACH) and logged on
stderr with GUARD_MARK, so a snippet that calls huggingface.co, a DuckDB extension server or a
DNS server fails the test, in CI as here.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

GUARD_MARK = "snippet-guard: refused"

# Lookups `datasets.load_dataset` (5.2) makes on its own, whatever a snippet says, and whose failure
# it ignores: a HEAD to s3.amazonaws.com that counts downloads (off with HF_UPDATE_DOWNLOAD_COUNTS=0),
# and the dataset viewer's Parquet export at the endpoint's `datasets-server.` sibling (a mirror's
# own). The guard refuses them too, so the test never reaches them; they are the only refusals a
# snippet may cause, since no snippet can avoid them.
LIBRARY_PROBES = ("s3.amazonaws.com", "datasets-server.{host}")

_GUARD_C = r"""
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

static int allowed(const struct sockaddr *addr) {
    if (addr == NULL || addr->sa_family == AF_UNIX || addr->sa_family == AF_UNSPEC) return 1;
    const char *endpoint = getenv("HF_ENDPOINT");
    char host[64] = {0};
    int port = 0;
    if (endpoint == NULL || sscanf(endpoint, "http://%63[^:/]:%d", host, &port) != 2) return 0;
    if (addr->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)addr;
        struct in_addr want;
        if (inet_pton(AF_INET, host, &want) != 1) return 0;
        if (in->sin_addr.s_addr == want.s_addr && ntohs(in->sin_port) == port) return 1;
    }
    char text[64] = "?";
    if (addr->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)addr)->sin_addr, text, sizeof text);
    if (addr->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)addr)->sin6_addr, text, sizeof text);
    int to = addr->sa_family == AF_INET ? ntohs(((const struct sockaddr_in *)addr)->sin_port)
           : addr->sa_family == AF_INET6 ? ntohs(((const struct sockaddr_in6 *)addr)->sin6_port) : 0;
    fprintf(stderr, "GUARD_MARK %s port %d (only %s may be reached)\n", text, to, endpoint ? endpoint : "nothing");
    return 0;
}

static int endpoint_host(char *host, size_t size) {
    const char *endpoint = getenv("HF_ENDPOINT");
    int port = 0;
    return endpoint != NULL && sscanf(endpoint, "http://%63[^:/]:%d", host, &port) == 2 && size >= 64;
}

/* Names are looked up only for the endpoint's own host: a lookup of any other name is refused
   before a resolver is asked (glibc's resolver sends through internal calls no wrapper sees). */
int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints, struct addrinfo **res) {
    static int (*real)(const char *, const char *, const struct addrinfo *, struct addrinfo **);
    if (!real) real = dlsym(RTLD_NEXT, "getaddrinfo");
    char host[64] = {0};
    unsigned char numeric[sizeof(struct in6_addr)];
    int is_numeric = node && (inet_pton(AF_INET, node, numeric) == 1 || inet_pton(AF_INET6, node, numeric) == 1);
    if (node && !is_numeric && !(endpoint_host(host, sizeof host) && strcmp(node, host) == 0)) {
        fprintf(stderr, "GUARD_MARK name %s (only %s may be reached)\n", node, getenv("HF_ENDPOINT"));
        return EAI_NONAME;
    }
    return real(node, service, hints, res);
}

int connect(int fd, const struct sockaddr *addr, socklen_t len) {
    static int (*real)(int, const struct sockaddr *, socklen_t);
    if (!real) real = dlsym(RTLD_NEXT, "connect");
    if (!allowed(addr)) { errno = ENETUNREACH; return -1; }
    return real(fd, addr, len);
}

ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *addr, socklen_t len) {
    static ssize_t (*real)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
    if (!real) real = dlsym(RTLD_NEXT, "sendto");
    if (!allowed(addr)) { errno = ENETUNREACH; return -1; }
    return real(fd, buf, n, flags, addr, len);
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags) {
    static ssize_t (*real)(int, const struct msghdr *, int);
    if (!real) real = dlsym(RTLD_NEXT, "sendmsg");
    if (msg && !allowed((const struct sockaddr *)msg->msg_name)) { errno = ENETUNREACH; return -1; }
    return real(fd, msg, flags);
}
""".replace("GUARD_MARK", GUARD_MARK)


def python_blocks(markdown: str) -> list[str]:
    """Every ```python block of a Markdown text, in order."""
    return re.findall(r"^```python\n(.*?)^```", markdown, re.S | re.M)


def build_guard(folder: Path) -> Path:
    """Compile the connect guard into `folder`; needs a C compiler (cc), as CI and this machine have."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        raise RuntimeError("the card-snippet test needs a C compiler (cc) to build its network guard")
    folder.mkdir(parents=True, exist_ok=True)
    source, library = folder / "guard.c", folder / "guard.so"
    source.write_text(_GUARD_C)
    subprocess.run([compiler, "-shared", "-fPIC", "-O1", "-o", str(library), str(source), "-ldl"], check=True)
    return library


@dataclasses.dataclass(frozen=True)
class Outcome:
    code: str
    endpoint: str
    returncode: int
    stdout: str
    stderr: str

    @property
    def refused(self) -> list[str]:
        """The lookups and connections the guard refused, but for `datasets`' own LIBRARY_PROBES."""
        host = self.endpoint.split("://", 1)[-1].split(":", 1)[0].split("/", 1)[0]
        return [
            line
            for line in self.stderr.splitlines()
            if GUARD_MARK in line and not any(f"name {probe.format(host=host)} " in line for probe in LIBRARY_PROBES)
        ]

    def describe(self) -> str:
        return f"exit {self.returncode}\n--- snippet ---\n{self.code}\n--- stderr (tail) ---\n{self.stderr[-3000:]}"


def run_snippet(code: str, endpoint: str, guard: Path, workdir: Path, token: str, timeout: float = 240) -> Outcome:
    """`code` in a fresh interpreter: a fresh HF_HOME and HOME, cwd `workdir`, and in its environment
    only HF_ENDPOINT, HF_HOME, HF_TOKEN, PATH, HOME and the guard (LD_PRELOAD)."""
    workdir.mkdir(parents=True, exist_ok=True)
    home = workdir / "home"
    (home / "hf").mkdir(parents=True, exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "HF_ENDPOINT": endpoint,
        "HF_HOME": str(home / "hf"),
        "HF_TOKEN": token,
        "LD_PRELOAD": str(guard),
    }
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout
    )
    return Outcome(code, endpoint, done.returncode, done.stdout, done.stderr)
