/** Cascades: try cheap generators first and escalate to costly ones only when needed. */
package dev.metagen.meta.cascade;
