"""A fake Hugging Face hub on 127.0.0.1 for the fetch tests (stdlib only).

It answers like huggingface.co does for `hf_hub_download`:

  HEAD/GET /<owner>/<name>/resolve/<revision>/<file>
      LFS file  -> 302 to http://localhost:<port>/cdn/<sha256>?sig=... with
                   X-Repo-Commit, X-Linked-Etag: "<sha256>", X-Linked-Size,
                   ETag: "<git oid of the pointer>" and the redirect's own
                   small Content-Length (which a client must not take as the size)
      small file-> 200 with the content, ETag: "<git oid>", X-Repo-Commit
      errors    -> 404 + X-Error-Code RepoNotFound / RevisionNotFound /
                   EntryNotFound, 401 (no token) / 403 (wrong token) for gated repos
  GET /cdn/<sha256>  the bytes, with Range support

The CDN lives on "localhost" while HF_ENDPOINT uses "127.0.0.1": the same
server, but a different host for the client, as the real CDN is.

Faults are set on `hub.faults` between requests (see Faults). Every request
is recorded in `hub.requests` as a Request(method, path, headers, status).

Run alone to poke at it: python3 fake_hub.py  (prints the endpoint, serves
timm/tiny_test.fake until Ctrl-C)."""

import collections
import hashlib
import http.server
import random
import socket
import threading
import time
import urllib.parse

Request = collections.namedtuple("Request", "method path headers")


def git_blob_oid(data):
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class Repo:
    def __init__(self, repo_id, files, refs=None, commit=None, gated_token=None, lfs=True):
        self.repo_id = repo_id
        self.files = files  # filename -> bytes
        self.commit = commit or hashlib.sha1(repo_id.encode()).hexdigest()
        self.refs = refs if refs is not None else {"main": self.commit}
        self.gated_token = gated_token  # None: public; else the one accepted token
        self.lfs = lfs


class Faults:
    """Injectable misbehaviour. Lists are queues: one entry per request, popped."""

    def __init__(self):
        self.resolve_status = []  # status codes returned instead of answering /resolve
        self.cdn_status = []  # status codes returned instead of serving /cdn
        self.drop_after = []  # bytes of body to send on a GET before closing the socket
        self.stall = []  # (after_bytes, seconds): pause mid-body once per entry
        self.corrupt = False  # flip one byte in every body served (same length)
        self.ignore_range = False  # answer 200 with the whole file even to a Range request
        self.weak_etag = False  # X-Linked-Etag: W/"<sha>"
        self.slow_chunk_s = 0.0  # sleep between 16 KiB chunks of the body
        self.linked_size_extra = 0  # X-Linked-Size claims this many bytes more than the file has
        self.repo_commit = None  # X-Repo-Commit sent instead of the real commit


class FakeHub:
    def __init__(self):
        self.repos = {}
        self.blobs = {}  # sha256 -> bytes, served under /cdn
        self.requests = []
        self.faults = Faults()
        self.lock = threading.Lock()
        self.server = None
        self.thread = None

    def add_repo(self, repo):
        self.repos[repo.repo_id] = repo
        for data in repo.files.values():
            self.blobs[hashlib.sha256(data).hexdigest()] = data
        return repo

    def start(self):
        hub = self

        class Handler(FakeHubHandler):
            pass

        Handler.hub = hub
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.endpoint = "http://127.0.0.1:%d" % self.port
        self.cdn = "http://localhost:%d" % self.port
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05})
        self.thread.daemon = True
        self.thread.start()
        return self

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def record(self, req):
        with self.lock:
            self.requests.append(req)

    def pop(self, queue):
        with self.lock:
            return queue.pop(0) if queue else None

    def count(self, method=None, prefix=""):
        with self.lock:
            return sum(1 for r in self.requests if (method is None or r.method == method) and r.path.startswith(prefix))


