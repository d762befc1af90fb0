/** Strategies and evaluation sweeps on Apache Spark: executors build their generators once and run problems. */
package dev.metagen.spark;
