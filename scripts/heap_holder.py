"""A process whose heap looks like a service's: holds about SIZE_MIB of
parsed JSON documents, log and document text, UTF-16 strings, integers,
zlib-compressed and random buffers, then prints "ready PID" and sleeps, so
that scripts/python_core.sh can take a core of it with gcore.

Seeded, so the mix is the same each time; the addresses and the allocator's
layout are not. No secrets are planted: what dumpscrub finds in such a core
is what ordinary process memory makes it find (example URLs with passwords
in the documentation it reads, ids and hashes that look random).
"""

import glob
import json
import os
import random
import sys
import time
import zlib

WORDS = ["service", "request", "handler", "Zürich", "ok", "status", "path"]


def main():
    target = int(sys.argv[1]) << 20
    random.seed(7)
    texts = []
    for path in sorted(glob.glob("/usr/share/doc/**/*", recursive=True))[:4000]:
        try:
            with open(path, "rb") as f:
                texts.append(f.read(200_000))
        except OSError:
            pass
    if not texts:
        texts = [b"2026-11-28 12:00:00 INFO request handled in 3 ms\n" * 2000]
    held = []
    total = 0
    i = 0
    while total < target:
        kind = i % 6
        if kind == 0:
            doc = {
                "id": i,
                "user": f"user{i}",
                "email": f"user{i}@example.com",
                "tags": [random.choice("abc") for _ in range(20)],
                "score": random.random(),
                "items": list(range(50)),
            }
            text = json.dumps(doc) * 20
            held += [json.loads(json.dumps(doc)), text]
            total += len(text) + 2000
        elif kind == 1:
            t = random.choice(texts)
            held += [bytearray(t), t.decode("latin-1")]
            total += 2 * len(t)
        elif kind == 2:
            s = " ".join(random.choice(WORDS) for _ in range(4000))
            held.append(s.encode("utf-16-le"))
            total += 2 * len(s)
        elif kind == 3:
            held.append(random.randbytes(200_000))
            total += 200_000
        elif kind == 4:
            held.append(zlib.compress(random.choice(texts)))
            total += 50_000
        else:
            held.append([random.randint(0, 1 << 40) for _ in range(20_000)])
            total += 20_000 * 40
        i += 1
    print(f"ready {os.getpid()}", flush=True)
    time.sleep(3600)


if __name__ == "__main__":
    main()
