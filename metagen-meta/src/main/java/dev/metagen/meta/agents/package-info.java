/** Agents: several generators that answer, read each other and revise (multi-agent debate). */
package dev.metagen.meta.agents;
