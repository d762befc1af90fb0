package dev.metagen.cli;

/** Placeholder replaced by the picocli command tree. */
final class MetagenCommand {
    static int run(String[] args) {
        return 0;
    }
}
