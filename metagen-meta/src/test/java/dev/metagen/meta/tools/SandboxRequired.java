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
}
