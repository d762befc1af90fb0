/** Sweeps: every strategy at every budget on every problem, with samples computed once and reused across budgets. */
package dev.metagen.eval.sweep;
