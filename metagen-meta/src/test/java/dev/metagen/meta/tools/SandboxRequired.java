package dev.metagen.meta.tools;

import org.junit.jupiter.api.Assumptions;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The rule of every test that runs code: bubblewrap must be installed (run-tests installs it), and only a kernel
 * that refuses its namespaces skips the test, loudly.
 */
public final class SandboxRequired {
    private SandboxRequired() {
    }

    public static void check() {
        String why = Sandbox.unavailableReason();
        assertTrue(Sandbox.toolsInstalled(), () -> why + " (run-tests installs bubblewrap)");
        if (why != null) {
            System.err.println("\n**********************************************************************\n"
                    + "SKIPPED: sandbox tests cannot run here: " + why
                    + "\n**********************************************************************\n");
        }
        Assumptions.assumeTrue(why == null, why);
    }

    /**
     * Whether a process still runs: alive and not a zombie (a killed process whose parent died with it waits, dead,
     * for the host's init to collect it).
     */
    public static boolean running(ProcessHandle h) {
        if (!h.isAlive()) {
            return false;
        }
        try {
            String stat = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/" + h.pid() + "/stat"));
            return stat.charAt(stat.lastIndexOf(')') + 2) != 'Z';
        } catch (java.io.IOException e) {
            return false; // gone
        }
    }
}
