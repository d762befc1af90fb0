/** Tasks: dataset readers in their own formats, answer extraction and grading (GSM8K, MATH-500, HumanEval, JSON Schema, lexical, custom). */
package dev.metagen.eval.task;
