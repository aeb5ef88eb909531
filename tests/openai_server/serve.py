"""Serves a GGUF model over llama.cpp's OpenAI-compatible HTTP API (xllamacpp).

    python serve.py --model M.gguf [--port 0] [--ctx 4096] [--threads 2]
                    [--api-key KEY]

Prints `listening http://127.0.0.1:PORT` on stdout once the model is loaded
(port 0 lets the system pick a free one), then serves until stdin closes or
the process is signalled: a test that dies never leaves a server behind.
"""

import argparse
import os
import sys

import xllamacpp


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--ctx", type=int, default=4096)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--api-key", default="", help="require this Bearer key")
    args = ap.parse_args()

    p = xllamacpp.CommonParams()
    p.model.path = args.model
    if args.api_key:
        p.api_keys = [args.api_key]
    p.hostnames = [args.host]
    p.port = args.port
    p.n_ctx = args.ctx
    p.n_parallel = 1
    p.cpuparams.n_threads = args.threads
    p.cpuparams_batch.n_threads = args.threads
    server = xllamacpp.Server(p)
    print(f"listening {server.listening_address}", flush=True)
    sys.stdin.read()
    # Skip interpreter teardown: the native server's threads end with the process.
    os._exit(0)


if __name__ == "__main__":
    main()
