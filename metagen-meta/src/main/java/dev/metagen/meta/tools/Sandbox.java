package dev.metagen.meta.tools;

import dev.metagen.core.MetagenException;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * Runs untrusted code (as for program-aided reasoning, Gao et al., 2023, and unit-test feedback, Chen et al., 2023)
 * in a bubblewrap ({@code bwrap}) sandbox; docs/security.md states what it promises and what it does not.
 *
 * <p>The program runs as an unprivileged user (uid 65534, no capabilities, no new privileges, no user namespaces of
 * its own) in new user, PID, network, IPC, UTS and mount namespaces: no network but its own loopback, a fresh
 * {@code /proc} that shows only its own processes, a minimal {@code /dev}, a read-only root holding {@code /usr}
 * (and the {@code /bin}, {@code /lib*} links into it) plus two files of {@code /etc} ({@code ld.so.cache},
 * {@code localtime}), and one writable tmpfs of limited size, {@code /tmp}, its working directory, where the code is
 * written as {@code main.py}. Resource limits: address space, CPU seconds, processes (counted per user namespace,
 * so per sandbox), file size and the tmpfs size, a wall clock and a cap on captured output; past any of them it is
 * stopped and the {@link ToolResult} says why (never thrown). When {@code bwrap} is missing or the kernel refuses the
 * namespaces, {@link #run} refuses with a one-line {@link MetagenException}: code never runs unsandboxed.
 *
 * <p>The sandbox dies with the JVM, even one killed with SIGKILL, whatever the code does: the bwrap process runs as
 * PID 1 of an outer PID namespace, which the code cannot see or signal, and that namespace's PID 1 dies with the
 * JVM by a parent-death signal; the kernel then kills every process in it and in the sandbox's nested namespace.
 *
 * <p>Example:
 * <pre>{@code
 * Sandbox python = Sandbox.python(Sandbox.Limits.DEFAULT);
 * ToolResult r = python.run("print(6 * 7)");
 * // r.ok() and r.output() is "42\n"; a crash, a timeout or too much memory is r.ok() == false, r.error() says why
 * }</pre>
 */
public final class Sandbox implements Tool {
    /**
     * Limits of one run.
     *
     * @param wall           wall-clock time, after which the whole sandbox is killed
     * @param memoryBytes    address space of each process (RLIMIT_AS)
     * @param cpuSeconds     CPU time of each process (RLIMIT_CPU)
     * @param maxOutputBytes bytes kept of stdout and of stderr each; printing more stops the run
     * @param processes      processes and threads in the sandbox at once (RLIMIT_NPROC), at least 4: its init process
     *                       and the shell that starts the program count
     * @param fileBytes      largest file it may write (RLIMIT_FSIZE); its writable {@code /tmp} holds twice that
     */
    public record Limits(Duration wall, long memoryBytes, int cpuSeconds, int maxOutputBytes, int processes, long fileBytes) {
        public static final int DEFAULT_PROCESSES = 64;
        public static final long DEFAULT_FILE_BYTES = 16L << 20;
        /** What a run gets unless the operator or a spec says otherwise; also the operator's default ceiling. */
        public static final Limits DEFAULT = new Limits(Duration.ofSeconds(5), 512L << 20, 5, 64 << 10, DEFAULT_PROCESSES, DEFAULT_FILE_BYTES);

        /** Checks that every limit is positive (and at least 4 processes). */
        public Limits {
            if (wall == null || wall.isNegative() || wall.isZero() || memoryBytes < 1 || cpuSeconds < 1 || maxOutputBytes < 1
                    || processes < 4 || fileBytes < 1) {
                throw new MetagenException("sandbox limits must be positive, got wall " + wall + ", memory " + memoryBytes
                        + " bytes, cpu " + cpuSeconds + " s, output " + maxOutputBytes + " bytes, processes " + processes
                        + ", file size " + fileBytes + " bytes");
            }
        }

        /**
         * Limits with the default process count and file size.
         *
         * @param wall wall-clock time
         * @param memoryBytes address space of each process
         * @param cpuSeconds CPU time of each process
         * @param maxOutputBytes bytes kept of stdout and of stderr each
         */
        public Limits(Duration wall, long memoryBytes, int cpuSeconds, int maxOutputBytes) {
            this(wall, memoryBytes, cpuSeconds, maxOutputBytes, DEFAULT_PROCESSES, DEFAULT_FILE_BYTES);
        }

        /**
         * Each limit the smaller of this one's and {@code ceiling}'s.
         *
         * @param ceiling the operator's ceiling
         * @return the tighter limits
         */
        public Limits atMost(Limits ceiling) {
            return new Limits(wall.compareTo(ceiling.wall) <= 0 ? wall : ceiling.wall, Math.min(memoryBytes, ceiling.memoryBytes),
                    Math.min(cpuSeconds, ceiling.cpuSeconds), Math.min(maxOutputBytes, ceiling.maxOutputBytes),
                    Math.min(processes, ceiling.processes), Math.min(fileBytes, ceiling.fileBytes));
        }
    }

    /** The user and group the code runs as, inside the sandbox and (when the JVM is root) outside it. */
    static final int SANDBOX_UID = 65534;
    /** Where the host tools are looked up: never the JVM's PATH, which may point at user-writable folders. */
    private static final List<String> SYSTEM_DIRS = List.of("/usr/bin", "/bin", "/usr/sbin", "/sbin", "/usr/local/bin");
    private static final List<String> HOST_TOOLS = List.of("bwrap", "setpriv", "unshare", "timeout");
    private static final String SANDBOX_PATH = "/usr/local/bin:/usr/bin:/bin";

    /**
     * Starts every sandbox process. A parent-death signal fires when the <em>thread</em> that started the process
     * ends, not only the JVM, so processes are started from this one thread that lives as long as the JVM.
     */
    private static final ExecutorService LAUNCHER = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "metagen-sandbox-launcher");
        t.setDaemon(true);
        return t;
    });

    private static volatile String unavailable; // null: not checked yet; "": works
    private final List<String> interpreter;
    private final String fileName;
    private final Limits limits;

    /**
     * A sandbox that runs programs with {@code interpreter}.
     *
     * @param interpreter the command that runs a source file, e.g. {@code ["python3", "-I"]}; the file name is appended
     * @param fileName the source file's name in {@code /tmp}, e.g. {@code main.py}
     * @param limits the limits of each run
     */
    public Sandbox(List<String> interpreter, String fileName, Limits limits) {
        if (!fileName.matches("[A-Za-z0-9_.-]+")) {
            throw new MetagenException("sandbox: the source file name must be a plain file name, got '" + fileName + "'");
        }
        this.interpreter = List.copyOf(interpreter);
        this.fileName = fileName;
        this.limits = limits;
    }

    /**
     * A Python 3 sandbox ({@code python3 -I main.py}).
     *
     * @param limits the limits of each run
     * @return the sandbox
     */
    public static Sandbox python(Limits limits) {
        return new Sandbox(List.of("python3", "-I"), "main.py", limits);
    }

    /** {@return the limits of each run} */
    public Limits limits() {
        return limits;
    }

    @Override
    public String name() {
        return fileName.endsWith(".py") ? "python" : "code";
    }

    /**
     * True when code can run sandboxed here (checked once).
     *
     * @return whether it is available
     */
    public static boolean available() {
        return unavailableReason() == null;
    }

    /**
     * True when bwrap and the util-linux and coreutils programs the sandbox uses are installed.
     *
     * @return whether they are installed
     */
    public static boolean toolsInstalled() {
        return HOST_TOOLS.stream().allMatch(t -> hostTool(t) != null);
    }

    /**
     * Why code cannot run sandboxed here (one line), or null when it can; checked once by starting an empty sandbox.
     *
     * @return the reason, or null
     */
    public static String unavailableReason() {
        String u = unavailable;
        if (u == null) {
            u = probe();
            unavailable = u;
        }
        return u.isEmpty() ? null : u;
    }

    private static String probe() {
        if (!System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")) {
            return "sandbox: running code needs Linux with bubblewrap; refusing to run code on " + System.getProperty("os.name");
        }
        for (String t : HOST_TOOLS) {
            if (hostTool(t) == null) {
                String pkg = t.equals("bwrap") ? "bubblewrap" : t.equals("timeout") ? "coreutils" : "util-linux";
                return "sandbox: '" + t + "' is not installed (package " + pkg + "); refusing to run code";
            }
        }
        try {
            Process p = start(new ProcessBuilder(command(Limits.DEFAULT, "exit 0")).redirectErrorStream(true));
            p.getOutputStream().close();
            byte[] out = p.getInputStream().readNBytes(4096);
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return "sandbox: bubblewrap did not start within 30 s; refusing to run code";
            }
            if (p.exitValue() != 0) {
                String msg = new String(out, StandardCharsets.UTF_8).strip().lines().findFirst().orElse("exit " + p.exitValue());
                return "sandbox: cannot create the sandbox's namespaces here (" + msg + "); refusing to run code";
            }
            return "";
        } catch (IOException e) {
            return "sandbox: cannot start bubblewrap (" + e.getMessage() + "); refusing to run code";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new MetagenException("sandbox: interrupted while checking that bubblewrap works");
        }
    }

    private static String hostTool(String name) {
        for (String dir : SYSTEM_DIRS) {
            Path p = Path.of(dir, name);
            if (Files.isRegularFile(p) && Files.isExecutable(p)) {
                return p.toString();
            }
        }
        return null;
    }

    private static boolean jvmIsRoot() {
        try {
            return ((Number) Files.getAttribute(Path.of("/proc/self"), "unix:uid")).intValue() == 0;
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return false;
        }
    }

    /**
     * The whole command line, outermost first:
     * <ol>
     * <li>{@code setpriv --pdeathsig KILL}: the outer namespace's parent dies with the JVM (the launcher thread);</li>
     * <li>{@code unshare --pid --fork --kill-child}: an outer PID namespace (with a user namespace when the JVM is not
     *     root, which unshare needs for it) whose PID 1 is killed when that parent dies, taking every process in it
     *     and in the namespaces nested in it; the code cannot see this PID 1, so it cannot ptrace it or change
     *     its parent-death signal;</li>
     * <li>{@code timeout -s KILL}: that PID 1 itself, a second wall clock independent of the JVM;</li>
     * <li>{@code setpriv --reuid 65534} when the JVM is root: the kernel exempts uid 0 from RLIMIT_NPROC, so the
     *     sandbox's processes must belong to another user to be counted;</li>
     * <li>{@code bwrap}: the sandbox proper;</li>
     * <li>{@code prlimit}: the per-process limits, then {@code sh} writes stdin to the source file and execs the
     *     interpreter.</li>
     * </ol>
     */
    private static List<String> command(Limits limits, String script) {
        List<String> cmd = new ArrayList<>(List.of(hostTool("setpriv"), "--pdeathsig", "KILL", "--",
                hostTool("unshare"), "--pid", "--fork", "--kill-child", "--mount-proc"));
        boolean root = jvmIsRoot();
        if (!root) {
            cmd.add("--map-current-user");
        }
        // the JVM's own clock stops the run at `wall`; this one only matters if the JVM cannot
        long backstopMs = limits.wall().toMillis() + 2000;
        cmd.addAll(List.of("--", hostTool("timeout"), "-s", "KILL", String.format(Locale.ROOT, "%.3f", backstopMs / 1000.0)));
        if (root) {
            cmd.addAll(List.of(hostTool("setpriv"), "--reuid=" + SANDBOX_UID, "--regid=" + SANDBOX_UID, "--clear-groups", "--"));
        }
        cmd.addAll(List.of(hostTool("bwrap"),
                "--unshare-all", "--unshare-user", "--disable-userns",
                "--uid", String.valueOf(SANDBOX_UID), "--gid", String.valueOf(SANDBOX_UID), "--hostname", "sandbox",
                "--die-with-parent", "--new-session", "--cap-drop", "ALL",
                "--ro-bind", "/usr", "/usr"));
        for (String top : List.of("bin", "sbin", "lib", "lib32", "lib64", "libx32")) {
            Path p = Path.of("/", top);
            try {
                if (Files.isSymbolicLink(p)) {
                    cmd.addAll(List.of("--symlink", Files.readSymbolicLink(p).toString(), p.toString()));
                } else if (Files.isDirectory(p)) {
                    cmd.addAll(List.of("--ro-bind", p.toString(), p.toString()));
                }
            } catch (IOException e) {
                throw new MetagenException("sandbox: cannot read " + p + ": " + e.getMessage());
            }
        }
        cmd.addAll(List.of(
                "--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache",
                "--ro-bind-try", "/etc/localtime", "/etc/localtime",
                "--proc", "/proc",
                "--dev", "/dev",
                "--size", "1048576", "--tmpfs", "/dev/shm",
                "--size", String.valueOf(2 * limits.fileBytes()), "--tmpfs", "/tmp",
                "--remount-ro", "/dev",
                "--remount-ro", "/",
                "--chdir", "/tmp",
                "--clearenv", "--setenv", "PATH", SANDBOX_PATH, "--setenv", "HOME", "/tmp", "--setenv", "TMPDIR", "/tmp",
                "--setenv", "LANG", "C.UTF-8", "--setenv", "USER", "nobody",
                "--",
                "/usr/bin/prlimit",
                "--as=" + limits.memoryBytes(), "--cpu=" + limits.cpuSeconds(), "--nproc=" + limits.processes(),
                "--fsize=" + limits.fileBytes(), "--core=0", "--nofile=256",
                "--", "/bin/sh", "-c", script));
        return cmd;
    }

    private static String quote(String s) {
        return "'" + s.replace("'", "'\\''") + "'";
    }

    /** Starts a process from the launcher thread; the caller's interrupt is kept for after the start. */
    private static Process start(ProcessBuilder pb) throws IOException {
        pb.environment().clear();
        pb.environment().put("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
        Future<Process> f = LAUNCHER.submit(pb::start);
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return f.get();
                } catch (InterruptedException e) {
                    interrupted = true; // the start is under way: wait for it, so the caller can stop what it started
                }
            }
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            throw new MetagenException("sandbox: cannot start: " + e.getCause(), e.getCause());
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    public ToolResult run(String code) {
        String why = unavailableReason();
        if (why != null) {
            throw new MetagenException(why);
        }
        StringBuilder script = new StringBuilder("cat > ").append(quote(fileName)).append(" && exec");
        for (String a : interpreter) {
            script.append(' ').append(quote(a));
        }
        script.append(' ').append(quote(fileName));
        if (Thread.currentThread().isInterrupted()) {
            return ToolResult.failed("stopped: interrupted before it started");
        }
        ProcessBuilder pb = new ProcessBuilder(command(limits, script.toString())).redirectErrorStream(false);
        long t0 = System.nanoTime();
        Process p;
        try {
            p = start(pb);
        } catch (IOException e) {
            return ToolResult.failed("cannot start the sandbox: " + e.getMessage());
        }
        Capture out = new Capture(p.getInputStream(), limits.maxOutputBytes());
        Capture err = new Capture(p.getErrorStream(), limits.maxOutputBytes());
        Thread to = Thread.ofVirtual().start(out);
        Thread te = Thread.ofVirtual().start(err);
        Thread feeder = Thread.ofVirtual().start(() -> {
            try (OutputStream in = p.getOutputStream()) {
                in.write(code.getBytes(StandardCharsets.UTF_8));
            } catch (IOException ignored) {
                // the sandbox ended before reading all of it: its exit status says why
            }
        });
        boolean timedOut = false;
        boolean interrupted = Thread.currentThread().isInterrupted();
        Thread.interrupted(); // the flag is set again on the way out
        long deadline = t0 + limits.wall().toNanos();
        try {
            // poll so that an output flood is stopped as soon as it passes the cap
            while (!interrupted && !p.waitFor(20, TimeUnit.MILLISECONDS)) {
                if (out.overflowed() || err.overflowed()) {
                    break;
                }
                if (System.nanoTime() - deadline > 0) {
                    timedOut = true;
                    break;
                }
            }
        } catch (InterruptedException e) {
            interrupted = true; // cancellation or the run's time budget: the sandbox goes now
        }
        boolean killed = p.isAlive();
        if (killed) {
            interrupted |= killTree(p);
        }
        interrupted |= joinQuietly(to) | joinQuietly(te) | joinQuietly(feeder);
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        int exit = p.isAlive() ? -1 : p.exitValue();
        boolean flooded = out.overflowed() || err.overflowed();
        Map<String, Object> detail = new LinkedHashMap<>();
        detail.put("exit_code", exit);
        detail.put("timed_out", timedOut);
        detail.put("output_truncated", flooded);
        detail.put("stderr", err.text());
        detail.put("wall_ms", (System.nanoTime() - t0) / 1_000_000);
        String error = "";
        if (interrupted && killed) {
            error = "stopped: interrupted (the run was cancelled or ran out of time)";
        } else if (timedOut) {
            error = "stopped: ran longer than " + limits.wall().toMillis() + " ms";
        } else if (flooded) {
            error = "stopped: printed more than " + limits.maxOutputBytes() + " bytes";
        } else if (exit == 128 + 24) {
            error = "stopped: used more than " + limits.cpuSeconds() + " CPU seconds";
        } else if (exit == 137 || exit == -9 || (exit > 128 && killed)) {
            error = "stopped: killed by a resource limit (exit " + exit + ")";
        } else if (exit != 0) {
            error = "exit " + exit + ": " + lastLine(err.text());
        }
        return new ToolResult(error.isEmpty(), out.text(), error, detail);
    }

    private static String lastLine(String s) {
        String t = s.strip();
        int nl = t.lastIndexOf('\n');
        return nl < 0 ? t : t.substring(nl + 1);
    }

    /**
     * Kills the sandbox and waits for it. Killing PID 1 of the outer namespace (the only child of the process the
     * JVM started) takes every process of the sandbox with it, and its parent then reaps it and exits, so no
     * zombie is left for the host's init to collect; the rest is a fallback. Returns true when the wait was interrupted.
     */
    private static boolean killTree(Process p) {
        p.children().forEach(ProcessHandle::destroyForcibly);
        boolean interrupted = waitFor(p, 2);
        if (p.isAlive()) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            interrupted |= waitFor(p, 5);
        }
        return interrupted;
    }

    /** Waits up to {@code seconds} for the process to exit, not giving up on an interrupt; returns true if there was one. */
    private static boolean waitFor(Process p, int seconds) {
        boolean interrupted = false;
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (p.isAlive() && System.nanoTime() - until < 0) {
            try {
                p.waitFor(50, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        return interrupted;
    }

    private static boolean joinQuietly(Thread t) {
        boolean interrupted = false;
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
        while (t.isAlive() && System.nanoTime() - until < 0) {
            try {
                t.join(Duration.ofMillis(50));
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        return interrupted;
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
