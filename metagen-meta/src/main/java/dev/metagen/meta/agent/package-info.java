/** Agents as strategies: a model that calls tools in a loop until it answers (ReAct-style tool use; Yao et al., 2023). */
package dev.metagen.meta.agent;
