package dev.metagen.meta.tools;

import org.junit.jupiter.api.Test;

import java.net.ServerSocket;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The calculator against hand values; the sandbox against code that loops, floods, allocates and phones home. */
class ToolsTest {
    static final Sandbox.Limits FAST = new Sandbox.Limits(Duration.ofSeconds(3), 256L << 20, 3, 4096);

    @Test
    void calculator() {
        Calculator c = new Calculator();
        assertEquals("14", c.run("2 + 3 * 4").output());
        assertEquals("20", c.run("(2 + 3) * 4").output());
        assertEquals("512", c.run("2 ^ 3 ^ 2").output());
        assertEquals("-1.5", c.run("-3 / 2").output());
        assertEquals("1000001", c.run("1,000,000 + 1").output());
        assertEquals("3", c.run("sqrt(9)").output());
        assertEquals("0.333333333333", c.run("1/3").output());
        assertEquals("division by zero", c.run("1/0").error());
        assertEquals("unexpected ')' at column 3", c.run("1 ) 2").error());
        assertEquals("unknown function 'system'", c.run("system(1)").error());
        assertFalse(c.run("").ok());
    }

    @Test
    void runsCodeAndCapturesOutput() {
        SandboxRequired.check();
        ToolResult r = Sandbox.python(FAST).run("import os\nprint(6*7)\nprint(os.getcwd().startswith('/tmp'))\n");
        assertTrue(r.ok(), r.error());
        assertEquals("42\nTrue\n", r.output());
        ToolResult bad = Sandbox.python(FAST).run("raise ValueError('nope')\n");
        assertFalse(bad.ok());
        assertEquals("exit 1: ValueError: nope", bad.error());
    }

    @Test
    void anInfiniteLoopIsStopped() {
        SandboxRequired.check();
        long t0 = System.nanoTime();
        ToolResult r = Sandbox.python(new Sandbox.Limits(Duration.ofMillis(1500), 256L << 20, 30, 4096)).run("while True:\n    pass\n");
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertFalse(r.ok());
        assertEquals("stopped: ran longer than 1500 ms", r.error());
        assertTrue(ms < 6000, ms + " ms");
    }

    @Test
    void detachedChildrenDieWithTheSandbox() throws Exception {
        SandboxRequired.check();
        String marker = "31.4159" + ProcessHandle.current().pid();
        String code = "import subprocess\nsubprocess.Popen(['sleep', '" + marker + "'], start_new_session=True)\nprint('started', flush=True)\nwhile True:\n    pass\n";
        ToolResult r = Sandbox.python(new Sandbox.Limits(Duration.ofMillis(1500), 256L << 20, 30, 4096)).run(code);
        assertFalse(r.ok());
        assertEquals("started\n", r.output(), "the child was started");
        Thread.sleep(300);
        Process p = new ProcessBuilder("pgrep", "-f", "sleep " + marker).start();
        String left = new String(p.getInputStream().readAllBytes()).strip();
        p.waitFor();
        assertEquals("", left, "a child of the sandboxed code survived");
    }

    @Test
    void anOutputFloodIsCapped() {
        SandboxRequired.check();
        ToolResult r = Sandbox.python(FAST).run("while True:\n    print('x' * 1000)\n");
        assertFalse(r.ok());
        assertEquals("stopped: printed more than 4096 bytes", r.error());
        assertEquals(4096, r.output().length());
    }

    @Test
    void memoryIsLimited() {
        SandboxRequired.check();
        ToolResult r = Sandbox.python(FAST).run("x = bytearray(1024 * 1024 * 1024)\nprint('allocated')\n");
        assertFalse(r.ok());
        assertFalse(r.output().contains("allocated"));
        assertTrue(r.error().contains("MemoryError"), r.error());
    }

    @Test
    void theNetworkIsUnreachable() throws Exception {
        SandboxRequired.check();
        // a server on this machine's loopback: reachable from any process that shares our network namespace
        try (ServerSocket server = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            String code = "import socket\ns = socket.create_connection(('127.0.0.1', " + server.getLocalPort() + "), timeout=2)\nprint('connected')\n";
            ToolResult r = Sandbox.python(FAST).run(code);
            assertFalse(r.ok());
            assertFalse(r.output().contains("connected"));
            assertTrue(r.error().contains("OSError") || r.error().contains("Error"), r.error());
            // the same code outside the sandbox does connect, so the test can fail
            Process p = new ProcessBuilder("python3", "-c", code).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            p.waitFor();
            assertEquals("connected\n", out);
        }
    }
}
