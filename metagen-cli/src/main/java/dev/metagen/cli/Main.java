package dev.metagen.cli;

/** Entry point of the {@code metagen} command. */
public final class Main {
    private Main() {}

    public static void main(String[] args) {
        System.exit(MetagenCommand.run(args));
    }
}
