package dev.metagen.eval.store;

import dev.metagen.core.MetagenException;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The exclusive lock of an eval output directory ({@code OUT/.lock}), held while a run appends to its results and
 * writes its report, so that a second run on the same {@code --out} (another process, or another run in this JVM)
 * fails at once instead of interleaving lines. The lock file stays; the operating system releases the lock when the
 * channel closes or the process dies.
 */
public final class OutputLock implements AutoCloseable {
    static final String FILE = ".lock";

    private final FileChannel channel;
    private final FileLock lock;

    private OutputLock(FileChannel channel, FileLock lock) {
        this.channel = channel;
        this.lock = lock;
    }

    /** Locks {@code dir} (which must exist) or throws a one-line error naming it. */
    public static OutputLock acquire(Path dir) {
        Path f = dir.resolve(FILE);
        FileChannel ch;
        try {
            ch = FileChannel.open(f, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw new MetagenException("cannot lock --out " + dir + ": cannot open " + f + ": " + MetagenException.describe(e));
        }
        FileLock lock;
        try {
            lock = ch.tryLock();
        } catch (OverlappingFileLockException e) {
            lock = null; // held by another run in this JVM
        } catch (IOException e) {
            closeQuietly(ch);
            throw new MetagenException("cannot lock --out " + dir + ": " + MetagenException.describe(e));
        }
        if (lock == null) {
            closeQuietly(ch);
            throw new MetagenException("--out " + dir + " is in use by another eval run (it holds " + f
                    + "); wait for it to finish or choose another --out");
        }
        return new OutputLock(ch, lock);
    }

    private static void closeQuietly(FileChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // closing releases nothing we hold
        }
    }

    @Override
    public void close() {
        try {
            lock.release();
        } catch (IOException ignored) {
            // closing the channel below releases it too
        }
        closeQuietly(channel);
    }
}
