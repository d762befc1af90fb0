/** Reports of a sweep: summary.json (accuracy with Wilson intervals, costs, pass@k, reuse), PNG and SVG plots, report.html. */
package dev.metagen.eval.report;
