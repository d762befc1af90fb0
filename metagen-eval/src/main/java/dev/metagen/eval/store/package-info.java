/** The append-only, fsync'd results file of a sweep and its recovery on {@code --resume}. */
package dev.metagen.eval.store;
