package dev.metagen.cli;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Entry point of the {@code metagen} command. */
public final class Main {
    private Main() {}

    public static void main(String[] args) {
        // prompts and token text are arbitrary Unicode, whatever LANG says
        System.setOut(new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(new FileOutputStream(FileDescriptor.err), true, StandardCharsets.UTF_8));
        System.exit(MetagenCommand.run(utf8Arguments(args)));
    }

    /**
     * The arguments as the UTF-8 text the shell passed. Under a non-UTF-8 locale (LANG=C or unset) the JVM decodes
     * argv as ASCII and every other byte becomes U+FFFD; on Linux the raw bytes are still in /proc/self/cmdline, the
     * last {@code args.length} entries of which are the program's arguments.
     */
    static String[] utf8Arguments(String[] args) {
        Charset jnu = jnuCharset();
        if (jnu == null || jnu.equals(StandardCharsets.UTF_8) || args.length == 0) {
            return args;
        }
        byte[] raw;
        try {
            raw = Files.readAllBytes(Path.of("/proc/self/cmdline"));
        } catch (IOException | RuntimeException e) {
            return args; // not Linux: nothing better to be had
        }
        return recover(args, raw, jnu);
    }

    /** {@code args} re-decoded from {@code cmdline} (NUL-separated), where each entry decodes in {@code jnu} to its arg. */
    static String[] recover(String[] args, byte[] cmdline, Charset jnu) {
        List<byte[]> entries = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < cmdline.length; i++) {
            if (cmdline[i] == 0) {
                entries.add(java.util.Arrays.copyOfRange(cmdline, start, i));
                start = i + 1;
            }
        }
        if (start < cmdline.length) {
            entries.add(java.util.Arrays.copyOfRange(cmdline, start, cmdline.length));
        }
        if (entries.size() < args.length) {
            return args;
        }
        List<byte[]> tail = entries.subList(entries.size() - args.length, entries.size());
        String[] out = new String[args.length];
        for (int i = 0; i < args.length; i++) {
            byte[] b = tail.get(i);
            if (!new String(b, jnu).equals(args[i])) {
                return args; // the command line is not laid out as assumed: keep what the JVM gave
            }
            out[i] = new String(b, StandardCharsets.UTF_8);
        }
        return out;
    }

    private static Charset jnuCharset() {
        String name = System.getProperty("sun.jnu.encoding");
        try {
            return name == null ? null : Charset.forName(name);
        } catch (RuntimeException e) {
            return null;
        }
    }
}
