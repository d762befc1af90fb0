package dev.metagen.meta.tools;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Each escape an attacker's code would try, run inside the sandbox, must fail; where a test could pass vacuously,
 * the same attack is run outside the sandbox too and must succeed there. Needs bubblewrap; skipped (loudly) only
 * where the kernel refuses its namespaces.
 */
class SandboxSecurityTest {
    static final Sandbox.Limits LIMITS = new Sandbox.Limits(Duration.ofSeconds(20), 256L << 20, 20, 64 << 10);

    @BeforeAll
    static void needsTheSandbox() {
        SandboxRequired.check();
    }

    static ToolResult run(String code) {
        return Sandbox.python(LIMITS).run(code);
    }

    /** Runs python3 on the host, outside the sandbox: the control of an attack. */
    static String host(String code) throws Exception {
        Process p = new ProcessBuilder("/usr/bin/python3", "-c", code).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(20, TimeUnit.SECONDS));
        return out;
    }

    @Test
    void noTcpConnectionToTheHostEvenThroughAnotherProcessesNetworkNamespace() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            int port = server.getLocalPort();
            String connect = "import socket\n"
                    + "def attempt(tag):\n"
                    + "    try:\n"
                    + "        socket.create_connection(('127.0.0.1', " + port + "), timeout=2).close()\n"
                    + "        print('CONNECTED', tag)\n"
                    + "    except OSError as e:\n"
                    + "        print('refused', tag, type(e).__name__)\n"
                    + "attempt('direct')\n";
            // the attack of the report: join the network namespace of any process visible in /proc, then connect
            String setns = connect
                    + "import ctypes, os\n"
                    + "libc = ctypes.CDLL(None, use_errno=True)\n"
                    + "for pid in [p for p in os.listdir('/proc') if p.isdigit()] + ['" + ProcessHandle.current().pid() + "']:\n"
                    + "    try:\n"
                    + "        fd = os.open('/proc/%s/ns/net' % pid, os.O_RDONLY)\n"
                    + "    except OSError as e:\n"
                    + "        print('no ns of', pid, type(e).__name__)\n"
                    + "        continue\n"
                    + "    if libc.setns(fd, 0x40000000) == 0:\n"
                    + "        attempt('after setns to ' + pid)\n"
                    + "    else:\n"
                    + "        print('setns denied', pid, ctypes.get_errno())\n";
            ToolResult r = run(setns);
            assertTrue(r.ok(), r.error());
            assertFalse(r.output().contains("CONNECTED"), r.output());
            assertTrue(r.output().contains("refused direct"), r.output());
            assertTrue(r.output().contains("no ns of " + ProcessHandle.current().pid()), "the JVM is invisible: " + r.output());
            assertTrue(host(connect).contains("CONNECTED direct"), "the control connects");
        }
    }

    @Test
    void noUnixSocketOfTheHostIsReachable(@TempDir Path dir) throws Exception {
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
        Path path = dir.resolve("s.sock");
        String abstractName = "metagen-test-" + ProcessHandle.current().pid();
        // an abstract socket belongs to a network namespace, not to the file system: a host process listens on one
        Process listener = new ProcessBuilder("/usr/bin/python3", "-c", "import socket, time\n"
                + "s = socket.socket(socket.AF_UNIX)\ns.bind('\\0" + abstractName + "')\ns.listen(50)\nprint('ready', flush=True)\n"
                + "while True:\n    s.accept()[0].close()\n").start();
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(path));
            Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rwxrwxrwx"));
            assertEquals("ready", new BufferedReader(new InputStreamReader(listener.getInputStream())).readLine());
            String code = "import socket\n"
                    + "for addr in ['" + path + "', '\\0" + abstractName + "', '/run/systemd/private', '/var/run/docker.sock']:\n"
                    + "    try:\n"
                    + "        s = socket.socket(socket.AF_UNIX)\n"
                    + "        s.settimeout(2)\n"
                    + "        s.connect(addr)\n"
                    + "        print('CONNECTED', repr(addr))\n"
                    + "    except OSError as e:\n"
                    + "        print('refused', repr(addr), type(e).__name__)\n";
            ToolResult r = run(code);
            assertTrue(r.ok(), r.error());
            assertFalse(r.output().contains("CONNECTED"), r.output());
            String control = host(code);
            assertTrue(control.contains("CONNECTED '" + path + "'"), control);
            assertTrue(control.contains("CONNECTED '\\x00" + abstractName + "'"), control);
        } finally {
            listener.destroyForcibly();
        }
    }

    @Test
    void readsNoFileOfTheHost(@TempDir Path dir) throws Exception {
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path secret = Files.writeString(dir.resolve("secret.txt"), "the host's secret");
        Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("rw-r--r--"));
        String code = "import os\n"
                + "for f in ['/etc/shadow', '/etc/passwd', '/etc/hostname', '/root/.bashrc', '" + secret + "', '/proc/1/environ']:\n"
                + "    try:\n"
                + "        data = open(f).read()\n"
                + "        print('READ', f, data[:40].replace('\\n', ' '))\n"
                + "    except OSError as e:\n"
                + "        print('denied', f, type(e).__name__)\n"
                + "print('etc:', sorted(os.listdir('/etc')))\n"
                + "print('root:', sorted(os.listdir('/')))\n";
        ToolResult r = run(code);
        assertTrue(r.ok(), r.error());
        assertFalse(r.output().contains("the host's secret"), r.output());
        for (String f : List.of("/etc/shadow", "/etc/passwd", "/etc/hostname", "/root/.bashrc", secret.toString())) {
            assertTrue(r.output().contains("denied " + f + " "), f + " was readable: " + r.output());
        }
        assertTrue(r.output().contains("etc: ['ld.so.cache', 'localtime']") || r.output().contains("etc: ['ld.so.cache']"), r.output());
        assertFalse(r.output().contains("'home'") || r.output().contains("'root'") || r.output().contains("'sys'")
                || r.output().contains("'var'") || r.output().contains("'run'"), r.output());
        assertTrue(host("print(open('" + secret + "').read())").contains("the host's secret"), "the control reads it");
    }

    @Test
    void writesNothingOutsideItsOwnTmp(@TempDir Path dir) throws Exception {
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
        String code = "import os\n"
                + "for f in ['" + dir.resolve("escaped") + "', '/escaped', '/tmp/../escaped', '/usr/escaped', '/etc/escaped',\n"
                + "          '/dev/escaped', '/proc/escaped', '/var/tmp/escaped', '/tmp/ok']:\n"
                + "    try:\n"
                + "        with open(f, 'w') as h:\n"
                + "            h.write('x')\n"
                + "        print('WROTE', f)\n"
                + "    except OSError as e:\n"
                + "        print('denied', f, type(e).__name__)\n"
                + "print(os.getcwd())\n";
        ToolResult r = run(code);
        assertTrue(r.ok(), r.error());
        assertEquals("WROTE /tmp/ok\n/tmp\n", r.output().lines().filter(l -> !l.startsWith("denied ")).map(l -> l + "\n")
                .reduce("", String::concat), r.output());
        try (Stream<Path> left = Files.list(dir)) {
            assertEquals(0, left.count(), "nothing reached the host folder");
        }
        assertTrue(host("open('" + dir.resolve("control") + "', 'w').write('x')\nprint('ok')").contains("ok"), "the control writes there");
    }

    @Test
    void fileSizeAndTmpSizeAreLimited() {
        Sandbox.Limits small = new Sandbox.Limits(Duration.ofSeconds(20), 256L << 20, 20, 4096, 64, 4L << 20);
        String code = "import os\n"
                + "try:\n"
                + "    with open('/tmp/big', 'wb') as h:\n"
                + "        h.write(b'x' * (5 << 20))\n"
                + "    print('WROTE big')\n"
                + "except OSError as e:\n"
                + "    print('big:', e.strerror)\n"
                + "os.remove('/tmp/big')\n"
                + "n = 0\n"
                + "try:\n"
                + "    for i in range(100):\n"
                + "        with open('/tmp/f%d' % i, 'wb') as h:\n"
                + "            h.write(b'x' * (1 << 20))\n"
                + "        n += 1\n"
                + "except OSError as e:\n"
                + "    print('many:', e.strerror, 'after', n)\n";
        ToolResult r = Sandbox.python(small).run(code);
        assertTrue(r.ok(), r.error());
        assertTrue(r.output().contains("big: File too large"), r.output());
        assertTrue(r.output().contains("many: No space left on device after"), r.output());
        int after = Integer.parseInt(r.output().strip().substring(r.output().strip().lastIndexOf(' ') + 1));
        assertTrue(after <= 8, "at most the tmpfs size (twice the file size limit) in 1 MiB files: " + after);
    }

    @Test
    void otherProcessesAndTheirArgumentsAreInvisible() throws Exception {
        String secret = "--api-key=sk-" + ProcessHandle.current().pid() + "-hidden";
        Process victim = new ProcessBuilder("/usr/bin/python3", "-c", "import time; time.sleep(60)", secret).start();
        try {
            assertTrue(host("import glob\nfor f in glob.glob('/proc/[0-9]*/cmdline'):\n    try:\n        print(open(f).read())\n"
                    + "    except OSError:\n        pass\n").contains(secret), "the control sees it");
            String code = "import os\n"
                    + "pids = [p for p in os.listdir('/proc') if p.isdigit()]\n"
                    + "print('pids', len(pids))\n"
                    + "for p in pids + ['" + victim.pid() + "']:\n"
                    + "    try:\n"
                    + "        print(p, open('/proc/%s/cmdline' % p).read().replace('\\0', ' '))\n"
                    + "    except OSError as e:\n"
                    + "        print(p, 'denied', type(e).__name__)\n";
            ToolResult r = run(code);
            assertTrue(r.ok(), r.error());
            assertFalse(r.output().contains("sk-" + ProcessHandle.current().pid()), r.output());
            assertTrue(r.output().contains(victim.pid() + " denied"), r.output());
            int pids = Integer.parseInt(r.output().lines().findFirst().orElseThrow().substring(5));
            assertTrue(pids <= 3, "only the sandbox's own init and program: " + r.output());
        } finally {
            victim.destroyForcibly();
        }
    }

    @Test
    void aForkBombOf400IsStoppedAndCountedPerSandbox() throws Exception {
        String bomb = "import os, time\n"
                + "n = 0\n"
                + "try:\n"
                + "    for i in range(400):\n"
                + "        if os.fork() == 0:\n"
                + "            time.sleep(4)\n"
                + "            os._exit(0)\n"
                + "        n += 1\n"
                + "except OSError as e:\n"
                + "    print('stopped:', e.strerror)\n"
                + "print('forked', n)\n";
        // a second sandbox at the same time must still be able to fork: the count is per sandbox, not per host user
        CompletableFuture<ToolResult> first = CompletableFuture.supplyAsync(() -> run(bomb));
        Thread.sleep(1500);
        ToolResult neighbour = run("import os\nfor i in range(10):\n    if os.fork() == 0:\n        os._exit(0)\n    os.wait()\nprint('neighbour forked 10')\n");
        ToolResult r = first.get(60, TimeUnit.SECONDS);
        assertTrue(r.ok(), r.error());
        assertTrue(r.output().contains("stopped: Resource temporarily unavailable"), r.output());
        int forked = Integer.parseInt(r.output().strip().substring(r.output().strip().lastIndexOf(' ') + 1));
        assertTrue(forked < Sandbox.Limits.DEFAULT_PROCESSES, "forked " + forked);
        assertTrue(neighbour.ok(), neighbour.error());
        assertEquals("neighbour forked 10\n", neighbour.output());
    }

    @Test
    void noPrivilegesCanBeGained() {
        String code = "import os, ctypes\n"
                + "libc = ctypes.CDLL(None, use_errno=True)\n"
                + "print('uid', os.getuid(), os.geteuid(), os.getgid())\n"
                + "status = open('/proc/self/status').read()\n"
                + "for line in status.splitlines():\n"
                + "    if line.startswith(('CapEff', 'CapPrm', 'CapBnd', 'CapAmb', 'NoNewPrivs')):\n"
                + "        print(line.replace('\\t', ' '))\n"
                + "def attempt(name, f):\n"
                + "    try:\n"
                + "        rc = f()\n"
                + "        print(name, 'DONE' if rc in (None, 0) else 'failed errno %d' % ctypes.get_errno())\n"
                + "    except OSError as e:\n"
                + "        print(name, 'failed', e.strerror)\n"
                + "attempt('setuid', lambda: os.setuid(0))\n"
                + "attempt('setgid', lambda: os.setgid(0))\n"
                + "attempt('chroot', lambda: libc.chroot(b'/tmp'))\n"
                + "attempt('mount', lambda: libc.mount(b'none', b'/tmp', b'tmpfs', 0, None))\n"
                + "attempt('unshare-user', lambda: libc.unshare(0x10000000))\n"
                + "attempt('unshare-net', lambda: libc.unshare(0x40000000))\n"
                + "attempt('sethostname', lambda: libc.sethostname(b'x', 1))\n"
                + "print('uid after', os.getuid(), os.geteuid())\n";
        ToolResult r = run(code);
        assertTrue(r.ok(), r.error());
        String o = r.output();
        assertTrue(o.startsWith("uid 65534 65534 65534\n"), o);
        assertTrue(o.contains("CapEff: 0000000000000000"), o);
        assertTrue(o.contains("CapPrm: 0000000000000000"), o);
        assertTrue(o.contains("CapAmb: 0000000000000000"), o);
        assertTrue(o.contains("NoNewPrivs: 1"), o);
        assertFalse(o.contains("DONE"), o);
        for (String a : List.of("setuid", "setgid", "chroot", "mount", "unshare-user", "unshare-net", "sethostname")) {
            assertTrue(o.contains(a + " failed"), a + ": " + o);
        }
        assertTrue(o.contains("uid after 65534 65534"), o);
    }

    @Test
    void ptraceReachesNoProcessOfTheHost() throws Exception {
        Process victim = new ProcessBuilder("/usr/bin/sleep", "60").start();
        try {
            String code = "import ctypes\n"
                    + "libc = ctypes.CDLL(None, use_errno=True)\n"
                    + "for pid in [" + victim.pid() + ", " + ProcessHandle.current().pid() + "]:\n"
                    + "    rc = libc.ptrace(16, pid, 0, 0)\n"
                    + "    print(pid, 'ATTACHED' if rc == 0 else 'errno %d' % ctypes.get_errno())\n"
                    + "try:\n"
                    + "    open('/proc/%d/mem' % " + victim.pid() + ", 'rb')\n"
                    + "    print('MEM OPEN')\n"
                    + "except OSError as e:\n"
                    + "    print('mem', type(e).__name__)\n";
            ToolResult r = run(code);
            assertTrue(r.ok(), r.error());
            assertFalse(r.output().contains("ATTACHED") || r.output().contains("MEM OPEN"), r.output());
            assertTrue(r.output().contains(victim.pid() + " errno 3"), "ESRCH: no such process in its world: " + r.output());
        } finally {
            victim.destroyForcibly();
        }
    }

    @Test
    void devHoldsOnlyHarmlessDevices() {
        String code = "import os\n"
                + "print(sorted(os.listdir('/dev')))\n"
                + "for d in ['/dev/mem', '/dev/kmsg', '/dev/sda', '/dev/vda', '/dev/kvm', '/dev/tty', '/sys/kernel']:\n"
                + "    try:\n"
                + "        open(d, 'rb').close()\n"
                + "        print('OPENED', d)\n"
                + "    except OSError as e:\n"
                + "        print('denied', d, type(e).__name__)\n"
                + "try:\n"
                + "    os.mknod('/tmp/sda', 0o600 | 0o060000, os.makedev(8, 0))\n"
                + "    print('MKNOD')\n"
                + "except OSError as e:\n"
                + "    print('mknod', e.strerror)\n"
                + "print(len(open('/dev/urandom', 'rb').read(16)))\n";
        ToolResult r = run(code);
        assertTrue(r.ok(), r.error());
        String first = r.output().lines().findFirst().orElseThrow();
        for (String dev : first.replaceAll("[\\[\\]' ]", "").split(",")) {
            assertTrue(List.of("core", "fd", "full", "null", "ptmx", "pts", "random", "shm", "stderr", "stdin", "stdout",
                    "tty", "urandom", "zero").contains(dev), "unexpected /dev/" + dev + ": " + first);
        }
        assertFalse(r.output().contains("OPENED /dev/mem") || r.output().contains("OPENED /dev/kmsg")
                || r.output().contains("OPENED /dev/sda") || r.output().contains("OPENED /dev/vda")
                || r.output().contains("OPENED /sys") || r.output().contains("MKNOD"), r.output());
        assertTrue(r.output().endsWith("16\n"), r.output());
    }

    /** The program a child JVM runs sandboxed in {@link #theSandboxDiesWithAJvmKilledByKill9}: it fights to survive. */
    static final String SURVIVOR = "import os, signal, time, ctypes\n"
            + "libc = ctypes.CDLL(None, use_errno=True)\n"
            + "for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGPIPE):\n"
            + "    signal.signal(s, signal.SIG_IGN)\n"
            + "libc.prctl(1, 0)  # PR_SET_PDEATHSIG: none\n"
            + "libc.ptrace(16, 1, 0, 0)  # hold the sandbox's init stopped\n"
            + "if os.fork() == 0:\n"
            + "    os.setsid()\n"
            + "    libc.prctl(1, 0)\n"
            + "    if os.fork() == 0:\n"
            + "        time.sleep(1000)\n"
            + "    time.sleep(1000)\n"
            + "time.sleep(1000)\n";

    /** The child JVM of {@link #theSandboxDiesWithAJvmKilledByKill9}. */
    public static void main(String[] args) {
        Sandbox.python(new Sandbox.Limits(Duration.ofSeconds(120), 256L << 20, 120, 4096)).run(SURVIVOR);
    }

    @Test
    void theSandboxDiesWithAJvmKilledByKill9() throws Exception {
        String java = ProcessHandle.current().info().command().orElseThrow();
        Process jvm = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), SandboxSecurityTest.class.getName())
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        List<ProcessHandle> sandboxed = new ArrayList<>();
        try {
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            // wait for the program and its two descendants: three python processes below the child JVM
            while (System.nanoTime() - until < 0 && jvm.isAlive()) {
                sandboxed = jvm.descendants().filter(h -> h.info().command().orElse("").contains("python")).toList();
                if (sandboxed.size() >= 3) {
                    break;
                }
                Thread.sleep(100);
            }
            assertEquals(3, sandboxed.size(), "the sandboxed program started: " + jvm.descendants().map(h -> h.info().toString()).toList());
            List<ProcessHandle> all = jvm.descendants().toList();
            jvm.destroyForcibly(); // SIGKILL
            assertTrue(jvm.waitFor(10, TimeUnit.SECONDS));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (System.nanoTime() - deadline < 0 && all.stream().anyMatch(SandboxRequired::running)) {
                Thread.sleep(50);
            }
            assertEquals(List.of(), all.stream().filter(SandboxRequired::running).map(h -> h.pid() + " " + h.info().command().orElse("?")).toList(),
                    "processes of the sandbox outlived the JVM");
        } finally {
            jvm.destroyForcibly();
            sandboxed.forEach(ProcessHandle::destroyForcibly);
        }
    }
}