class FakeHubHandler(http.server.BaseHTTPRequestHandler):
    hub = None
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def do_HEAD(self):
        self.route(head=True)

    def do_GET(self):
        self.route(head=False)

    def route(self, head):
        self.close_connection = True
        hub = self.hub
        hub.record(Request(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}))
        path = urllib.parse.urlsplit(self.path).path
        if path.startswith("/cdn/"):
            return self.serve_cdn(path[len("/cdn/"):], head)
        parts = path.split("/")
        if len(parts) >= 6 and parts[3] == "resolve":
            repo_id = parts[1] + "/" + parts[2]
            revision = urllib.parse.unquote(parts[4])
            filename = urllib.parse.unquote("/".join(parts[5:]))
            return self.serve_resolve(repo_id, revision, filename, head)
        self.reply(404, {}, b"no route\n", head)

    def reply(self, status, headers, body, head):
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def serve_resolve(self, repo_id, revision, filename, head):
        hub = self.hub
        status = hub.pop(hub.faults.resolve_status)
        if status:
            return self.reply(status, {}, b"injected failure\n", head)
        repo = hub.repos.get(repo_id)
        if repo is None:
            return self.reply(404, {"X-Error-Code": "RepoNotFound"}, b"Repository not found\n", head)
        if repo.gated_token is not None:
            auth = self.headers.get("Authorization")
            if auth is None:
                return self.reply(401, {"X-Error-Code": "GatedRepo"}, b"Access restricted\n", head)
            if auth != "Bearer " + repo.gated_token:
                return self.reply(403, {"X-Error-Code": "GatedRepo"}, b"Access denied\n", head)
        if hub.faults.repo_commit is not None:
            return self.serve_bytes(b"x", {"ETag": '"x"', "X-Repo-Commit": hub.faults.repo_commit}, head)
        if revision == repo.commit:
            commit = repo.commit
        elif revision in repo.refs:
            commit = repo.refs[revision]
        else:
            return self.reply(404, {"X-Error-Code": "RevisionNotFound"}, b"Revision not found\n", head)
        data = repo.files.get(filename)
        if data is None or commit != repo.commit:
            return self.reply(
                404, {"X-Error-Code": "EntryNotFound", "X-Repo-Commit": commit}, b"Entry not found\n", head
            )
        oid = git_blob_oid(data)
        if not repo.lfs:
            return self.serve_bytes(data, {"ETag": '"%s"' % oid, "X-Repo-Commit": commit}, head)
        sha = hashlib.sha256(data).hexdigest()
        etag = ('W/"%s"' if hub.faults.weak_etag else '"%s"') % sha
        location = "%s/cdn/%s?sig=%s" % (hub.cdn, sha, "x" * 16)
        body = ("Found. Redirecting to %s" % location).encode()
        headers = {
            "Location": location,
            "X-Repo-Commit": commit,
            "X-Linked-Etag": etag,
            "X-Linked-Size": str(len(data) + hub.faults.linked_size_extra),
            "ETag": '"%s"' % git_blob_oid(b"version https://git-lfs.github.com/spec/v1\noid sha256:" + sha.encode()),
        }
        self.reply(302, headers, body, head)

    def serve_cdn(self, name, head):
        hub = self.hub
        status = hub.pop(hub.faults.cdn_status)
        if status:
            return self.reply(status, {}, b"injected failure\n", head)
        data = hub.blobs.get(name)
        if data is None:
            return self.reply(404, {}, b"no such blob\n", head)
        self.serve_bytes(data, {"ETag": '"%s"' % name}, head)

    def serve_bytes(self, data, headers, head):
        hub = self.hub
        faults = hub.faults
        if faults.corrupt:
            data = bytes([data[0] ^ 0xFF]) + data[1:]
        start = 0
        rng = self.headers.get("Range")
        status = 200
        if rng and not faults.ignore_range:
            start = int(rng.split("=")[1].split("-")[0])
            if start >= len(data):
                return self.reply(416, {"Content-Range": "bytes */%d" % len(data)}, b"", head)
            status = 206
            headers = dict(headers, **{"Content-Range": "bytes %d-%d/%d" % (start, len(data) - 1, len(data))})
        body = data[start:]
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if head:
            return
        drop = hub.pop(faults.drop_after)
        stall = hub.pop(faults.stall)
        sent = 0
        try:
            while sent < len(body):
                end = min(sent + 16384, len(body))
                if drop is not None and end >= drop:
                    self.wfile.write(body[sent:drop])
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if stall is not None and end >= stall[0]:
                    self.wfile.write(body[sent : stall[0]])
                    self.wfile.flush()
                    sent = stall[0]
                    time.sleep(stall[1])
                    stall = None
                    continue
                self.wfile.write(body[sent:end])
                self.wfile.flush()
                sent = end
                if faults.slow_chunk_s:
                    time.sleep(faults.slow_chunk_s)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout test): fine


def test_payload(size=256 * 1024, seed=1):
    """Deterministic bytes standing in for model.safetensors."""
    return random.Random(seed).randbytes(size)


if __name__ == "__main__":
    hub = FakeHub()
    hub.add_repo(Repo("timm/tiny_test.fake", {"model.safetensors": test_payload()}))
    with hub:
        print("HF_ENDPOINT=%s  (repo timm/tiny_test.fake)" % hub.endpoint, flush=True)
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            pass
