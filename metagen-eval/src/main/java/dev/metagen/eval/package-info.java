/**
 * Evaluation harness: runs meta-generation strategies at a range of budgets over a dataset and measures quality
 * against the tokens spent (the survey's compute-quality trade-off; Welleck et al., 2024, section 7).
 * {@code task} reads datasets and grades answers, {@code sweep} runs strategies x budgets x problems reusing samples,
 * {@code store} keeps the append-only, resumable results, {@code report} writes the summary, plots and HTML report.
 */
package dev.metagen.eval;
