#!/usr/bin/env python3
"""A small HTTP server on 127.0.0.1 for the download tests (stdlib only).

    http_server.py ROOT PORT_FILE LOG_FILE

Serves the files in ROOT on a free port, writes the port number to PORT_FILE
once it listens, and appends one line per request to LOG_FILE:
"<path> range=<Range header or ->". URL forms:

    /files/NAME          the file; honours "Range: bytes=N-" (206 + Content-Range)
    /norange/NAME        the file, ignoring any Range (always 200, whole file)
    /drop/K/NAME         announces the whole file, sends K bytes from where the
                         range starts, then drops the connection
    /badrange/NAME       answers a Range with 206 but starts at byte 0
    /slow/NAME           the file (Range honoured) in 10000-byte pieces 5 ms
                         apart, so a client sees the transfer part-way
    /redirect/NAME       302 to /files/NAME
    /status/CODE         an empty answer with that status (404, 500, ...)

Stops on SIGTERM or SIGINT.
"""
import http.server
import os
import re
import signal
import sys
import time


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet: the log file is enough
        pass

    def send_plain(self, code, extra=()):
        self.send_response(code)
        for k, v in extra:
            self.send_header(k, v)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self):
        rng = self.headers.get("Range")
        with open(LOG, "a") as log:
            log.write(f"{self.path} range={rng or '-'}\n")
        parts = self.path.strip("/").split("/")
        mode = parts[0]
        if mode == "status" and len(parts) == 2:
            return self.send_plain(int(parts[1]))
        if mode == "redirect" and len(parts) == 2:
            return self.send_plain(302, [("Location", "/files/" + parts[1])])
        drop = None
        if mode == "drop" and len(parts) == 3:
            drop = int(parts[1])
            parts = [mode, parts[2]]
        if mode not in ("files", "norange", "drop", "badrange", "slow") or len(parts) != 2:
            return self.send_plain(404)
        path = os.path.join(ROOT, os.path.basename(parts[1]))
        if not os.path.isfile(path):
            return self.send_plain(404)
        data = open(path, "rb").read()
        start = 0
        m = re.fullmatch(r"bytes=(\d+)-", rng or "")
        if m and mode != "norange":
            start = int(m.group(1))
            if start >= len(data):
                return self.send_plain(416, [("Content-Range", f"bytes */{len(data)}")])
            if mode == "badrange":
                start = 0
                self.send_response(206)
                self.send_header("Content-Range", f"bytes 0-{len(data) - 1}/{len(data)}")
            else:
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if drop is not None:
            self.wfile.write(body[:drop])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if mode == "slow":
            for k in range(0, len(body), 10000):
                self.wfile.write(body[k:k + 10000])
                self.wfile.flush()
                time.sleep(0.005)
            return
        self.wfile.write(body)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # clients hanging up (the tests do, on purpose) are not news


def main():
    global ROOT, LOG
    ROOT, port_file, LOG = sys.argv[1:4]
    server = Server(("127.0.0.1", 0), Handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    tmp = port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(tmp, port_file)
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass


if __name__ == "__main__":
    main()
