package dev.metagen.meta.tools;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.List;
import java.util.Objects;

/**
 * A function the model may call, as the OpenAI chat API declares it: a name, a description and the JSON Schema of
 * its arguments (an object schema).
 *
 * @param name        the function name ({@code [A-Za-z0-9_-]{1,64}}, as OpenAI requires)
 * @param description what it does, for the model (may be empty)
 * @param parameters  the JSON Schema of its arguments
 */
public record ToolDefinition(String name, String description, JsonNode parameters) {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The names the OpenAI API accepts. */
    public static final java.util.regex.Pattern NAME = java.util.regex.Pattern.compile("[A-Za-z0-9_-]{1,64}");

    /** Checks the name and copies the parameters' schema. */
    public ToolDefinition {
        Objects.requireNonNull(name, "tool name");
        description = description == null ? "" : description;
        parameters = parameters == null ? JSON.createObjectNode().put("type", "object") : parameters;
    }

    /**
     * The OpenAI declaration {@code {"type": "function", "function": {"name", "description", "parameters"}}}.
     *
     * @return the to open ai
     */
    public ObjectNode toOpenAi() {
        ObjectNode o = JSON.createObjectNode();
        o.put("type", "function");
        ObjectNode fn = o.putObject("function");
        fn.put("name", name);
        if (!description.isEmpty()) {
            fn.put("description", description);
        }
        fn.set("parameters", parameters);
        return o;
    }

    /**
     * The tools as the JSON array chat templates read as {@code tools}.
     *
     * @param tools the tools
     * @return the to json
     */
    public static String toJson(List<ToolDefinition> tools) {
        ArrayNode a = JSON.createArrayNode();
        tools.forEach(t -> a.add(t.toOpenAi()));
        return a.toString();
    }

    /**
     * The JSON Schema of one call to this tool as the constrained call is written, {@code {"name": NAME,
     * "arguments": {...}}}, so a constrained generation always parses and its arguments validate.
     *
     * @return the call schema
     */
    public ObjectNode callSchema() {
        ObjectNode s = JSON.createObjectNode();
        s.put("type", "object");
        ObjectNode props = s.putObject("properties");
        props.putObject("name").put("const", name);
        props.set("arguments", parameters);
        s.putArray("required").add("name").add("arguments");
        s.put("additionalProperties", false);
        return s;
    }

    /**
     * One call to any of {@code tools}: the {@code anyOf} of their call schemas.
     *
     * @param tools the tools
     * @return the any call schema
     */
    public static ObjectNode anyCallSchema(List<ToolDefinition> tools) {
        if (tools.size() == 1) {
            return tools.getFirst().callSchema();
        }
        ObjectNode s = JSON.createObjectNode();
        ArrayNode any = s.putArray("anyOf");
        tools.forEach(t -> any.add(t.callSchema()));
        return s;
    }
}
