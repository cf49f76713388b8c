"""Behaviour tests for lucidgen's hub download (hub/hub.c, hf_cache.c)
against fake_hub.py on 127.0.0.1, through the lg_hub_client driver.

  python3 test_fetch.py --client build/lg_hub_client            # every case
  python3 test_fetch.py --client build/lg_hub_client NAME...    # some cases
  python3 test_fetch.py --check-registered NAME...              # CMake list == cases?

Each case prints OK / NOT OK and, on failure, what differed. Stdlib only."""

import argparse
import hashlib
import os
import pty
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fake_hub import FakeHub, Repo, test_payload  # noqa: E402

REPO_ID = "timm/convnext_tiny.fb_in1k"
FOLDER = "models--timm--convnext_tiny.fb_in1k"
CLIENT = None
CASES = []


def case(fn):
    CASES.append(fn)
    return fn


class Failure(Exception):
    pass


class Skip(Exception):
    """The environment cannot run this case (e.g. no pseudo-terminals)."""

SKIP_EXIT = 77  # CTest SKIP_RETURN_CODE in fetch.cmake


def expect(cond, what, **values):
    if not cond:
        detail = "".join("\n    %s = %r" % kv for kv in values.items())
        raise Failure(what + detail)


class Env:
    """A temp dir with a cache, a fake hub holding REPO_ID, and a runner."""

    def __init__(self, **repo_kw):
        self.tmp = tempfile.mkdtemp(prefix="lg_fetch_")
        self.cache = os.path.join(self.tmp, "hub")
        self.data = repo_kw.pop("data", None) or test_payload()
        self.sha = hashlib.sha256(self.data).hexdigest()
        self.hub = FakeHub()
        self.repo = self.hub.add_repo(Repo(REPO_ID, {"model.safetensors": self.data}, **repo_kw))
        self.commit = self.repo.commit
        self.hub.start()
        self.storage = os.path.join(self.cache, FOLDER)

    def close(self):
        self.hub.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def env(self, **extra):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("HF_", "HUGGINGFACE_", "TRANSFORMERS_", "XDG_"))
               and k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
        env.update(HOME=self.tmp, HF_ENDPOINT=self.hub.endpoint, LUCIDGEN_RETRY_BASE_MS="20",
                   no_proxy="127.0.0.1,localhost")
        env.update(extra)
        return {k: v for k, v in env.items() if v is not None}

    def argv(self, *args, cache=True):
        argv = [CLIENT, *args] if args and args[0] in ("list", "verify") else [CLIENT, REPO_ID, *args]
        return argv + ["--cache-dir", self.cache] if cache else argv

    def popen(self, *args, cache=True, **env):
        return subprocess.Popen(self.argv(*args, cache=cache), env=self.env(**env), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def run(self, *args, cache=True, timeout=60, **env):
        p = self.popen(*args, cache=cache, **env)
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
            raise Failure("hub_client timed out after %ss: %s" % (timeout, err))
        return p.returncode, out.strip(), err.strip()

    def pointer(self, commit=None):
        return os.path.join(self.storage, "snapshots", commit or self.commit, "model.safetensors")

    def blob(self):
        return os.path.join(self.storage, "blobs", self.sha)

    def fetched(self, *args, **env):
        """Runs a fetch that must succeed at self.pointer(); returns stderr."""
        rc, out, err = self.run(*args, **env)
        expect(rc == 0, "fetch failed", rc=rc, stderr=err)
        expect(out == self.pointer(), "printed path", got=out, want=self.pointer())
        return err

    def expect_good_blob(self):
        with open(self.pointer(), "rb") as f:
            got = hashlib.sha256(f.read()).hexdigest()
        expect(got == self.sha, "sha256 of the fetched file", got=got, want=self.sha)

    def requests(self, method=None, prefix=""):
        return [r for r in self.hub.requests if (method is None or r.method == method) and r.path.startswith(prefix)]

    def fill_cache_like_python(self, revision="main"):
        """The layout huggingface_hub writes, built by hand."""
        os.makedirs(os.path.join(self.storage, "blobs"))
        os.makedirs(os.path.dirname(self.pointer()))
        os.makedirs(os.path.join(self.storage, "refs"))
        with open(self.blob(), "wb") as f:
            f.write(self.data)
        os.symlink("../../blobs/" + self.sha, self.pointer())
        with open(os.path.join(self.storage, "refs", revision), "w") as f:
            f.write(self.commit)


def cdn_gets(env):
    return env.requests("GET", "/cdn/")


# --- fresh download and cache hits ----------------------------------------------------


@case
def downloads_into_huggingface_hub_layout(e):
    e.fetched()
    e.expect_good_blob()
    link = os.readlink(e.pointer())
    expect(link == "../../blobs/" + e.sha, "snapshot is a relative link to the blob", got=link)
    with open(os.path.join(e.storage, "refs", "main")) as f:
        ref = f.read()
    expect(ref == e.commit, "refs/main holds the commit, no newline", got=ref, want=e.commit)
    blobs = sorted(os.listdir(os.path.join(e.storage, "blobs")))
    expect(blobs == [e.sha], "blobs/ holds exactly the sha256-named blob", got=blobs)
    lock = os.path.join(e.cache, ".locks", FOLDER, e.sha + ".lock")
    expect(os.path.exists(lock), "lock file under .locks/<repo folder>/<etag>.lock", missing=lock)
    expect(os.path.exists(os.path.join(e.cache, "CACHEDIR.TAG")), "CACHEDIR.TAG written")
    methods = [(r.method, r.path.split("?")[0]) for r in e.hub.requests]
    want = [("HEAD", "/%s/resolve/main/model.safetensors" % REPO_ID), ("GET", "/cdn/" + e.sha)]
    expect(methods == want, "HEAD on /resolve (redirect not followed), then GET on the CDN", got=methods)
    ua = e.hub.requests[0].headers.get("user-agent", "")
    expect(ua.startswith("lucidgen/") and len(ua) > len("lucidgen/"), "User-Agent lucidgen/<version>", got=ua)


@case
def branch_cache_hit_makes_one_head_and_no_get(e):
    e.fetched()
    before = len(e.hub.requests)
    e.fetched()
    later = [(r.method, r.path) for r in e.hub.requests[before:]]
    expect(len(later) == 1 and later[0][0] == "HEAD", "second fetch of main: exactly one HEAD", got=later)


@case
def commit_hash_cache_hit_makes_no_request(e):
    e.fetched()
    before = len(e.hub.requests)
    rc, out, err = e.run("--revision", e.commit)
    expect(rc == 0 and out == e.pointer(), "fetch by commit", rc=rc, out=out, stderr=err)
    expect(len(e.hub.requests) == before, "no request for a cached commit",
           requests=[r.path for r in e.hub.requests[before:]])


@case
def commit_hash_revision_writes_no_ref(e):
    e.fetched("--revision", e.commit)
    e.expect_good_blob()
    refs = os.path.join(e.storage, "refs")
    expect(not os.path.exists(refs) or os.listdir(refs) == [], "no refs for a commit-hash revision",
           got=os.listdir(refs) if os.path.exists(refs) else None)


@case
def tag_revision_writes_its_own_ref(e):
    e.repo.refs["v1.0"] = e.commit
    e.fetched("--revision", "v1.0")
    with open(os.path.join(e.storage, "refs", "v1.0")) as f:
        expect(f.read() == e.commit, "refs/v1.0 holds the commit")
    expect(not os.path.exists(os.path.join(e.storage, "refs", "main")), "refs/main not written")


# --- offline --------------------------------------------------------------------------


@case
def offline_hit_makes_no_request(e):
    e.fetched()
    before = len(e.hub.requests)
    for how in (("--offline",), ()):
        env = {} if how else {"HF_HUB_OFFLINE": "tRuE"}
        e.fetched(*how, **env)
    e.fetched(HF_HUB_OFFLINE="on")
    e.fetched(HF_HUB_OFFLINE="YES")
    expect(len(e.hub.requests) == before, "offline fetches made requests",
           requests=[r.path for r in e.hub.requests[before:]])
    e.fetched(HF_HUB_OFFLINE="0")
    expect(len(e.hub.requests) == before + 1, "HF_HUB_OFFLINE=0 stays online (one HEAD)")


@case
def offline_miss_names_the_path_it_looked_for(e):
    ref = os.path.join(e.storage, "refs", "main")
    rc, out, err = e.run("--offline")
    expect(rc == 2 and ref in err, "offline miss on a branch names refs/main", rc=rc, stderr=err, want=ref)
    rc, out, err = e.run(HF_HUB_OFFLINE="1")
    expect(rc == 2 and ref in err, "HF_HUB_OFFLINE=1 miss names refs/main", rc=rc, stderr=err)
    rc, out, err = e.run("--offline", "--revision", e.commit)
    expect(rc == 2 and e.pointer() in err, "offline miss on a commit names the snapshot", stderr=err,
           want=e.pointer())
    os.makedirs(os.path.dirname(ref))
    with open(ref, "w") as f:
        f.write(e.commit)
    rc, out, err = e.run("--offline")
    expect(rc == 2 and e.pointer() in err, "ref present, snapshot missing: names the snapshot", stderr=err)
    expect(e.hub.requests == [], "offline makes no request", got=[r.path for r in e.hub.requests])


@case
def reads_cache_written_by_python_huggingface_hub(e):
    e.fill_cache_like_python()
    e.fetched("--offline")
    e.expect_good_blob()
    e.fetched()
    got = [(r.method) for r in e.hub.requests]
    expect(got == ["HEAD"], "online fetch over a Python-made cache: one HEAD, no GET", got=got)


@case
def cache_dir_follows_huggingface_hub_env(e):
    # Offline misses name the path they looked for, which shows the cache root.
    def looked_in(**env):
        rc, out, err = e.run("--offline", cache=False, **env)
        return err

    t = e.tmp
    checks = [
        ({"HF_HUB_CACHE": t + "/a", "HF_HOME": t + "/b"}, t + "/a/" + FOLDER),
        ({"HF_HOME": t + "/b"}, t + "/b/hub/" + FOLDER),
        ({"XDG_CACHE_HOME": t + "/x"}, t + "/x/huggingface/hub/" + FOLDER),
        ({}, t + "/.cache/huggingface/hub/" + FOLDER),
        ({"HF_HUB_CACHE": "~/tilde"}, t + "/tilde/" + FOLDER),
    ]
    for env, want in checks:
        err = looked_in(**env)
        expect(want + "/refs/main" in err, "cache root from %r" % env, stderr=err, want=want)


# --- integrity and resume -------------------------------------------------------------


@case
def resumes_after_dropped_connection_with_range(e):
    e.hub.faults.drop_after = [100000]
    err = e.fetched()
    e.expect_good_blob()
    ranges = [r.headers.get("range") for r in cdn_gets(e)]
    expect(ranges == [None, "bytes=100000-"], "second GET resumes at the drop", got=ranges)
    expect("retrying" in err, "a warning says it retries", stderr=err)


@case
def resumes_partial_file_left_by_earlier_run(e):
    os.makedirs(os.path.join(e.storage, "blobs"))
    with open(e.blob() + ".incomplete", "wb") as f:
        f.write(e.data[:50000])
    e.fetched()
    e.expect_good_blob()
    ranges = [r.headers.get("range") for r in cdn_gets(e)]
    expect(ranges == ["bytes=50000-"], "one GET resuming the .incomplete file", got=ranges)
    expect(not os.path.exists(e.blob() + ".incomplete"), ".incomplete renamed away")


@case
def restarts_when_server_ignores_range(e):
    os.makedirs(os.path.join(e.storage, "blobs"))
    with open(e.blob() + ".incomplete", "wb") as f:
        f.write(b"\0" * 50000)  # garbage: must be thrown away, not kept as a prefix
    e.hub.faults.ignore_range = True
    e.fetched()
    e.expect_good_blob()
    ranges = [r.headers.get("range") for r in cdn_gets(e)]
    expect(ranges == ["bytes=50000-"], "asked for a range once, took the 200 from byte 0", got=ranges)


@case
def bad_partial_file_is_downloaded_again_from_the_start(e):
    os.makedirs(os.path.join(e.storage, "blobs"))
    with open(e.blob() + ".incomplete", "wb") as f:
        f.write(b"\0" * 50000)  # a prefix that is not the file; the server honours Range
    err = e.fetched()
    e.expect_good_blob()
    ranges = [r.headers.get("range") for r in cdn_gets(e)]
    expect(ranges == ["bytes=50000-", None], "resumed, failed the sha256, then one full GET", got=ranges)
    expect("downloading it again from the start" in err, "warning about the bad partial file", stderr=err)


@case
def stalled_body_times_out_and_resumes(e):
    e.hub.faults.stall = [(60000, 4.0)]
    t0 = time.time()
    err = e.fetched(HF_HUB_DOWNLOAD_TIMEOUT="1")
    e.expect_good_blob()
    ranges = [r.headers.get("range") for r in cdn_gets(e)]
    expect(len(ranges) == 2 and ranges[1] and ranges[1].startswith("bytes="), "resumed after the stall",
           got=ranges)
    expect(time.time() - t0 < 4.0, "gave up on the stalled connection before the server resumed",
           seconds=time.time() - t0)


@case
def rejects_corrupt_body_and_leaves_no_blob_or_snapshot(e):
    e.hub.faults.corrupt = True
    bad = hashlib.sha256(bytes([e.data[0] ^ 0xFF]) + e.data[1:]).hexdigest()
    rc, out, err = e.run()
    want = "checksum mismatch for %s/model.safetensors@%s: expected %s got %s" % (REPO_ID, e.commit, e.sha, bad)
    expect(rc == 2 and want in err, "checksum mismatch reported", rc=rc, stderr=err, want=want)
    blobs = os.listdir(os.path.join(e.storage, "blobs"))
    expect(blobs == [], "nothing left in blobs/", got=blobs)
    snaps = os.path.join(e.storage, "snapshots")
    expect(not os.path.exists(snaps) or os.listdir(snaps) == [], "nothing left in snapshots/",
           got=os.listdir(snaps) if os.path.exists(snaps) else None)


@case
def normalises_weak_quoted_etag(e):
    e.hub.faults.weak_etag = True
    e.fetched()
    e.expect_good_blob()
    expect(os.path.islink(e.pointer()) and os.readlink(e.pointer()) == "../../blobs/" + e.sha,
           "blob named by the bare sha256", got=os.readlink(e.pointer()))


@case
def non_lfs_file_uses_etag_and_content_length(e):
    e.hub.repos.clear()
    e.hub.add_repo(Repo(REPO_ID, {"model.safetensors": e.data}, lfs=False))
    e.fetched()
    e.expect_good_blob()
    oid = hashlib.sha1(b"blob %d\0" % len(e.data) + e.data).hexdigest()
    expect(os.readlink(e.pointer()) == "../../blobs/" + oid, "blob named by the git oid ETag",
           got=os.readlink(e.pointer()))


# --- hub errors, retries, network -----------------------------------------------------


@case
def reports_404_naming_repo_revision_and_file(e):
    for args, repo in ((("--revision", "nope"), REPO_ID), (("--file", "missing.bin"), REPO_ID)):
        rc, out, err = e.run(*args)
        rev = "nope" if "nope" in args else "main"
        fname = "missing.bin" if "missing.bin" in args else "model.safetensors"
        for part in ("no such repo/revision/file", repo, rev, fname):
            expect(rc == 2 and part in err, "404 message names %r" % part, rc=rc, stderr=err)
    p = subprocess.run([CLIENT, "timm/no_such_model", "--cache-dir", e.cache], env=e.env(),
                       capture_output=True, text=True, timeout=60)
    expect(p.returncode == 2 and "timm/no_such_model" in p.stderr and "main" in p.stderr
           and "model.safetensors" in p.stderr, "404 for an unknown repo", stderr=p.stderr)


@case
def overlong_revision_is_refused_before_any_request(e):
    # 5000 characters were quoted into a 512-byte buffer and refused as "hub URL too long"
    rc, out, err = e.run("--revision", "r" * 5000)
    expect(rc == 2 and "revision" in err and "5000 characters" in err and "128" in err
           and len(err.strip().splitlines()) == 1, "one line naming the revision's length and the limit",
           rc=rc, stderr=err)
    expect(e.hub.requests == [], "no request", got=len(e.hub.requests))
    rc, out, err = e.run("--revision", "r" * 128)
    expect(rc == 2 and "no such repo/revision/file" in err, "128 characters reach the hub (404 here)", rc=rc, stderr=err)


@case
def reports_401_as_gated_or_private(e):
    e.repo.gated_token = "good-token"
    rc, out, err = e.run()
    expect(rc == 2 and "gated or private" in err and "set HF_TOKEN" in err, "401 message", rc=rc, stderr=err)
    rc, out, err = e.run(HF_TOKEN="bad-token")
    expect(rc == 2 and "gated or private" in err and "refused" in err, "403 with a token", rc=rc, stderr=err)


@case
def sends_token_to_hub_but_not_to_cdn(e):
    e.repo.gated_token = "good-token"
    e.fetched(HF_TOKEN="good-token")
    e.expect_good_blob()
    head = e.requests("HEAD")[0]
    expect(head.headers.get("authorization") == "Bearer good-token", "HEAD carries the token",
           got=head.headers.get("authorization"))
    cdn = cdn_gets(e)
    expect(cdn and all("authorization" not in r.headers for r in cdn), "CDN GET (other host) has no token",
           got=[r.headers.get("authorization") for r in cdn])


@case
def reads_token_from_login_file_like_huggingface_hub(e):
    e.repo.gated_token = "good-token"
    os.makedirs(os.path.join(e.tmp, ".cache", "huggingface"))
    with open(os.path.join(e.tmp, ".cache", "huggingface", "token"), "w") as f:
        f.write("good-token\n")  # what `hf auth login` leaves in <HF home>/token
    e.fetched()
    heads = [r.headers.get("authorization") for r in e.requests("HEAD")]
    expect(heads == ["Bearer good-token"], "token from ~/.cache/huggingface/token, newline dropped", got=heads)
    shutil.rmtree(e.storage)
    rc, out, err = e.run(HF_HUB_DISABLE_IMPLICIT_TOKEN="1")
    expect(rc == 2 and "set HF_TOKEN" in err, "HF_HUB_DISABLE_IMPLICIT_TOKEN sends none", rc=rc, stderr=err)


@case
def retries_5xx_then_succeeds(e):
    e.hub.faults.resolve_status = [500]
    e.hub.faults.cdn_status = [500, 503]
    err = e.fetched()
    e.expect_good_blob()
    heads, gets = len(e.requests("HEAD")), len(cdn_gets(e))
    expect((heads, gets) == (2, 3), "HEAD 500 then ok; GET 500, 503, ok", got=(heads, gets))
    expect(err.count("retrying") == 3, "one warning per retry", stderr=err)


@case
def gives_up_after_bounded_retries(e):
    e.hub.faults.cdn_status = [503] * 20
    rc, out, err = e.run()
    expect(rc == 1 and "gave up after 5 tries" in err, "network error after 5 tries", rc=rc, stderr=err)
    expect(len(cdn_gets(e)) == 5, "exactly 5 GETs", got=len(cdn_gets(e)))
    blobs = os.listdir(os.path.join(e.storage, "blobs"))
    expect(blobs == [] and not os.path.exists(e.pointer()), "no blob, no empty .incomplete, no snapshot",
           blobs=blobs)


@case
def lying_linked_size_ends_after_bounded_attempts(e):
    e.hub.faults.linked_size_extra = 1000  # the body is always short of what was announced
    rc, out, err = e.run()
    expect(rc == 1 and "gave up after 5 tries" in err, "network error after 5 tries", rc=rc, stderr=err)
    expect(len(cdn_gets(e)) <= 5, "at most 5 GETs (it used to download the file 25 times)", got=len(cdn_gets(e)))
    expect(not os.path.exists(e.pointer()), "no snapshot")


@case
def oversized_repo_commit_is_refused(e):
    e.hub.faults.repo_commit = "a" * 10000
    rc, out, err = e.run()
    expect(rc == 1 and "X-Repo-Commit of 10000 characters" in err and len(err.strip().splitlines()) == 1,
           "one-line network error naming the header", rc=rc, stderr=err)
    snapshots = os.path.join(e.storage, "snapshots")
    expect(not os.path.isdir(snapshots) or os.listdir(snapshots) == [], "no snapshot named after a truncated commit",
           got=os.listdir(snapshots) if os.path.isdir(snapshots) else None)


@case
def falls_back_to_cache_when_hub_unreachable(e):
    e.fetched()
    e.hub.stop()
    err = e.fetched()
    expect("warning" in err and "using the cached copy" in err, "warns it uses the cache", stderr=err)
    e.hub.start()
    e.hub.faults.resolve_status = [502]
    err = e.fetched(HF_ENDPOINT=e.hub.endpoint)
    expect("HTTP 502" in err and "using the cached copy" in err, "5xx HEAD also falls back", stderr=err)


@case
def unreachable_hub_without_cache_is_a_network_error(e):
    e.hub.stop()
    rc, out, err = e.run()
    expect(rc == 1 and "cannot reach" in err, "exit 1, says it cannot reach the hub", rc=rc, stderr=err)
    expect(not os.path.exists(os.path.join(e.storage, "snapshots")), "no snapshot created")


@case
def concurrent_fetches_share_one_download(e):
    e.hub.faults.slow_chunk_s = 0.05  # ~0.8 s body: the second process waits on the lock
    procs = [e.popen() for _ in range(2)]
    results = [p.communicate(timeout=60) for p in procs]
    for p, (out, err) in zip(procs, results):
        expect(p.returncode == 0 and out.strip() == e.pointer(), "both fetches succeed",
               rc=p.returncode, stdout=out, stderr=err)
    e.expect_good_blob()
    expect(len(cdn_gets(e)) == 1, "one GET: the second process found the blob after the lock",
           gets=len(cdn_gets(e)))
    leftovers = [n for n in os.listdir(os.path.join(e.storage, "blobs")) if n != e.sha]
    expect(leftovers == [], "no temporaries left in blobs/", got=leftovers)


@case
def progress_bar_only_on_a_terminal(e):
    def stderr_on_pty(*args):
        try:
            master, slave = pty.openpty()
        except OSError as why:
            raise Skip("no pseudo-terminal to stand in for a user's terminal (%s)" % why)
        p = subprocess.Popen(e.argv(*args), env=e.env(), stdout=subprocess.PIPE, stderr=slave)
        out, _ = p.communicate(timeout=60)
        os.close(slave)
        chunks = []
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        os.close(master)
        return p.returncode, b"".join(chunks).decode(errors="replace")

    rc, err = stderr_on_pty()
    expect(rc == 0 and "ETA" in err and "model.safetensors" in err and "/s" in err,
           "a terminal gets a progress bar (bytes, rate, ETA)", stderr=err)
    shutil.rmtree(e.storage)
    rc, err = stderr_on_pty("--quiet")
    expect(rc == 0 and err == "", "--quiet on a terminal prints nothing", stderr=err)
    shutil.rmtree(e.storage)
    rc, out, err = e.run()
    expect(rc == 0 and err == "", "a pipe gets no progress bar", stderr=err)


# --- cache list / verify --------------------------------------------------------------


@case
def cache_list_shows_repo_revision_commit_file_and_size(e):
    e.fetched()
    rc, out, err = e.run("list")
    want = "%s  main  %s  model.safetensors  %d" % (REPO_ID, e.commit, len(e.data))
    expect(rc == 0 and out == want, "list output", got=out, want=want, stderr=err)


@case
def cache_verify_detects_tampered_blob(e):
    e.fetched()
    rc, out, err = e.run("verify")
    expect(rc == 0 and "0 problems" in out, "clean cache verifies", rc=rc, out=out, stderr=err)
    with open(e.blob(), "r+b") as f:
        f.seek(1000)
        f.write(b"tampered")
    with open(e.blob(), "rb") as f:
        bad = hashlib.sha256(f.read()).hexdigest()
    rc, out, err = e.run("verify")
    want = "MISMATCH %s: expected %s got %s" % (e.blob(), e.sha, bad)
    expect(rc == 2 and want in out, "tampered blob reported", rc=rc, out=out, want=want)
    os.remove(e.blob())
    rc, out, err = e.run("verify")
    expect(rc == 2 and "BROKEN " + e.pointer() in out, "dangling snapshot link reported", rc=rc, out=out)


@case
def cache_list_and_verify_of_no_cache_are_errors(e):
    """A mistyped --cache-dir was listed as empty and verified with
    "0 problems", exit 0: a check that checked nothing."""
    for what in ("list", "verify"):
        for cache in (os.path.join(e.tmp, "nonexistent"), os.devnull):
            argv = [CLIENT, what, "--cache-dir", cache]
            r = subprocess.run(argv, env=e.env(), capture_output=True, text=True, timeout=20)
            expect(r.returncode == 2 and "no hub cache at " + cache in r.stderr and "0 problems" not in r.stdout,
                   f"{what} of {cache}", rc=r.returncode, out=r.stdout, stderr=r.stderr)


@case
def cache_fifos_and_planted_links_neither_block_nor_redirect(e):
    """A cache is a directory others may write to (HF_HUB_CACHE shared by a
    group): a FIFO at refs/main blocked every open() of it, one among the blobs
    blocked `cache verify`, and a symlink planted at BLOB.incomplete made the
    download write into the file it pointed to."""
    ref = os.path.join(e.storage, "refs", "main")
    os.makedirs(os.path.dirname(ref))
    os.mkfifo(ref)
    rc, out, err = e.run("--offline", timeout=20)
    expect(rc == 2 and ref in err and "not a regular file" in err, "offline: a FIFO ref is named, not opened",
           rc=rc, stderr=err)
    victim = os.path.join(e.tmp, "victim")
    with open(victim, "wb") as f:
        f.write(b"precious\n")
    os.makedirs(os.path.join(e.storage, "blobs"))
    os.symlink(victim, e.blob() + ".incomplete")
    rc, out, err = e.run(timeout=20)
    expect(rc == 0 and out == e.pointer(), "online: fetched over the FIFO ref and the planted link", rc=rc,
           stderr=err)
    e.expect_good_blob()
    with open(victim, "rb") as f:
        kept = f.read()
    expect(kept == b"precious\n", "the planted link's target is untouched", got=kept[:40])
    with open(ref) as f:
        expect(f.read().strip() == e.commit, "refs/main is a file holding the commit again")
    fifo = os.path.join(e.storage, "blobs", "ab" * 32)
    os.mkfifo(fifo)
    rc, out, err = e.run("verify", timeout=20)
    expect(rc == 2 and "UNREADABLE " + fifo in out and "not a regular file" in out,
           "verify: a FIFO among the blobs is reported, not read", rc=rc, out=out)


def main():
    global CLIENT
    ap = argparse.ArgumentParser()
    ap.add_argument("--client")
    ap.add_argument("--check-registered", action="store_true")
    ap.add_argument("names", nargs="*")
    args = ap.parse_args()
    known = [c.__name__ for c in CASES]
    if args.check_registered:
        missing, extra = sorted(set(known) - set(args.names)), sorted(set(args.names) - set(known))
        print("cases not registered in fetch.cmake: %s\nregistered but unknown: %s" % (missing, extra))
        return 1 if missing or extra else 0
    CLIENT = os.path.abspath(args.client)
    unknown = [n for n in args.names if n not in known]
    if unknown:
        print("unknown case(s): %s" % unknown)
        return 2
    failed = skipped = 0
    for fn in CASES:
        if args.names and fn.__name__ not in args.names:
            continue
        e = Env()
        t0 = time.time()
        try:
            fn(e)
            print("%-60s OK (%.1fs)" % (fn.__name__, time.time() - t0))
        except Failure as f:
            failed += 1
            print("%-60s NOT OK\n  %s" % (fn.__name__, f))
        except Skip as why:
            skipped += 1
            print("%-60s SKIPPED: %s" % (fn.__name__, why))
        finally:
            e.close()
    return 1 if failed else (SKIP_EXIT if skipped else 0)


if __name__ == "__main__":
    sys.exit(main())
