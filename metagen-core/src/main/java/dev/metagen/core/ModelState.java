package dev.metagen.core;

/**
 * One sequence's state inside a {@link LanguageModel} (its KV cache). States are advanced by
 * {@link LanguageModel#forward}; they can be forked (sharing the prefix) and rolled back.
 *
 * <p>Example:
 * <pre>{@code
 * int[] prompt = model.tokenizer().encode("Once upon a time", true);
 * try (ModelState state = model.newState()) {
 *     int next = model.forward(state, prompt).argmax();
 *     try (ModelState branch = state.fork()) {   // shares the prompt's cache
 *         model.forward(branch, next);            // the branch goes on; the state does not
 *     }
 *     state.truncate(1);                          // back to the first token
 * }
 * }</pre>
 */
public interface ModelState extends AutoCloseable {

    /**
     * Number of tokens this state has consumed.
     *
     * @return the length
     */
    int length();

    /**
     * The tokens consumed so far.
     *
     * @return the token ids, oldest first
     */
    int[] tokens();

    /**
     * An independent state with the same prefix; later forwards of either do not affect the other.
     *
     * @return the fork
     */
    ModelState fork();

    /**
     * Rolls back to the first {@code length} tokens.
     *
     * @param length the number of tokens kept
     */
    void truncate(int length);

    /**
     * Memory admission: waits until the model can promise room for this state to take {@code tokens} more tokens
     * and for {@code forks} forks of it, made after those tokens are in, to take {@code forkTokens} more each; the
     * forks draw on this reservation unless they reserve their own. Reservations are granted strictly in arrival
     * order (a large one is never overtaken by a stream of small ones), so a caller should reserve the worst case
     * of a whole generation before its first forward and hold no other memory while it waits: a holder then never
     * waits again and always finishes, which makes waiting free of deadlock. Closing this state also closes the
     * reservations it made. Models that do not limit memory return {@link MemoryReservation#NONE} at once.
     *
     * @throws MetagenException     if the request can never fit the model's whole memory budget (at once)
     * @throws InterruptedException if the caller is interrupted while waiting; it leaves the queue holding nothing
     * @param tokens tokens this state will take
     * @param forks forks that will be made after those tokens
     * @param forkTokens tokens each fork will take
     * @return the reservation, to close when done
     */
    default MemoryReservation reserve(int tokens, int forks, int forkTokens) throws InterruptedException {
        return MemoryReservation.NONE;
    }

    /**
     * {@link #reserve(int, int, int)} for this state alone.
     *
     * @param tokens tokens this state will take
     * @return the reservation, to close when done
     * @throws InterruptedException if the wait is interrupted
     */
    default MemoryReservation reserve(int tokens) throws InterruptedException {
        return reserve(tokens, 0, 0);
    }

    /**
     * {@link #reserve(int)} without waiting: {@code null} when the reservation does not fit now or others are
     * waiting ahead of it (a caller that already holds memory adds work this way, never by waiting).
     *
     * @throws MetagenException if the request can never fit the model's whole memory budget
     * @param tokens tokens this state will take
     * @return the reservation, or null when it does not fit now
     */
    default MemoryReservation tryReserve(int tokens) {
        return MemoryReservation.NONE;
    }

    /** Releases the state's cache. */
    @Override
    void close();
}
