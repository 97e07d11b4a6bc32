#!/usr/bin/python3
"""bench/bench.py — the driver of bench/run: synth and PyTorch, interleaved.

    /usr/bin/python3 bench/bench.py compare --bench-net BIN --data DIR
                     [--rounds N] [--threads T] [--only style|dream]
    /usr/bin/python3 bench/bench.py ab --bench-net A --bench-net-b B --data DIR
                     [--rounds N] [--threads T] [--only style|dream]
    /usr/bin/python3 bench/bench.py large --synth BIN --content IMG --style IMG
                     [--size S] [--tile T] [--octaves K] [--iters I] [--threads T]

compare: for each workload it starts two long-lived workers, synth's
(bench_net) and PyTorch's (bench/torch_bench.py), each with T threads. Both
set up and run one warm-up iteration; then the driver asks them for one
iteration at a time, alternating (synth, torch, torch, synth, ...: ABBA, so a
load that drifts during the run falls on both alike), N rounds. The machine
may be shared: what matters is the ratio of two figures taken side by side.
It prints, per workload and framework, the median and best seconds per
iteration, the peak RSS of the worker process (getrusage via wait4), the
direct-convolution GFLOP/s and their share of the SGEMM rate measured here,
and the objective (both frameworks compute the same one: the values must
agree). Then the ratios synth/PyTorch (of the medians, and the median of the
per-round ratios) against the targets of issue 9.

ab: the same for two builds of bench_net (A: --bench-net, B: --bench-net-b),
to measure a change: B/A per workload.

large: one `synth style` run at S×S with octaves and windows of T×T, its
peak RSS (wait4) and wall time against the 20 GB target.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

TARGETS = {"style": 0.5, "dream": 0.6}  # time synth / pytorch
RSS_TARGET = ("style", 0.5)  # peak RSS synth / pytorch, 512x512 style
LARGE_RSS_GB = 20.0


class Worker:
    """A benchmark process answering one iteration per line on its stdin."""

    def __init__(self, name, argv, env):
        self.name = name
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     env=env, text=True, bufsize=1)
        line = self.proc.stdout.readline()
        if not line.startswith("ready"):
            self.fail("no 'ready' line (got %r)" % line)
        self.seconds = []
        self.objective = line.split("objective=")[1].strip()

    def fail(self, why):
        self.proc.kill()
        sys.exit("bench: %s worker: %s" % (self.name, why))

    def iterate(self):
        self.proc.stdin.write("1\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        fields = dict(kv.split("=", 1) for kv in line.split())
        if "seconds" not in fields:
            self.fail("unexpected answer %r" % line)
        self.seconds.append(float(fields["seconds"]))
        self.objective = fields["objective"]
        return self.seconds[-1]

    def finish(self):
        """Ends the worker; its totals as a dict, peak RSS from wait4."""
        self.proc.stdin.close()
        rest = self.proc.stdout.read()
        _, status, usage = os.wait4(self.proc.pid, 0)
        self.proc.returncode = os.waitstatus_to_exitcode(status)
        if self.proc.returncode != 0:
            self.fail("exit status %d" % self.proc.returncode)
        kv = dict(line.split("=", 1) for line in rest.splitlines() if "=" in line)
        kv["wait4_rss_mb"] = usage.ru_maxrss / 1024.0
        return kv


def env_with(**extra):
    env = dict(os.environ)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def sgemm_rate(bench_net, threads):
    out = subprocess.run([bench_net, "sgemm"], env=env_with(SYNTH_THREADS=threads),
                         capture_output=True, text=True, check=True).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def load():
    return "%.2f %.2f %.2f" % os.getloadavg()


def bench_net_argv(bench_net, workload, d):
    if workload == "style":
        return [bench_net, "style", os.path.join(d, "vgg19.onnx"), os.path.join(d, "x.npy"),
                os.path.join(d, "style.npy"), os.path.join(d, "content.npy")]
    return [bench_net, "dream", os.path.join(d, "googlenet.onnx"), os.path.join(d, "x.npy"),
            "inception4c"]


def ab(a):
    """Two synth builds (A: --bench-net, B: --bench-net-b), interleaved like compare."""
    env = env_with(SYNTH_THREADS=a.threads)
    print("load before: %s" % load(), flush=True)
    for w in [a.only] if a.only else ["style", "dream"]:
        wa = Worker("A " + w, bench_net_argv(a.bench_net, w, a.data), env)
        wb = Worker("B " + w, bench_net_argv(a.bench_net_b, w, a.data), env)
        pairs = []
        for r in range(a.rounds):
            order = (wa, wb) if r % 2 == 0 else (wb, wa)
            t = {wk.name: wk.iterate() for wk in order}
            pairs.append(t[wb.name] / t[wa.name])
        ka, kb = wa.finish(), wb.finish()
        print("%s: A %.3f s (best %.3f, %.0f MB), B %.3f s (best %.3f, %.0f MB); B/A = %.3f "
              "(median of per-round ratios %.3f); objectives %s %s" % (
                  w, statistics.median(wa.seconds), min(wa.seconds), ka["wait4_rss_mb"],
                  statistics.median(wb.seconds), min(wb.seconds), kb["wait4_rss_mb"],
                  statistics.median(wb.seconds) / statistics.median(wa.seconds),
                  statistics.median(pairs), wa.objective, wb.objective))
    print("load after:  %s" % load())


def compare(a):
    here = os.path.dirname(os.path.abspath(__file__))
    d = a.data
    threads = a.threads
    print("load before: %s" % load(), flush=True)
    sgemm = sgemm_rate(a.bench_net, threads)
    peak = float(sgemm["sgemm_gflops_pool"])
    workloads = [a.only] if a.only else ["style", "dream"]
    results = {}
    for w in workloads:
        synth_argv = bench_net_argv(a.bench_net, w, d)
        torch_argv = [sys.executable, os.path.join(here, "torch_bench.py"), w, d,
                      "--threads", str(threads)]
        # One worker at a time sets up, so neither's warm-up slows the other's.
        synth = Worker("synth " + w, synth_argv, env_with(SYNTH_THREADS=threads))
        torch = Worker("pytorch " + w, torch_argv, env_with(OMP_NUM_THREADS=threads))
        pairs = []
        for r in range(a.rounds):
            order = (synth, torch) if r % 2 == 0 else (torch, synth)
            t = {wk.name: wk.iterate() for wk in order}
            pairs.append(t[synth.name] / t[torch.name])
            print("  %s round %d: synth %.3f s, pytorch %.3f s" % (w, r + 1, t[synth.name],
                                                                   t[torch.name]), flush=True)
        results[w] = (synth, synth.finish(), torch, torch.finish(), pairs)
    print("load after:  %s" % load())

    torch_kv = results[workloads[0]][3]
    print()
    print("synth bench, %s, %s, %d CPUs" % (time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                                             cpu_model(), os.cpu_count()))
    print("pytorch: %s" % torch_kv["framework"].replace("pytorch ", ""))
    print("threads: %d per framework; %s input; ABBA-interleaved, median of %d rounds after one "
          "warm-up each" % (threads, a.size_label, a.rounds))
    print("SGEMM rate measured: %s GFLOP/s on 1 thread, %s GFLOP/s on %d (2048^3, the engine's "
          "pool)" % (sgemm["sgemm_gflops_1thread"], sgemm["sgemm_gflops_pool"], threads))
    print()
    print("%-7s %-8s %9s %9s %12s %9s %9s %16s" % ("workload", "framework", "s/iter", "best s",
                                                    "peak RSS MB", "GFLOP/s", "of SGEMM",
                                                    "objective"))
    for w, (synth, skv, torch, tkv, pairs) in results.items():
        gflop = float(skv["conv_gflop"])
        for name, wk, kv in (("synth", synth, skv), ("pytorch", torch, tkv)):
            med = statistics.median(wk.seconds)
            print("%-8s %-8s %9.3f %9.3f %12.1f %9.1f %8.0f%% %16s" % (
                w, name, med, min(wk.seconds), kv["wait4_rss_mb"], gflop / med,
                100 * gflop / med / peak, wk.objective))
    print()
    for w, (synth, skv, torch, tkv, pairs) in results.items():
        ratio = statistics.median(synth.seconds) / statistics.median(torch.seconds)
        rss = skv["wait4_rss_mb"] / tkv["wait4_rss_mb"]
        line = "%s: time synth/pytorch = %.2f (median of per-round ratios %.2f; target <= %.1f: %s)" % (
            w, ratio, statistics.median(pairs), TARGETS[w], "met" if ratio <= TARGETS[w] else "MISSED")
        line += ", peak RSS synth/pytorch = %.2f" % rss
        if w == RSS_TARGET[0]:
            line += " (target <= %.1f: %s)" % (RSS_TARGET[1], "met" if rss <= RSS_TARGET[1] else "MISSED")
        print(line)
    if "style" in results:
        print("(GFLOP/s count a direct convolution's multiply-adds, forward and backward-data: "
              "%s GFLOP per style iteration%s)" % (
                  results["style"][1]["conv_gflop"],
                  ", %s per dream iteration" % results["dream"][1]["conv_gflop"]
                  if "dream" in results else ""))


def large(a):
    out = "/tmp/synth-bench-large-%d.png" % os.getpid()
    argv = [a.synth, "style", "--content", a.content, "--style", a.style, "--size", str(a.size),
            "--tile", str(a.tile), "--octaves", str(a.octaves), "--iters", str(a.iters),
            "--threads", str(a.threads), "--quiet", "-o", out]
    print("load before: %s" % load())
    print(" ".join(argv), flush=True)
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    print("load after:  %s" % load())
    if os.path.exists(out):
        os.unlink(out)
    gb = usage.ru_maxrss / 1024.0 / 1024.0
    print("large style %dx%d (--tile %d, %d octaves, %d iterations each): exit %d, %.0f s, "
          "peak RSS %.2f GB (target <= %.0f GB: %s)" % (
              a.size, a.size, a.tile, a.octaves, a.iters, code, wall, gb, LARGE_RSS_GB,
              "met" if code == 0 and gb <= LARGE_RSS_GB else "MISSED"))
    return code


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="what", required=True)
    for name in ("compare", "ab"):  # the same interleaved runs
        c = sub.add_parser(name)
        c.add_argument("--bench-net", required=True)
        if name == "ab":
            c.add_argument("--bench-net-b", required=True)
        c.add_argument("--data", required=True)
        c.add_argument("--rounds", type=int, default=6)
        c.add_argument("--threads", type=int, default=2)
        c.add_argument("--only", choices=["style", "dream"])
        c.add_argument("--size-label", default="512x512")
    g = sub.add_parser("large")
    g.add_argument("--synth", required=True)
    g.add_argument("--content", required=True)
    g.add_argument("--style", required=True)
    g.add_argument("--size", type=int, default=4096)
    g.add_argument("--tile", type=int, default=512)
    g.add_argument("--octaves", type=int, default=3)
    g.add_argument("--iters", type=int, default=1)
    g.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    if a.what == "compare":
        compare(a)
    elif a.what == "ab":
        ab(a)
    else:
        sys.exit(large(a))


if __name__ == "__main__":
    main()
