package dev.metagen.meta.tools;

import dev.metagen.core.MetagenException;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Runs untrusted code in a subprocess (as for program-aided reasoning, Gao et al., 2023, and unit-test feedback,
 * Chen et al., 2023): a fresh temporary working directory, no network (a new empty network namespace via
 * {@code unshare -n}, verified to work before first use), its own PID namespace (so killing it kills every process
 * it started, detached or not), an address-space limit and a CPU-time limit ({@code prlimit}), a wall-clock limit
 * and a cap on captured output, past which it is killed. Every stop is reported in the {@link ToolResult}, never thrown.
 */
public final class Sandbox implements Tool {
    /** Limits of one run. */
    public record Limits(Duration wall, long memoryBytes, int cpuSeconds, int maxOutputBytes) {
        public static final Limits DEFAULT = new Limits(Duration.ofSeconds(5), 512L << 20, 5, 64 << 10);
    }

    private static volatile Boolean isolationWorks;
    private final List<String> interpreter;
    private final String fileName;
    private final Limits limits;

    /** @param interpreter the command that runs a source file, e.g. {@code ["python3"]}; the file name is appended */
    public Sandbox(List<String> interpreter, String fileName, Limits limits) {
        this.interpreter = List.copyOf(interpreter);
        this.fileName = fileName;
        this.limits = limits;
    }

    public static Sandbox python(Limits limits) {
        return new Sandbox(List.of("python3", "-I"), "main.py", limits);
    }

    @Override
    public String name() {
        return fileName.endsWith(".py") ? "python" : "code";
    }

    /** True when {@code unshare} can create an empty network namespace and a PID namespace here (checked once). */
    public static boolean networkIsolationAvailable() {
        Boolean ok = isolationWorks;
        if (ok == null) {
            try {
                Process p = new ProcessBuilder("unshare", "-n", "-p", "-f", "--kill-child", "true").redirectErrorStream(true).start();
                p.getInputStream().readAllBytes();
                ok = p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
            } catch (IOException e) {
                ok = false;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                ok = false;
            }
            isolationWorks = ok;
        }
        return ok;
    }

    @Override
    public ToolResult run(String code) {
        if (!networkIsolationAvailable()) {
            throw new MetagenException("sandbox: cannot isolate the network and processes here ('unshare -n -p -f' failed); refusing to run code");
        }
        Path dir;
        try {
            dir = Files.createTempDirectory("metagen-sandbox-");
            Files.writeString(dir.resolve(fileName), code);
        } catch (IOException e) {
            throw new UncheckedIOException("sandbox: cannot create a temporary directory", e);
        }
        List<String> cmd = new ArrayList<>(List.of("unshare", "-n", "-p", "-f", "--kill-child", "--",
                "prlimit", "--as=" + limits.memoryBytes(), "--cpu=" + limits.cpuSeconds(), "--nproc=256", "--"));
        cmd.addAll(interpreter);
        cmd.add(fileName);
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(false);
        pb.environment().clear();
        pb.environment().put("PATH", System.getenv().getOrDefault("PATH", "/usr/bin:/bin"));
        pb.environment().put("HOME", dir.toString());
        pb.environment().put("TMPDIR", dir.toString());
        long t0 = System.nanoTime();
        try {
            Process p = pb.start();
            p.getOutputStream().close();
            Capture out = new Capture(p.getInputStream(), limits.maxOutputBytes());
            Capture err = new Capture(p.getErrorStream(), limits.maxOutputBytes());
            Thread to = Thread.ofVirtual().start(out);
            Thread te = Thread.ofVirtual().start(err);
            boolean timedOut = false;
            long deadline = t0 + limits.wall().toNanos();
            // poll so that an output flood is stopped as soon as it passes the cap
            while (!p.waitFor(20, TimeUnit.MILLISECONDS)) {
                if (out.overflowed() || err.overflowed()) {
                    break;
                }
                if (System.nanoTime() - deadline > 0) {
                    timedOut = true;
                    break;
                }
            }
            boolean killed = p.isAlive();
            if (killed) {
                killTree(p);
            }
            to.join(2000);
            te.join(2000);
            int exit = p.exitValue();
            boolean flooded = out.overflowed() || err.overflowed();
            Map<String, Object> detail = new LinkedHashMap<>();
            detail.put("exit_code", exit);
            detail.put("timed_out", timedOut);
            detail.put("output_truncated", flooded);
            detail.put("stderr", err.text());
            detail.put("wall_ms", (System.nanoTime() - t0) / 1_000_000);
            String error = "";
            if (timedOut) {
                error = "stopped: ran longer than " + limits.wall().toMillis() + " ms";
            } else if (flooded) {
                error = "stopped: printed more than " + limits.maxOutputBytes() + " bytes";
            } else if (exit == 137 || exit == 152 || exit == -9 || (exit > 128 && killed)) {
                error = "stopped: killed by a resource limit (exit " + exit + ")";
            } else if (exit != 0) {
                error = "exit " + exit + ": " + lastLine(err.text());
            }
            return new ToolResult(error.isEmpty(), out.text(), error, detail);
        } catch (IOException e) {
            return ToolResult.failed("cannot start " + interpreter.getFirst() + ": " + MetagenException.describe(e));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return ToolResult.failed("interrupted");
        } finally {
            deleteTree(dir);
        }
    }

    private static String lastLine(String s) {
        String t = s.strip();
        int nl = t.lastIndexOf('\n');
        return nl < 0 ? t : t.substring(nl + 1);
    }

    private static void killTree(Process p) throws InterruptedException {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        p.waitFor(5, TimeUnit.SECONDS);
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException ignored) {
            // a leftover temp dir is harmless
        }
    }

    /** Reads a stream up to a cap, then keeps draining (so the child never blocks) but stops storing. */
    private static final class Capture implements Runnable {
        private final InputStream in;
        private final int cap;
        private final java.io.ByteArrayOutputStream buf = new java.io.ByteArrayOutputStream();
        private volatile boolean overflowed;

        Capture(InputStream in, int cap) {
            this.in = in;
            this.cap = cap;
        }

        @Override
        public void run() {
            byte[] b = new byte[8192];
            try {
                int n;
                while ((n = in.read(b)) > 0) {
                    synchronized (buf) {
                        int keep = Math.min(n, cap - buf.size());
                        if (keep > 0) {
                            buf.write(b, 0, keep);
                        }
                        if (keep < n) {
                            overflowed = true;
                        }
                    }
                }
            } catch (IOException ignored) {
                // the process was killed: keep what was read
            }
        }

        boolean overflowed() {
            return overflowed;
        }

        String text() {
            synchronized (buf) {
                return buf.toString(StandardCharsets.UTF_8);
            }
        }
    }
}
