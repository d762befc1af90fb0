package dev.metagen.cli;

import dev.metagen.core.MetagenException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;

/** The {@code metagen} command tree and its error policy: one line on stderr, exit 2 for usage, 1 for failures. */
@Command(name = "metagen",
        mixinStandardHelpOptions = true,
        scope = CommandLine.ScopeType.INHERIT, // every subcommand gets --help and --version too
        versionProvider = MetagenCommand.Version.class,
        description = "Inference-time algorithms for large language models, on a pure-Java GGUF engine.",
        subcommands = {
                GenerateCommand.class,
                ChatCommand.class,
                TokenizeCommand.class,
                InspectCommand.class,
                SynthCommand.class,
                QuantizeCommand.class,
                ConvertCommand.class,
                BenchCommand.class,
                EvalCommand.class,
                ServeCommand.class,
                CommandLine.HelpCommand.class
        })
final class MetagenCommand implements Runnable {
    static final int EXIT_FAILURE = 1;
    static final int EXIT_USAGE = 2;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing command (try: metagen --help)");
    }

    static int run(String[] args) {
        CommandLine cl = newCommandLine();
        // stdout and stderr are UTF-8 whatever the locale says: token text is arbitrary Unicode
        cl.setOut(new PrintWriter(new OutputStreamWriter(new FileOutputStream(FileDescriptor.out), StandardCharsets.UTF_8), true));
        cl.setErr(new PrintWriter(new OutputStreamWriter(new FileOutputStream(FileDescriptor.err), StandardCharsets.UTF_8), true));
        return cl.execute(args);
    }

    static CommandLine newCommandLine() {
        CommandLine cl = new CommandLine(new MetagenCommand());
        // an argument that starts with '@' is text ("--text @greeting"); --strategy reads @FILE itself
        cl.setExpandAtFiles(false);
        cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            PrintWriter err = commandLine.getErr();
            if (ex instanceof MetagenException) {
                err.println("metagen: error: " + MetagenException.describe(ex));
            } else {
                err.println("metagen: internal error: " + ex);
                if (System.getenv("METAGEN_DEBUG") != null) {
                    ex.printStackTrace(err);
                }
            }
            err.flush();
            return EXIT_FAILURE;
        });
        cl.setParameterExceptionHandler((ex, args) -> {
            PrintWriter err = ex.getCommandLine().getErr();
            err.println("metagen: " + MetagenException.describe(ex));
            err.println("Try '" + ex.getCommandLine().getCommandSpec().qualifiedName() + " --help' for more information.");
            err.flush();
            return EXIT_USAGE;
        });
        return cl;
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = MetagenCommand.class.getPackage().getImplementationVersion();
            return new String[] {"metagen " + (v != null ? v : "0.1.0-SNAPSHOT") + " (Java " + Runtime.version() + ")"};
        }
    }
}
