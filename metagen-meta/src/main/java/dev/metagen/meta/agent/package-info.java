/**
 * Agents as strategies: a model that calls tools in a loop until it answers (ReAct-style tool use; Yao et al., 2023),
 * and several agents that answer, read each other and revise (multi-agent debate; Du et al., 2023).
 */
package dev.metagen.meta.agent;
